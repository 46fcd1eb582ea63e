"""The supervisor's wall-board: what is happening now, per queue, and who is doing what.

Everything here is read from the operational tables (waiting work, agent statuses, open
cases, running SLA clocks) and from today's quarter-hour summaries; each figure is one
indexed query, so the board can refresh itself every few seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Count, Min, Q, Sum

from casework.analytics.kpis import DEFAULT_TARGET_SECONDS, zone
from casework.analytics.models import QueueQuarterHour, ServiceLevelTarget
from casework.cases.models import OPEN_STATUSES, Case, CaseSla
from casework.kernel import clock
from casework.routing.models import (
    AgentStatus,
    Offer,
    OfferStatus,
    PresenceState,
    Queue,
    WorkItem,
    WorkItemStatus,
)

SLA_HORIZON = timedelta(hours=1)


@dataclass
class QueueNow:
    code: str
    name: str
    team: str
    waiting: int = 0
    longest_wait_seconds: float | None = None
    # Offered to an agent right now (a call ringing, a chat waiting for the accept).
    offered: int = 0
    open_cases: int = 0
    oldest_open_case_at: datetime | None = None
    answered_today: int = 0
    abandoned_today: int = 0
    in_target_today: int = 0
    target_seconds: int = DEFAULT_TARGET_SECONDS
    target_share: float = 0.8
    sla_due_soon: int = 0
    sla_breached_open: int = 0

    @property
    def service_level_today(self) -> float | None:
        offered = self.answered_today + self.abandoned_today
        return self.in_target_today / offered if offered else None

    @property
    def below_target(self) -> bool:
        level = self.service_level_today
        return level is not None and level < self.target_share


@dataclass(frozen=True)
class OfferInFlight:
    channel: str
    queue: str
    agent: str
    offered_for_seconds: float
    expires_in_seconds: float
    is_affinity: bool


@dataclass
class Wallboard:
    at: datetime
    queues: list[QueueNow]
    agents_by_state: list[tuple[str, str, int]]  # code, name, agents
    agents_logged_in: int
    upcoming_breaches: list[CaseSla] = field(default_factory=list)
    offers: list[OfferInFlight] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(queue.waiting for queue in self.queues)

    @property
    def longest_wait_seconds(self) -> float | None:
        waits = [q.longest_wait_seconds for q in self.queues if q.longest_wait_seconds is not None]
        return max(waits) if waits else None

    @property
    def service_level_today(self) -> float | None:
        answered = sum(q.answered_today + q.abandoned_today for q in self.queues)
        return sum(q.in_target_today for q in self.queues) / answered if answered else None


def wallboard(
    queue_codes: Iterable[str] | None = None, *, now: datetime | None = None
) -> Wallboard:
    """The board for the given queues (all when None)."""
    now = now or clock.now()
    queues_qs = Queue.objects.select_related("team").order_by("team__tier", "code")
    if queue_codes is not None:
        queues_qs = queues_qs.filter(code__in=list(queue_codes))
    queues = {
        q.code: QueueNow(code=q.code, name=str(q.name), team=str(q.team.name)) for q in queues_qs
    }
    ids = {q.pk: q.code for q in queues_qs}
    for row in (
        WorkItem.objects.filter(status=WorkItemStatus.QUEUED, queue_id__in=ids)
        .values("queue_id")
        .annotate(waiting=Count("id"), since=Min("queued_at"))
    ):
        queue = queues[ids[row["queue_id"]]]
        queue.waiting = row["waiting"]
        queue.longest_wait_seconds = (now - row["since"]).total_seconds()
    offers = _offers_in_flight(queues, ids, now)
    for row in (
        Case.objects.filter(status__in=OPEN_STATUSES, queue_id__in=ids)
        .values("queue_id")
        .annotate(open_cases=Count("*"), oldest=Min("created_at"))
    ):
        queue = queues[ids[row["queue_id"]]]
        queue.open_cases, queue.oldest_open_case_at = row["open_cases"], row["oldest"]
    _service_level_today(queues, now)
    upcoming = _due_soon(queues, ids, now)
    by_state = defaultdict(int)
    for code, agents in AgentStatus.objects.values_list("presence_id").annotate(n=Count("pk")):
        by_state[code] = agents
    states = list(PresenceState.objects.order_by("order", "code"))
    agents_by_state = [(s.code, str(s.name), by_state.get(s.code, 0)) for s in states]
    logged_in = sum(by_state.get(s.code, 0) for s in states if s.is_logged_in)
    return Wallboard(
        at=now,
        queues=list(queues.values()),
        agents_by_state=agents_by_state,
        agents_logged_in=logged_in,
        upcoming_breaches=upcoming,
        offers=offers,
    )


# The board lists this many offers (oldest first); the queues count them all.
_OFFERS_LISTED = 20


def _offers_in_flight(
    queues: dict[str, QueueNow], ids: dict[int, str], now: datetime
) -> list[OfferInFlight]:
    pending = (
        Offer.objects.filter(status=OfferStatus.PENDING, item__queue_id__in=ids)
        .select_related("item", "agent__user")
        .order_by("offered_at")
    )
    listed = []
    for offer in pending:
        queue = queues[ids[offer.item.queue_id]]
        queue.offered += 1
        if len(listed) < _OFFERS_LISTED:
            listed.append(
                OfferInFlight(
                    channel=offer.item.channel,
                    queue=queue.name,
                    agent=offer.agent.display_name,
                    offered_for_seconds=(now - offer.offered_at).total_seconds(),
                    expires_in_seconds=max(0.0, (offer.expires_at - now).total_seconds()),
                    is_affinity=offer.is_affinity,
                )
            )
    return listed


def _due_soon(queues: dict[str, QueueNow], ids: dict[int, str], now: datetime) -> list[CaseSla]:
    """Running SLA clocks due within the hour: read by their deadline index (a few hundred
    rows at most), then their cases by key; joining cases first would read them all."""
    due = list(
        CaseSla.objects.filter(
            met_at__isnull=True,
            breached_at__isnull=True,
            paused_at__isnull=True,
            due_at__lte=now + SLA_HORIZON,
        ).order_by("due_at")
    )
    cases = Case.objects.in_bulk([sla.case_id for sla in due])
    upcoming = []
    for sla in due:
        case = cases.get(sla.case_id)
        if case is None or case.queue_id not in ids:
            continue
        queues[ids[case.queue_id]].sla_due_soon += 1
        sla.case = case
        upcoming.append(sla)
    queue_objects = Queue.objects.in_bulk({sla.case.queue_id for sla in upcoming[:10]})
    for sla in upcoming[:10]:
        sla.case.queue = queue_objects[sla.case.queue_id]
    return upcoming[:10]


def _service_level_today(queues: dict[str, QueueNow], now: datetime) -> None:
    targets = {
        code: (seconds, float(share))
        for code, seconds, share in ServiceLevelTarget.objects.values_list(
            "queue__code", "answer_within_seconds", "target_share"
        )
    }
    midnight = datetime.combine(clock.localtime(now).date(), time(), zone())
    columns = {f"answered_within_{s}" for s, _ in targets.values()}
    columns.add(f"answered_within_{DEFAULT_TARGET_SECONDS}")
    sums = {c: Sum(c) for c in columns}
    for row in (
        QueueQuarterHour.objects.filter(bucket_start__gte=midnight, queue__in=list(queues))
        .filter(Q(answered__gt=0) | Q(abandoned__gt=0))
        .values("queue")
        .annotate(answered_sum=Sum("answered"), abandoned_sum=Sum("abandoned"), **sums)
    ):
        queue = queues[row["queue"]]
        seconds, share = targets.get(queue.code, (DEFAULT_TARGET_SECONDS, 0.8))
        queue.target_seconds, queue.target_share = seconds, share
        queue.answered_today = row["answered_sum"] or 0
        queue.abandoned_today = row["abandoned_sum"] or 0
        queue.in_target_today = row[f"answered_within_{seconds}"] or 0
    for code, (seconds, share) in targets.items():
        if code in queues and not queues[code].answered_today:
            queues[code].target_seconds, queues[code].target_share = seconds, share

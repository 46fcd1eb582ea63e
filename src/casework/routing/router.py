"""The router: one engine for every channel.

Push (calls, chats, callbacks): `submit_work_item()` queues an item and offers it to the
best agent at once if one qualifies; the agent accepts or declines, or the offer expires
(a job keyed by the offer) and the item goes to the next agent. When an agent frees up
(`complete_work_item()`, after-call work ends, presence becomes available), the router
offers them the most urgent waiting item they qualify for (`offer_waiting_work()`). Items
nobody qualifies for yet are looked at again when their needs relax (a keyed job).

Pull (e-mails, tasks, exceptions): `pick_next_task()` chooses the most urgent open task the
agent may do; `cases.services.get_next_task` assigns it.

Safety with several processes: every change runs in `recording_transaction()` (on
PostgreSQL it locks the event chain head first, so routers queue in one order; SQLite has
one writer at a time). Inside, the item row and the agent's status row are locked before
they change; the database itself refuses a second pending offer of an item (partial unique
index) and occupancy beyond capacity (check constraint). Offers expire by their job
whatever happened to the process that made them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from django.db import IntegrityError, connection
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from casework.cases.models import OPEN_STATUSES, Case, CaseSla, Task, TaskStatus
from casework.events.services import record, recording_transaction
from casework.kernel import clock, jobs, realtime, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import PermissionDenied
from casework.routing import matching
from casework.routing.config import (
    AFTER_CALL_WORK,
    AVAILABLE,
    BUSY,
    NOT_RESPONDING,
    get_channel,
    get_presence_state,
)
from casework.routing.errors import (
    AtCapacity,
    NoPendingOffer,
    NoRoute,
    OfferExpired,
    UnknownWorkItem,
    WorkItemNotActive,
)
from casework.routing.models import (
    AgentSkill,
    AgentStatus,
    ChannelCapacity,
    Offer,
    OfferStatus,
    Queue,
    RoutingRule,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.presence import change_presence, lock_agent_status
from casework.routing.table import routing_table

SYSTEM = Actor.system("routing")

# How many waiting items a freed agent looks at, by urgency and by age (see offer_waiting_work).
_CANDIDATE_WINDOW = 40


class NotLookedUp(enum.Enum):
    """A fact the submitter did not look up (a sentinel with a type of its own)."""

    NOT_LOOKED_UP = "not looked up"


NOT_LOOKED_UP = NotLookedUp.NOT_LOOKED_UP


@dataclass(frozen=True)
class NewWorkItem:
    """A piece of real-time work as a channel hands it to the router. `external_id` (the
    CTI call id, the chat session) makes submitting twice harmless. `required_skills` are
    the item's own skills ({skill code: minimum level}); `desired_skills` are preferred at
    those levels and relax while the item waits (e.g. the topic an IVR menu chose);
    `queue` skips the routing table; `preferred_agent_id` replaces the customer's last
    agent as the one who gets it first (a call transferred to a colleague); `affinity=False`
    gives it to nobody first (a call transferred away from the customer's last agent).

    Two facts a channel may already have, so that the router need not look them up (with
    the router in a process of its own, every look-up it makes waits in its one line):
    `first_submission` — nothing was ever submitted under `external_id` (the channel has
    just stored the row the id names; the default asks the tables); `open_case_owner` —
    the owner of the customer's most recently active open case, `None` for none (the
    default, `NOT_LOOKED_UP`, asks the tables when affinity needs it)."""

    channel: str
    external_id: str = ""
    customer_id: int | None = None
    case_id: int | None = None
    language: str = ""
    customer_segment: str | None = None
    priority: int | None = None
    queue: str | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)
    desired_skills: Mapping[str, int] = field(default_factory=dict)
    preferred_agent_id: int | None = None
    affinity: bool = True
    first_submission: bool = False
    open_case_owner: int | None | NotLookedUp = NOT_LOOKED_UP

    def to_json(self) -> dict[str, Any]:
        """The item as a channel keeps it until the router has answered (docs/adr/0013)."""
        fields = {name: getattr(self, name) for name in _NEW_ITEM_FIELDS}
        if self.open_case_owner is not NOT_LOOKED_UP:
            fields["open_case_owner"] = self.open_case_owner
        return fields

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NewWorkItem:
        fields = {name: data[name] for name in _NEW_ITEM_FIELDS if name in data}
        if "open_case_owner" in data:
            fields["open_case_owner"] = data["open_case_owner"]
        return cls(**fields)


_NEW_ITEM_FIELDS = tuple(
    name for name in NewWorkItem.__dataclass_fields__ if name != "open_case_owner"
)


# --- Submitting and routing a work item ---


def submit_work_item(new: NewWorkItem, *, actor: Actor) -> WorkItem:
    """Queue a work item and offer it to the best agent who qualifies now, if any. An
    `external_id` submitted before gives the item it made, also when the two submissions
    run at once (the loser's insert fails on the unique key; it then finds the winner's)."""
    try:
        return _submit_work_item(new, actor=actor)
    except IntegrityError:
        existing = stored_item(new.channel, new.external_id) if new.external_id else None
        if existing is None:
            raise
        return existing


@recording_transaction()
def _submit_work_item(new: NewWorkItem, *, actor: Actor) -> WorkItem:
    if new.external_id and not new.first_submission:
        existing = stored_item(new.channel, new.external_id)
        if existing is not None:
            return existing
    now = clock.now()
    planned = plan_work_item(new, now=now)
    item = sql.create(WorkItem, **planned.new_item_fields(new, now))
    record(
        "work_item.queued",
        actor=actor,
        object_type="work_item",
        object_id=item.pk,
        payload=planned.queued_payload(item.pk),
    )
    _route_item(item, planned.channel, now=now)
    return item


@dataclass(frozen=True)
class PlannedItem:
    """Where a new work item goes and what it asks of an agent, before it is stored."""

    channel: ChannelCapacity
    queue: Queue
    rule_id: int | None
    case_id: int | None
    customer_id: int | None
    priority: int
    plan: matching.RoutingPlan
    required_key: str

    def new_item_fields(self, new: NewWorkItem, now: datetime) -> dict[str, Any]:
        """The new, queued item's fields, by `WorkItem` attribute name."""
        return {
            "channel": new.channel,
            "external_id": new.external_id,
            "customer_id": self.customer_id,
            "case_id": self.case_id,
            "queue_id": self.queue.pk,
            "rule_id": self.rule_id,
            "language": new.language,
            "priority": self.priority,
            "units": self.channel.units,
            "requirements": self.plan.to_json(),
            "required_key": self.required_key,
            "preferred_agent_id": self.plan.preferred_agent_id,
            "status": WorkItemStatus.QUEUED.value,
            "queued_at": now,
        }

    def queued_payload(self, item_id: int) -> dict[str, object]:
        """The payload of the item's `work_item.queued` event."""
        return {
            "channel": self.channel.channel,
            "queue": self.queue.code,
            "rule_id": self.rule_id,
            "customer_id": self.customer_id,
            "case_id": self.case_id,
            "preferred_agent_id": self.plan.preferred_agent_id,
        }


def plan_work_item(
    new: NewWorkItem,
    *,
    now: datetime,
    affinity: AffinityFacts | None = None,
) -> PlannedItem:
    """The routing table's answer for a new item: its queue, priority and plan (skills,
    affinity, timings)."""
    channel = get_channel(new.channel)
    case = _find_case(new.case_id)
    rule = _match_rule(new, case, now)
    queue = _target_queue(new, rule)
    plan = _plan(new, rule, queue, case, channel, affinity or AFFINITY_IN_DB)
    return PlannedItem(
        channel=channel,
        queue=queue,
        rule_id=rule.pk if rule else None,
        case_id=case.pk if case else None,
        customer_id=new.customer_id if new.customer_id is not None else _customer_of(case),
        priority=new.priority or (rule.priority if rule and rule.priority else None) or 2,
        plan=plan,
        required_key=matching.requirement_key(matching.hard_requirements(plan, 0)),
    )


def stored_item(channel: str, external_id: str) -> WorkItem | None:
    """The work item a channel submitted before under this id, if any."""
    found = sql.select(WorkItem, _ITEM_BY_EXTERNAL_ID, [channel, external_id])
    return found[0] if found else None


# The literal condition lets SQLite use the partial unique index (it cannot prove that a
# parameter is never empty); without it, every submit scanned the channel's items.
_ITEM_BY_EXTERNAL_ID = (
    "SELECT {columns} FROM routing_workitem t WHERE t.channel = %s AND t.external_id = %s"
    " AND NOT (t.external_id = '')"
)


def _find_case(case_id: int | None) -> Case | None:
    if case_id is None:
        return None
    return (
        Case.objects.filter(pk=case_id)
        .only("id", "customer_id", "owner_id", "status", "case_type_id", "service_type", "queue_id")
        .first()
    )


def _customer_of(case: Case | None) -> int | None:
    return case.customer_id if case else None


def _match_rule(new: NewWorkItem, case: Case | None, now: datetime) -> RoutingRule | None:
    """The first active rule of the routing table whose conditions all hold."""
    segment = new.customer_segment
    local_time: time | None = None  # worked out for the first rule with hours
    for rule in routing_table().rules:
        if rule.channel and rule.channel != new.channel:
            continue
        if rule.language and rule.language != new.language:
            continue
        if rule.case_type_id and (case is None or case.case_type_id != rule.case_type_id):
            continue
        if rule.service_type and (case is None or case.service_type != rule.service_type):
            continue
        if rule.customer_segment:
            if segment is None:
                segment = _segment_of(new.customer_id or _customer_of(case))
            if segment != rule.customer_segment:
                continue
        if rule.active_from is not None or rule.active_until is not None:
            if local_time is None:
                local_time = clock.localtime(now).time()
            if not _in_window(local_time, rule.active_from, rule.active_until):
                continue
        return rule
    return None


def _segment_of(customer_id: int | None) -> str:
    if customer_id is None:
        return ""
    from casework.customers.models import Customer  # routing reads customers, never writes

    return Customer.objects.filter(pk=customer_id).values_list("segment", flat=True).first() or ""


def _in_window(at: time, start: time | None, end: time | None) -> bool:
    if start is None and end is None:
        return True
    start, end = start or time.min, end or time.max
    if start <= end:
        return start <= at < end
    return at >= start or at < end  # the window runs past midnight


def _target_queue(new: NewWorkItem, rule: RoutingRule | None) -> Queue:
    if new.queue:
        queue = routing_table().queues.get(new.queue)
        if queue is None:
            raise NoRoute(_("unknown queue “%(queue)s”") % {"queue": new.queue}, field="queue")
        return queue
    if rule is None:
        raise NoRoute(
            _("no routing rule matches this %(channel)s contact, and it names no queue")
            % {"channel": new.channel},
            field="queue",
        )
    return rule.queue


def _queue_requirements(queue_id: int | None) -> list[matching.Requirement]:
    if queue_id is None:
        return []
    return [(skill_id, 1) for skill_id in routing_table().queue_skills.get(queue_id, ())]


def _plan(
    new: NewWorkItem,
    rule: RoutingRule | None,
    queue: Queue,
    case: Case | None,
    channel: ChannelCapacity,
    affinity: AffinityFacts,
) -> matching.RoutingPlan:
    required = _queue_requirements(queue.pk)
    desired: list[matching.Requirement] = []
    if rule is not None:
        rule_required, rule_desired = routing_table().rule_skills[rule.pk]
        required += rule_required
        desired += rule_desired
    own = {**new.desired_skills, **new.required_skills}
    if own:
        skill_ids = routing_table().skill_ids
        missing = sorted(set(own) - set(skill_ids))
        if missing:
            raise NoRoute(
                _("unknown skills: %(skills)s") % {"skills": ", ".join(missing)},
                field="required_skills",
            )
        required += [(skill_ids[code], level) for code, level in new.required_skills.items()]
        desired += [(skill_ids[code], level) for code, level in new.desired_skills.items()]
    preferred = _preferred_agent(new, case, affinity)
    overflow = None
    if rule is not None and rule.overflow_queue_id and rule.overflow_after_seconds is not None:
        keep = [r for r in required if r not in _queue_requirements(queue.pk)]
        overflow = matching.merge([*_queue_requirements(rule.overflow_queue_id), *keep])
    return matching.RoutingPlan(
        required=matching.merge(required),
        desired=matching.merge(desired),
        overflow_required=overflow,
        preferred_agent_id=preferred,
        affinity_wait_seconds=_affinity_wait(rule, preferred, channel, affinity),
        relax_after_seconds=rule.relax_after_seconds if rule else 30,
        relax_levels=rule.relax_levels if rule else 3,
        overflow_after_seconds=rule.overflow_after_seconds if rule else None,
        service_level_seconds=(rule.service_level_seconds or 0) if rule else 0,
    )


def _affinity_wait(
    rule: RoutingRule | None,
    preferred: int | None,
    channel: ChannelCapacity,
    affinity: AffinityFacts,
) -> int:
    """How long the item waits for its preferred agent: the rule's wait, or none when the
    rule waits only for an agent who is free or wrapping up and this one is neither. An
    item without a rule (it names its queue) waits as a rule's defaults say."""
    if rule is None:
        return 30
    wait = rule.affinity_wait_seconds
    if preferred is None or wait == 0 or rule.affinity_waits_while_busy:
        return wait
    return wait if affinity.free_soon(preferred, channel.units) else 0


def _preferred_agent(new: NewWorkItem, case: Case | None, affinity: AffinityFacts) -> int | None:
    """Affinity: the agent the submitter names, else the owner of the contact's open case,
    else the agent who last served the customer, else the owner of the customer's most
    recently active open case."""
    if new.preferred_agent_id is not None:
        return new.preferred_agent_id
    if not new.affinity:
        return None
    if case is not None and case.owner_id and case.status in OPEN_STATUSES:
        return case.owner_id
    customer_id = new.customer_id if new.customer_id is not None else _customer_of(case)
    if customer_id is None:
        return None
    last = affinity.last_agent(customer_id)
    if last is not None:
        return last
    if new.open_case_owner is not NOT_LOOKED_UP:
        return new.open_case_owner
    return affinity.open_case_owner(customer_id)


class AffinityFacts(Protocol):
    """What affinity asks about a customer (the database's answers unless the caller
    knows better, as the router's engine)."""

    def last_agent(self, customer_id: int) -> int | None:
        """The agent who most recently accepted work of this customer."""

    def open_case_owner(self, customer_id: int) -> int | None:
        """The owner of the customer's most recently active open case."""

    def free_soon(self, agent_id: int, units: int) -> bool:
        """Whether the agent has room for `units` now or is in after-call work."""


class _AffinityInDb:
    def last_agent(self, customer_id: int) -> int | None:
        row = sql.fetch_one(_LAST_AGENT, [customer_id])
        return row[0] if row is not None else None

    def open_case_owner(self, customer_id: int) -> int | None:
        row = sql.fetch_one(OPEN_CASE_OWNER, [customer_id, *OPEN_STATUS_VALUES])
        return row[0] if row is not None else None

    def free_soon(self, agent_id: int, units: int) -> bool:
        row = sql.fetch_one(_AGENT_FREE_SOON, [agent_id])
        if row is None:
            return False
        presence, is_routable, used, capacity = row
        return presence == AFTER_CALL_WORK or (is_routable and used + units <= capacity)


AFFINITY_IN_DB = _AffinityInDb()


_LAST_AGENT = (
    "SELECT agent_id FROM routing_workitem WHERE customer_id = %s AND accepted_at IS NOT NULL"
    " ORDER BY accepted_at DESC LIMIT 1"
)
_AGENT_FREE_SOON = (
    "SELECT presence_code, is_routable, used_units, capacity_units FROM routing_agentstatus"
    " WHERE agent_id = %s"
)
OPEN_STATUS_VALUES = [status.value for status in OPEN_STATUSES]
# The owner of a customer's most recently active open case (parameters: the customer's id,
# then OPEN_STATUS_VALUES).
OPEN_CASE_OWNER = (
    "SELECT owner_id FROM cases_case WHERE customer_id = %s AND owner_id IS NOT NULL"
    f" AND status IN ({', '.join(['%s'] * len(OPEN_STATUSES))})"
    " ORDER BY last_activity_at DESC LIMIT 1"
)


def _route_item(item: WorkItem, channel: ChannelCapacity, *, now: datetime) -> Offer | None:
    """Offer a queued item (locked or just created) to the best qualified agent; if none
    qualifies now, schedule another look for when its needs relax."""
    plan = matching.RoutingPlan.from_json(item.requirements)
    waited = (now - item.queued_at).total_seconds()
    needs = matching.needs_at(plan, waited)
    status = _find_agent(item, needs)
    if status is not None:
        return _offer(item, status, channel, now=now, is_affinity=needs.only_agent_id is not None)
    _schedule_reroute(item, needs)
    return None


def _schedule_reroute(item: WorkItem, needs: matching.Needs) -> None:
    if needs.changes_after is None:
        return
    at = item.queued_at + timedelta(seconds=needs.changes_after)
    jobs.enqueue(
        "routing.reroute",
        {"item_id": item.pk},
        at=at,
        key=f"routing.reroute:{item.pk}:{int(needs.changes_after)}",
    )


_FIND_AGENT = (
    "SELECT {columns} FROM routing_agentstatus t WHERE t.is_routable = %s"
    " AND t.used_units + %s <= t.capacity_units"
)
_HAS_SKILL = (
    " AND t.agent_id IN (SELECT k.agent_id FROM routing_agentskill k"
    " WHERE k.skill_id = %s AND k.proficiency >= %s)"
)
_NOT_DECLINED = (
    " AND t.agent_id NOT IN (SELECT o.agent_id FROM routing_offer o"
    " WHERE o.item_id = %s AND o.status IN ('declined', 'expired'))"
)


def _find_agent(item: WorkItem, needs: matching.Needs) -> AgentStatus | None:
    """The qualified agent with room for the item: least occupied, then longest idle.
    Locked (on PostgreSQL skipping rows another router holds)."""
    query = _FIND_AGENT
    params: list[object] = [True, item.units]
    if needs.only_agent_id is not None:
        query += " AND t.agent_id = %s"
        params.append(needs.only_agent_id)
    for skill_id, level in needs.skills:
        query += _HAS_SKILL
        params += [skill_id, level]
    query += _NOT_DECLINED
    params.append(item.pk)
    query += " ORDER BY t.used_units, t.idle_since_at, t.agent_id LIMIT 1"
    if connection.features.has_select_for_update_skip_locked:
        query += " FOR UPDATE SKIP LOCKED"
    found = sql.select(AgentStatus, query, params)
    return found[0] if found else None


def _offer(
    item: WorkItem,
    status: AgentStatus,
    channel: ChannelCapacity,
    *,
    now: datetime,
    is_affinity: bool,
) -> Offer:
    expires_at = now + timedelta(seconds=channel.offer_timeout_seconds)
    item.status, item.agent_id, item.offer_expires_at = (
        WorkItemStatus.OFFERED,
        status.agent_id,
        expires_at,
    )
    sql.update(item, ["status", "agent", "offer_expires_at"])
    status.used_units += item.units
    sql.update(status, ["used_units"])
    offer = sql.create(
        Offer,
        item_id=item.pk,
        agent_id=status.agent_id,
        status=OfferStatus.PENDING,
        offered_at=now,
        expires_at=expires_at,
        is_affinity=is_affinity,
    )
    jobs.enqueue(
        "routing.offer_expired", {"offer_id": offer.pk}, at=expires_at, key=_offer_key(offer.pk)
    )
    # The agent's desk learns of it at once (the offer lasts seconds).
    realtime.publish(
        realtime.agent_group(status.agent_id),
        {"kind": "offer", "item": item.pk, "channel": item.channel},
    )
    record(
        "work_item.offered",
        actor=SYSTEM,
        object_type="work_item",
        object_id=item.pk,
        payload={
            "offer_id": offer.pk,
            "agent_id": status.agent_id,
            "expires_at": expires_at,
            "is_affinity": is_affinity,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
        },
    )
    return offer


def _offer_key(offer_id: int) -> str:
    return f"routing.offer:{offer_id}"


# --- An agent frees up ---


def offer_waiting_work(status: AgentStatus, *, actor: Actor = SYSTEM) -> Offer | None:
    """In the caller's transaction, with `status` locked: offer the agent the most urgent
    waiting item they qualify for and have room for (urgency: priority, aged by waiting)."""
    if not status.is_routable:
        return None
    free = status.capacity_units - status.used_units
    if free <= 0:
        return None
    queued_keys = [row[0] for row in sql.fetch_all(_QUEUED_KEYS, [WorkItemStatus.QUEUED.value])]
    if not queued_keys:
        return None  # nothing waits: the usual case when enough agents are at work
    skills = dict(sql.fetch_all(_AGENT_SKILLS, [status.agent_id]))
    keys = [key for key in queued_keys if _meets(skills, matching.parse_requirement_key(key))]
    if not keys:
        return None
    # The most urgent by priority and the oldest: aging may lift an old low-priority item
    # above newer urgent ones, so both ends are looked at; with service level targets also
    # the oldest that may still meet theirs.
    where = (
        "SELECT {columns} FROM routing_workitem t WHERE t.status = %s AND t.units <= %s"
        f" AND t.required_key IN ({', '.join(['%s'] * len(keys))})"
    )
    params = [WorkItemStatus.QUEUED.value, free, *keys]
    now = clock.now()
    found = [
        *sql.select(WorkItem, where + _BY_PRIORITY, [*params, _CANDIDATE_WINDOW]),
        *sql.select(WorkItem, where + _BY_AGE, [*params, _CANDIDATE_WINDOW]),
    ]
    longest_target = routing_table().longest_service_level_seconds
    if longest_target:
        queued_after = _QUEUED_AT.get_db_prep_value(
            now - timedelta(seconds=longest_target), connection
        )
        found += sql.select(
            WorkItem, where + _QUEUED_AFTER + _BY_AGE, [*params, queued_after, _CANDIDATE_WINDOW]
        )
    candidates = {item.pk: item for item in found}
    if not candidates:
        return None
    refused = {
        row[0]
        for row in sql.fetch_all(
            _REFUSED.format(items=", ".join(["%s"] * len(candidates))),
            [status.agent_id, *candidates],
        )
    }
    ranked = []
    for item in candidates.values():
        if item.pk in refused:
            continue
        plan = matching.RoutingPlan.from_json(item.requirements)
        waited = (now - item.queued_at).total_seconds()
        if not matching.qualifies(status.agent_id, skills, matching.needs_at(plan, waited)):
            continue
        in_target, urgency = matching.rank(item.priority, waited, plan)
        ranked.append((not in_target, -urgency, item.queued_at, item.pk))
    for *_rank, item_id in sorted(ranked):
        if connection.features.has_select_for_update:
            item = _lock_item(item_id, skip_locked=True)
            if item is None or item.status != WorkItemStatus.QUEUED:
                continue  # another router got there first
        else:  # SQLite: this transaction is the only writer, the candidate is current
            item = candidates[item_id]
        plan = matching.RoutingPlan.from_json(item.requirements)
        needs = matching.needs_at(plan, (now - item.queued_at).total_seconds())
        return _offer(
            item,
            status,
            get_channel(item.channel),
            now=now,
            is_affinity=needs.only_agent_id is not None,
        )
    return None


_QUEUED_KEYS = "SELECT DISTINCT required_key FROM routing_workitem WHERE status = %s"
_AGENT_SKILLS = "SELECT skill_id, proficiency FROM routing_agentskill WHERE agent_id = %s"
_BY_PRIORITY = " ORDER BY t.priority DESC, t.queued_at LIMIT %s"
_BY_AGE = " ORDER BY t.queued_at LIMIT %s"
_QUEUED_AFTER = " AND t.queued_at > %s"
_QUEUED_AT = WorkItem._meta.get_field("queued_at")
_REFUSED = (
    "SELECT item_id FROM routing_offer WHERE agent_id = %s AND item_id IN ({items})"
    " AND status IN ('declined', 'expired')"
)


def _meets(skills: Mapping[int, int], requirements: Sequence[matching.Requirement]) -> bool:
    return all(skills.get(skill, -1) >= level for skill, level in requirements)


def _lock_item(item_id: int, *, skip_locked: bool = False) -> WorkItem | None:
    found = sql.select_locked(WorkItem, _ITEM, [item_id], skip_locked=skip_locked)
    return found[0] if found else None


_ITEM = "SELECT {columns} FROM routing_workitem t WHERE t.id = %s"
_PENDING_OFFER = "SELECT {columns} FROM routing_offer t WHERE t.item_id = %s AND t.status = %s"


def _offer_pending(item: WorkItem) -> Offer | None:
    found = sql.select(Offer, _PENDING_OFFER, [item.pk, OfferStatus.PENDING.value])
    return found[0] if found else None


def _get_item(item_id: int) -> WorkItem:
    item = _lock_item(item_id)
    if item is None:
        raise UnknownWorkItem(
            _("work item %(item_id)s not found") % {"item_id": item_id}, item_id=item_id
        )
    return item


# --- Answering an offer ---


def accept_offer(item_id: int, *, actor: Actor) -> WorkItem:
    """The agent the item is offered to takes it. An offer past its time has expired even if
    its job has not run yet: it is expired here (and the item routed on), and
    `OfferExpired` is raised after that is committed."""
    agent_id = _acting_agent(actor)
    with recording_transaction():
        item = _get_item(item_id)
        offer = _pending_offer(item, agent_id)
        now = clock.now()
        if offer.expires_at <= now:
            # Too late, but the agent is at the desk: they stay available.
            _end_offer(item, offer, OfferStatus.EXPIRED, now=now, agent_is_present=True)
            expired = True
        else:
            expired = False
            offer.status, offer.answered_at = OfferStatus.ACCEPTED, now
            sql.update(offer, ["status", "answered_at"])
            item.status, item.accepted_at, item.offer_expires_at = (
                WorkItemStatus.ACCEPTED,
                now,
                None,
            )
            sql.update(item, ["status", "accepted_at", "offer_expires_at"])
            jobs.cancel(_offer_key(offer.pk))
            if get_channel(item.channel).sets_busy:
                status = lock_agent_status(agent_id)
                if status.is_routable:
                    change_presence(status, get_presence_state(BUSY), actor=SYSTEM, at=now)
            record(
                "work_item.accepted",
                actor=actor,
                object_type="work_item",
                object_id=item.pk,
                payload={
                    "offer_id": offer.pk,
                    "agent_id": agent_id,
                    "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
                },
            )
    if expired:
        raise OfferExpired(
            _("the offer of work item %(item_id)s expired at %(expired_at)s")
            % {
                "item_id": item_id,
                "expired_at": clock.localtime(offer.expires_at).strftime("%H:%M:%S"),
            },
            item_id=item_id,
        )
    return item


@recording_transaction()
def take_work_item(item_id: int, *, agent_id: int, actor: Actor) -> WorkItem:
    """Someone took the work without its offer (the telephone system connected the call to
    another line than the one it rang at, a colleague picked it up): it is theirs now. A
    pending offer to another agent is withdrawn; the taker's occupancy takes as much of the
    item's units as they have room for (they are working it either way)."""
    item = _get_item(item_id)
    if item.status not in (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED):
        raise WorkItemNotActive(
            _("work item %(item_id)s is %(status)s and can no longer be taken")
            % {"item_id": item_id, "status": WorkItemStatus(item.status).label},
            item_id=item_id,
            status=item.status,
        )
    now = clock.now()
    offer = _offer_pending(item)
    released = None
    if offer is not None:
        if offer.agent_id == agent_id:
            return accept_offer(item_id, actor=actor)
        offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now
        sql.update(offer, ["status", "answered_at"])
        jobs.cancel(_offer_key(offer.pk))
        released = lock_agent_status(offer.agent_id)
        _release(released, item, now=now)
    status = lock_agent_status(agent_id)
    item.units = min(item.units, max(0, status.capacity_units - status.used_units))
    status.used_units += item.units
    sql.update(status, ["used_units"])
    item.status, item.agent_id, item.offer_expires_at, item.accepted_at = (
        WorkItemStatus.ACCEPTED,
        agent_id,
        None,
        now,
    )
    sql.update(item, ["status", "agent", "offer_expires_at", "accepted_at", "units"])
    if get_channel(item.channel).sets_busy and status.is_routable:
        change_presence(status, get_presence_state(BUSY), actor=SYSTEM, at=now)
    record(
        "work_item.accepted",
        actor=actor,
        object_type="work_item",
        object_id=item.pk,
        payload={
            "offer_id": None,
            "agent_id": agent_id,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
            "taken_without_offer": True,
        },
    )
    if released is not None:
        offer_waiting_work(released)
    return item


@recording_transaction()
def decline_offer(item_id: int, *, actor: Actor) -> WorkItem:
    """The agent turns the offer down; the item goes to the next agent (never back to them)."""
    agent_id = _acting_agent(actor)
    item = _get_item(item_id)
    offer = _pending_offer(item, agent_id)
    now = clock.now()
    _end_offer(item, offer, OfferStatus.DECLINED, now=now, actor=actor)
    return item


@recording_transaction()
def expire_offer(offer_id: int) -> None:
    """The offer's job: if it is still pending, it expires and the item moves on; the agent
    who let it ring out is set to not responding (probably not at the desk any more)."""
    offer = Offer.objects.filter(pk=offer_id).first()
    if offer is None or offer.status != OfferStatus.PENDING:
        return
    item = _get_item(offer.item_id)
    offer.refresh_from_db()
    if offer.status != OfferStatus.PENDING:
        return
    _end_offer(item, offer, OfferStatus.EXPIRED, now=clock.now())


def _end_offer(
    item: WorkItem,
    offer: Offer,
    outcome: OfferStatus,
    *,
    now: datetime,
    actor: Actor = SYSTEM,
    agent_is_present: bool = False,
) -> None:
    offer.status, offer.answered_at = outcome, now
    sql.update(offer, ["status", "answered_at"])
    jobs.cancel(_offer_key(offer.pk))
    item.status, item.agent_id, item.offer_expires_at = WorkItemStatus.QUEUED, None, None
    sql.update(item, ["status", "agent", "offer_expires_at"])
    status = lock_agent_status(offer.agent_id)
    _release(status, item, now=now)
    if outcome == OfferStatus.EXPIRED and status.is_routable and not agent_is_present:
        change_presence(status, get_presence_state(NOT_RESPONDING), actor=SYSTEM, at=now)
    record(
        "work_item.declined" if outcome == OfferStatus.DECLINED else "work_item.offer_expired",
        actor=actor,
        object_type="work_item",
        object_id=item.pk,
        payload={"offer_id": offer.pk, "agent_id": offer.agent_id},
    )
    _route_item(item, get_channel(item.channel), now=now)
    if outcome == OfferStatus.DECLINED:
        offer_waiting_work(status)


def _release(status: AgentStatus, item: WorkItem, *, now: datetime) -> None:
    status.used_units = max(0, status.used_units - item.units)
    fields = ["used_units"]
    if status.used_units == 0:
        status.idle_since_at = now
        fields.append("idle_since_at")
    sql.update(status, fields)


def _pending_offer(item: WorkItem, agent_id: int) -> Offer:
    offer = _offer_pending(item)
    if offer is None or offer.agent_id != agent_id:
        raise NoPendingOffer(
            _("work item %(item_id)s is not offered to you") % {"item_id": item.pk},
            item_id=item.pk,
            status=item.status,
        )
    return offer


def _acting_agent(actor: Actor) -> int:
    if actor.kind != ActorKind.AGENT or actor.id is None:
        raise PermissionDenied(_("only an agent can answer an offer"))
    return actor.id


# --- Ending work ---


@recording_transaction()
def complete_work_item(item_id: int, *, actor: Actor) -> WorkItem:
    """The agent has finished the item (the call ended, the chat closed): the capacity is
    free again; a call starts the channel's after-call work, otherwise the agent is offered
    the next waiting item."""
    item = _get_item(item_id)
    if item.status != WorkItemStatus.ACCEPTED:
        raise WorkItemNotActive(
            _("work item %(item_id)s is %(status)s, not being worked")
            % {"item_id": item_id, "status": WorkItemStatus(item.status).label},
            item_id=item_id,
            status=item.status,
        )
    now = clock.now()
    item.status, item.ended_at = WorkItemStatus.COMPLETED, now
    sql.update(item, ["status", "ended_at"])
    assert item.agent_id is not None  # an accepted item has its agent
    status = lock_agent_status(item.agent_id)
    _release(status, item, now=now)
    channel = get_channel(item.channel)
    record(
        "work_item.completed",
        actor=actor,
        object_type="work_item",
        object_id=item.pk,
        payload={
            "agent_id": item.agent_id,
            "handled_seconds": round((now - (item.accepted_at or now)).total_seconds(), 3),
        },
    )
    if channel.sets_busy and status.presence_id == BUSY and status.used_units == 0:
        if channel.after_work_seconds:
            change_presence(status, get_presence_state(AFTER_CALL_WORK), actor=SYSTEM, at=now)
            jobs.enqueue(
                "routing.after_work_ended",
                {"agent_id": status.agent_id, "item_id": item.pk},
                at=now + timedelta(seconds=channel.after_work_seconds),
                key=f"routing.after_work:{item.pk}",
            )
            return item
        change_presence(status, get_presence_state(AVAILABLE), actor=SYSTEM, at=now)
    offer_waiting_work(status)
    return item


@recording_transaction()
def end_after_work(agent_id: int) -> None:
    """The after-call work timer's job: back to available, unless the agent chose another
    state meanwhile."""
    status = lock_agent_status(agent_id)
    if status.presence_id != AFTER_CALL_WORK:
        return
    change_presence(status, get_presence_state(AVAILABLE), actor=SYSTEM, at=clock.now())
    offer_waiting_work(status)


@recording_transaction()
def withdraw_work_item(item_id: int, *, actor: Actor, reason: str = "") -> WorkItem:
    """The customer hung up or left the chat before an agent took it: a pending offer is
    withdrawn and its capacity freed."""
    item = _get_item(item_id)
    if item.status not in (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED):
        raise WorkItemNotActive(
            _("work item %(item_id)s is %(status)s and can no longer be withdrawn")
            % {"item_id": item_id, "status": WorkItemStatus(item.status).label},
            item_id=item_id,
            status=item.status,
        )
    now = clock.now()
    offer = _offer_pending(item)
    status = None
    if offer is not None:
        offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now
        sql.update(offer, ["status", "answered_at"])
        jobs.cancel(_offer_key(offer.pk))
        status = lock_agent_status(offer.agent_id)
        _release(status, item, now=now)
    item.status, item.ended_at, item.offer_expires_at = WorkItemStatus.WITHDRAWN, now, None
    sql.update(item, ["status", "ended_at", "offer_expires_at"])
    record(
        "work_item.withdrawn",
        actor=actor,
        object_type="work_item",
        object_id=item.pk,
        payload={
            "reason": reason,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
        },
    )
    if status is not None:
        offer_waiting_work(status)
    return item


@recording_transaction()
def amend_work_item(
    item_id: int,
    *,
    customer_id: int | None = None,
    case_id: int | None = None,
    min_priority: int | None = None,
) -> WorkItem:
    """Facts a channel learnt after submitting: the customer (only for an item that had
    none: the caller was identified during the call), the case it moved to, a priority it
    must have at least while it waits (a callback whose window ended)."""
    item = _get_item(item_id)
    changed = []
    if customer_id is not None and item.customer_id is None:
        item.customer_id = customer_id
        changed.append("customer_id")
    if case_id is not None and item.case_id != case_id:
        item.case_id = case_id
        changed.append("case_id")
    waiting = item.status in (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED)
    if min_priority is not None and waiting and item.priority < min_priority:
        item.priority = min_priority
        changed.append("priority")
    if changed:
        sql.update(item, changed)
    return item


@recording_transaction()
def reroute(item_id: int) -> None:
    """The relaxation job: look again for an agent for an item still waiting."""
    item = _lock_item(item_id)
    if item is None or item.status != WorkItemStatus.QUEUED:
        return
    now = clock.now()
    plan = matching.RoutingPlan.from_json(item.requirements)
    required_key = matching.requirement_key(
        matching.hard_requirements(plan, (now - item.queued_at).total_seconds())
    )
    if required_key != item.required_key:  # overflowed to the next tier
        item.required_key = required_key
        sql.update(item, ["required_key"])
    _route_item(item, get_channel(item.channel), now=now)


# --- Pull: the next task for an agent ---


def pick_next_task(actor: Actor) -> Task | None:
    """The most urgent open, unassigned task the actor may do, locked (on PostgreSQL other
    routers skip it): in the agent's teams' queues whose required skills the agent has;
    highest priority first, then the nearest deadline (the case's running service level if
    it has one, else the task's due time), then the oldest. For an agent, `AtCapacity` if
    one more task would exceed their capacity (pushed work and tasks in progress count)."""
    candidates = Task.objects.filter(status=TaskStatus.OPEN, assignee__isnull=True)
    if not actor.is_admin:
        candidates = candidates.filter(queue__team_id__in=actor.team_ids)
    if actor.kind == ActorKind.AGENT and actor.id is not None:
        skill_ids = AgentSkill.objects.filter(agent_id=actor.id, proficiency__gt=0).values(
            "skill_id"
        )
        lacking = Queue.required_skills.through.objects.exclude(skill_id__in=skill_ids).values(
            "queue_id"
        )
        candidates = candidates.exclude(queue_id__in=lacking)
    sla_due = (
        CaseSla.objects.filter(case_id=OuterRef("case_id"), met_at__isnull=True)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    candidates = candidates.annotate(deadline=Coalesce(Subquery(sla_due), F("due_at")))
    candidates = candidates.order_by("-priority", F("deadline").asc(nulls_last=True), "created_at")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    task = candidates.select_related("case").first()
    if task is None or actor.kind != ActorKind.AGENT or actor.id is None:
        return task
    status = lock_agent_status(actor.id)
    units = get_channel("task").units
    in_progress = Task.objects.filter(assignee_id=actor.id, status=TaskStatus.IN_PROGRESS).count()
    used = status.used_units + in_progress * units
    if used + units > status.capacity_units:
        raise AtCapacity(
            _("you are working at capacity (%(used)s of %(capacity)s); finish something first")
            % {"used": used, "capacity": status.capacity_units},
            used=used,
            capacity=status.capacity_units,
        )
    return task

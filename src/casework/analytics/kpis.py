"""The KPIs: each a sum of measures over another, read from the summary tables.

Definitions in words are in docs/analytics.md; the numbers here and there must agree.
A report takes a period of local calendar days (Europe/Berlin), an interval, at most one
breakdown and any filters, and returns one row per interval and breakdown value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, F, Model, Sum, When
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from casework.analytics.models import (
    HANDLING_TIME_BOUNDS,
    AgentDay,
    AgentQuarterHour,
    QueueChannelDay,
    QueueDay,
    QueueQuarterHour,
    ServiceLevelTarget,
)
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput, PermissionDenied
from casework.routing.models import Queue

COUNT, PERCENT, SECONDS = "count", "percent", "seconds"
# The measure that counts answers within each queue's own service level target.
IN_TARGET = "answered_in_target"
DEFAULT_TARGET_SECONDS = 20


@dataclass(frozen=True)
class Kpi:
    key: str
    label: Promise
    unit: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    # False where the agent tables do not carry the measures (case attributes, SLAs).
    per_agent: bool = True

    @property
    def measures(self) -> tuple[str, ...]:
        return self.numerator + self.denominator

    def value(self, sums: Mapping[str, int]) -> float | None:
        top = sum(sums.get(m, 0) for m in self.numerator)
        if not self.denominator:
            return top
        bottom = sum(sums.get(m, 0) for m in self.denominator)
        return top / bottom if bottom else None


_KPIS = (
    Kpi("contacts_in", _("contacts from customers"), COUNT, ("contacts_in",)),
    Kpi("contacts_out", _("contacts to customers"), COUNT, ("contacts_out",)),
    Kpi("cases_opened", _("cases opened"), COUNT, ("cases_opened",), per_agent=False),
    Kpi("cases_resolved", _("cases resolved"), COUNT, ("cases_resolved",)),
    Kpi("fcr_rate", _("first-contact resolution"), PERCENT, ("cases_fcr",), ("cases_resolved",)),
    Kpi("reopen_rate", _("reopen rate"), PERCENT, ("cases_reopened",), ("cases_resolved",)),
    Kpi(
        "automation_rate",
        _("automation rate"),
        PERCENT,
        ("cases_automated",),
        ("cases_resolved",),
    ),
    Kpi(
        "repeat_contact_rate",
        _("repeat-contact rate"),
        PERCENT,
        ("cases_repeat",),
        ("cases_with_contact",),
        per_agent=False,
    ),
    Kpi(
        "channel_switches_per_case",
        _("channel switches per case"),
        COUNT,
        ("channel_switches",),
        ("cases_with_contact",),
        per_agent=False,
    ),
    Kpi(
        "transfers_per_contact",
        _("transfers per contact"),
        COUNT,
        ("transfers",),
        ("contacts_in",),
        per_agent=False,
    ),
    Kpi(
        "first_response_time",
        _("average first response time"),
        SECONDS,
        ("first_response_seconds",),
        ("first_responses",),
        per_agent=False,
    ),
    Kpi(
        "sla_first_response",
        _("first response SLA met"),
        PERCENT,
        ("sla_first_response_met",),
        ("sla_first_response_met", "sla_first_response_breached"),
        per_agent=False,
    ),
    Kpi(
        "sla_resolution",
        _("resolution SLA met"),
        PERCENT,
        ("sla_resolution_met",),
        ("sla_resolution_met", "sla_resolution_breached"),
        per_agent=False,
    ),
    Kpi("offered", _("calls and chats offered"), COUNT, ("offered",), per_agent=False),
    Kpi("answered", _("answered"), COUNT, ("answered",)),
    Kpi("abandoned", _("abandoned"), COUNT, ("abandoned",), per_agent=False),
    Kpi(
        "service_level",
        _("service level"),
        PERCENT,
        (IN_TARGET,),
        ("answered", "abandoned"),
        per_agent=False,
    ),
    Kpi(
        "abandonment_rate",
        _("abandonment rate"),
        PERCENT,
        ("abandoned",),
        ("answered", "abandoned"),
        per_agent=False,
    ),
    Kpi("asa", _("average speed of answer"), SECONDS, ("answer_wait_seconds",), ("answered",)),
    Kpi("aht", _("average handling time"), SECONDS, ("handle_seconds",), ("handled",)),
    Kpi(
        "retention_saved",
        _("customers saved"),
        COUNT,
        ("retention_saved",),
        per_agent=False,
    ),
    Kpi("retention_lost", _("customers lost"), COUNT, ("retention_lost",), per_agent=False),
    Kpi(
        "churn_rate",
        _("churn rate"),
        PERCENT,
        ("retention_lost",),
        ("retention_saved", "retention_lost"),
        per_agent=False,
    ),
)
KPIS: Mapping[str, Kpi] = {kpi.key: kpi for kpi in _KPIS}

INTERVALS = {
    "15min": _("15 minutes"),
    "hour": _("hour"),
    "day": _("day"),
    "week": _("week"),
    "month": _("month"),
    "total": _("whole period"),
}
DIMENSIONS = {
    "channel": _("channel"),
    "queue": _("queue"),
    "team": _("team"),
    "agent": _("agent"),
    "case_type": _("case type"),
    "service_type": _("service type"),
    "segment": _("customer segment"),
}
_AGENT_DIMENSIONS = ("agent", "channel", "queue", "team")
MAX_DAYS = {"15min": 31, "hour": 93}
MAX_DAYS_LONG_INTERVALS = 3660  # ten years by day, week, month or in total


@dataclass(frozen=True)
class KpiQuery:
    start: date
    end: date  # inclusive
    kpis: tuple[str, ...]
    interval: str = "day"
    group_by: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    # The queues whose figures may be read (a supervisor's teams); None for all.
    queues: tuple[str, ...] | None = None

    def validate(self) -> None:
        unknown = [key for key in self.kpis if key not in KPIS]
        if not self.kpis or unknown:
            raise InvalidInput(
                _("unknown KPIs: %(kpis)s") % {"kpis": ", ".join(unknown) or "—"}, field="kpi"
            )
        if self.interval not in INTERVALS:
            raise InvalidInput(
                _("unknown interval “%(v)s”") % {"v": self.interval}, field="interval"
            )
        for name in [self.group_by, *self.filters] if self.group_by else self.filters:
            if name not in DIMENSIONS:
                raise InvalidInput(_("unknown breakdown “%(v)s”") % {"v": name}, field="group_by")
        if self.end < self.start:
            raise InvalidInput(_("the period ends before it starts"), field="to")
        longest = MAX_DAYS.get(self.interval, MAX_DAYS_LONG_INTERVALS)
        if (self.end - self.start).days + 1 > longest:
            raise InvalidInput(
                _("at most %(days)s days by %(interval)s")
                % {"days": longest, "interval": INTERVALS[self.interval]},
                field="interval",
            )
        if self.per_agent:
            wrong = [key for key in self.kpis if not KPIS[key].per_agent] + [
                name for name in self.filters if name not in _AGENT_DIMENSIONS
            ]
            if wrong:
                raise InvalidInput(
                    _("not available per agent: %(names)s") % {"names": ", ".join(wrong)},
                    field="kpi",
                )

    @property
    def per_agent(self) -> bool:
        return self.group_by == "agent" or "agent" in self.filters


@dataclass
class KpiRow:
    period: date | datetime | None
    group: str
    sums: dict[str, int]
    values: dict[str, float | None]


def scope_for(actor: Actor) -> tuple[str, ...] | None:
    """The queues whose figures the actor may read: every queue for admins, their teams'
    queues for supervisors; agents read none."""
    if actor.is_admin:
        return None
    if not actor.is_supervisor:
        raise PermissionDenied(_("the figures are for supervisors"))
    return tuple(Queue.objects.filter(team_id__in=actor.team_ids).values_list("code", flat=True))


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def report(query: KpiQuery, *, extra_measures: Sequence[str] = ()) -> list[KpiRow]:
    """The KPIs of the query, one row per interval (and breakdown value), in order;
    `extra_measures` are summed into the rows' sums as well."""
    query.validate()
    fine = query.interval in ("15min", "hour")
    model = _table(query, fine)
    rows = model.objects.all()
    if fine:
        tz = zone()
        rows = rows.filter(
            bucket_start__gte=datetime.combine(query.start, time(), tz),
            bucket_start__lt=datetime.combine(query.end + timedelta(days=1), time(), tz),
        )
    else:
        rows = rows.filter(day__gte=query.start, day__lte=query.end)
    rows = _filtered(rows, query.filters)
    if query.queues is not None:
        rows = rows.filter(queue__in=query.queues)
    group_column = _group_column(query.group_by)
    columns = [c for c in ("bucket_start" if fine else "day", group_column) if c]
    if query.interval == "total":
        columns = [c for c in columns if c not in ("day", "bucket_start")]
    measures = sorted({m for key in query.kpis for m in KPIS[key].measures} | set(extra_measures))
    annotations = {m: Coalesce(Sum(m), 0) for m in measures if m != IN_TARGET}
    if IN_TARGET in measures:
        annotations[IN_TARGET] = Coalesce(Sum(_in_target_expression()), 0)
    found = (
        rows.values(*columns).annotate(**annotations).order_by(*columns)
        if columns
        else [rows.aggregate(**annotations)]
    )
    queue_teams = _queue_teams() if query.group_by == "team" else {}
    merged: dict[tuple[Any, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in found:
        period = _period_of(row, query.interval)
        group = str(row.get(group_column, "")) if group_column else ""
        if query.group_by == "team":
            group = queue_teams.get(group, "")
        sums = merged[(period, group)]
        for m in measures:
            sums[m] += int(row[m] or 0)  # PostgreSQL sums bigints as numeric
    result = []
    for (period, group), sums in sorted(
        merged.items(), key=lambda item: (str(item[0][0]), item[0][1])
    ):
        values = {key: KPIS[key].value(sums) for key in query.kpis}
        result.append(KpiRow(period=period, group=group, sums=dict(sums), values=values))
    return result


def _table(query: KpiQuery, fine: bool) -> type[Model]:
    """The smallest summary table that has every dimension the query names."""
    if query.per_agent:
        return AgentQuarterHour if fine else AgentDay
    if fine:
        return QueueQuarterHour
    named = {query.group_by, *query.filters} - {""}
    return QueueChannelDay if named <= {"channel", "queue", "team"} else QueueDay


def _filtered(rows, filters: Mapping[str, str]):  # noqa: ANN001, ANN202
    for name, value in filters.items():
        if name == "team":
            rows = rows.filter(queue__in=Queue.objects.filter(team__code=value).values("code"))
        elif name == "agent":
            rows = rows.filter(agent_id=int(value) if str(value).isdigit() else -1)
        else:
            rows = rows.filter(**{name: value})
    return rows


def _group_column(group_by: str) -> str:
    if group_by == "team":
        return "queue"
    if group_by == "agent":
        return "agent_id"
    return group_by


def _queue_teams() -> dict[str, str]:
    return dict(Queue.objects.values_list("code", "team__code"))


def service_level_targets() -> dict[str, int]:
    """Queue code → seconds within which an answer counts, where it is not the default."""
    return dict(
        ServiceLevelTarget.objects.exclude(
            answer_within_seconds=DEFAULT_TARGET_SECONDS
        ).values_list("queue__code", "answer_within_seconds")
    )


def _in_target_expression():  # noqa: ANN202
    by_seconds: dict[int, list[str]] = defaultdict(list)
    for queue, seconds in service_level_targets().items():
        by_seconds[seconds].append(queue)
    default = F(f"answered_within_{DEFAULT_TARGET_SECONDS}")
    if not by_seconds:
        return default
    return Case(
        *[
            When(queue__in=queues, then=F(f"answered_within_{seconds}"))
            for seconds, queues in sorted(by_seconds.items())
        ],
        default=default,
    )


def _period_of(row: Mapping[str, Any], interval: str) -> date | datetime | None:
    if interval == "total":
        return None
    if interval in ("15min", "hour"):
        local = row["bucket_start"].astimezone(zone())
        return local.replace(minute=0) if interval == "hour" else local
    day: date = row["day"]
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def kpi_choices(keys: Iterable[str] | None = None) -> list[tuple[str, str]]:
    return [(kpi.key, str(kpi.label)) for kpi in _KPIS if keys is None or kpi.key in keys]


def value_or_none(rows: Sequence[KpiRow], kpi: str) -> float | None:
    """The KPI over every row together (e.g. a whole day from its breakdown)."""
    sums: dict[str, int] = defaultdict(int)
    for row in rows:
        for measure, value in row.sums.items():
            sums[measure] += value
    return KPIS[kpi].value(sums)


def handling_time_distribution(query: KpiQuery) -> list[int]:
    """Handled work items per bin of handling time (`HANDLING_TIME_BOUNDS`: up to the first
    bound, between consecutive bounds, above the last), for the query's period and the
    filters the tables that count them have. Empty when nothing was handled."""
    measures = ("handled", *(f"handled_within_{s}" for s in HANDLING_TIME_BOUNDS))
    rows = report(
        KpiQuery(
            start=query.start,
            end=query.end,
            kpis=("aht",),
            interval="total",
            filters={k: v for k, v in query.filters.items() if k in _AGENT_DIMENSIONS},
            queues=query.queues,
        ),
        extra_measures=measures,
    )
    if not rows or not rows[0].sums.get("handled"):
        return []
    sums = rows[0].sums
    within = [sums.get(f"handled_within_{s}", 0) for s in HANDLING_TIME_BOUNDS]
    bins = [within[0]] + [b - a for a, b in zip(within, within[1:], strict=False)]
    return [*bins, sums["handled"] - within[-1]]

"""Workforce planning from the installation's own history: the contacts per quarter-hour
of a channel (and queue), the forecast for the days ahead, the agents needed for a
service level target (Erlang C, or Erlang A with a patience), and the gap to the agents
planned. The maths is in `workforce`; this module reads the history and checks input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework.analytics import workforce
from casework.analytics.kpis import KPIS, KpiQuery, report, zone
from casework.analytics.models import QueueQuarterHour
from casework.cases.process import business_calendar
from casework.kernel.errors import InvalidInput

DEFAULT_AHT_SECONDS = 300.0
MAX_DAYS = 7


@dataclass(frozen=True)
class PlanRequest:
    first_day: date
    days: int = 1
    channel: str = "phone"
    queue: str = ""
    target_share: float = 0.8
    target_seconds: int = 20
    patience_seconds: int | None = None
    shrinkage: float = 0.3
    aht_seconds: float | None = None  # None: the channel's average over the history
    history_weeks: int = 6
    # Agents planned per local hour of the day (0–23), the same for every day planned.
    planned_by_hour: Mapping[int, int] = field(default_factory=dict)


@dataclass
class PlanResult:
    request: PlanRequest
    aht_seconds: float
    aht_from_history: bool
    history_days: int
    plan: list[workforce.PlanInterval]
    gaps: list[workforce.StaffingGap]
    accuracy: workforce.ForecastAccuracy | None

    @property
    def total_contacts(self) -> float:
        return sum(row.contacts for row in self.plan)

    @property
    def peak_agents(self) -> int:
        return max((row.required_agents_with_shrinkage for row in self.plan), default=0)

    @property
    def short_intervals(self) -> int:
        return sum(1 for gap in self.gaps if gap.gap < 0) if self.request.planned_by_hour else 0


def contact_history(
    channel: str, queue: str, first_day: date, last_day: date, queues: tuple[str, ...] | None
) -> list[tuple[datetime, float]]:
    """Contacts from customers per quarter-hour over whole local days."""
    tz = zone()
    rows = QueueQuarterHour.objects.filter(
        channel=channel,
        bucket_start__gte=datetime.combine(first_day, time(), tz),
        bucket_start__lt=datetime.combine(last_day + timedelta(days=1), time(), tz),
    )
    if queue:
        rows = rows.filter(queue=queue)
    if queues is not None:
        rows = rows.filter(queue__in=queues)
    return [
        (start, float(contacts))
        for start, contacts in rows.values_list("bucket_start")
        .annotate(n=Sum("contacts_in"))
        .order_by("bucket_start")
        if contacts
    ]


def next_open_day(today: date) -> date:
    """The first day after `today` with business hours: the day a planner usually plans
    (on a Saturday that is Monday, not an empty Sunday)."""
    calendar = business_calendar()
    day = today + timedelta(days=1)
    for _day in range(31):  # a closed month means no hours are configured at all
        if calendar.openings(day):
            return day
        day += timedelta(days=1)
    return today + timedelta(days=1)


def make_plan(request: PlanRequest, queues: tuple[str, ...] | None = None) -> PlanResult:
    if not 1 <= request.days <= MAX_DAYS:
        raise InvalidInput(_("plan 1 to %(max)s days at a time") % {"max": MAX_DAYS}, field="days")
    history_end = request.first_day - timedelta(days=1)
    history_start = history_end - timedelta(days=7 * request.history_weeks - 1)
    history = contact_history(request.channel, request.queue, history_start, history_end, queues)
    if not history:
        raise InvalidInput(
            _("no contacts on this channel in the %(weeks)s weeks before the day planned")
            % {"weeks": request.history_weeks},
            field="first_day",
        )
    days_seen = {start.astimezone(zone()).date() for start, _ in history}
    if (max(days_seen) - min(days_seen)).days < 6:
        raise InvalidInput(
            ngettext(
                "a forecast needs a week of history; there are contacts on %(days)s day",
                "a forecast needs a week of history; there are contacts on %(days)s days",
                len(days_seen),
            )
            % {"days": len(days_seen)},
            field="first_day",
        )
    aht, from_history = _handling_time(request, history_start, history_end, queues)
    intervals = workforce.local_quarter_hours(
        request.first_day, request.first_day + timedelta(days=request.days - 1)
    )
    try:
        forecast = workforce.forecast_contacts(history, intervals, weeks=request.history_weeks)
        plan = workforce.staffing_plan(
            forecast,
            aht,
            request.target_share,
            request.target_seconds,
            patience_seconds=request.patience_seconds,
            shrinkage=request.shrinkage,
        )
    except ValueError as error:
        raise InvalidInput(_("no plan possible: %(reason)s") % {"reason": error}) from error
    try:
        accuracy = workforce.backtest_last_week(history, weeks=request.history_weeks)
    except ValueError:
        accuracy = None  # too little history to hold a week back
    planned = {
        start: request.planned_by_hour.get(start.astimezone(zone()).hour, 0) for start in intervals
    }
    return PlanResult(
        request=request,
        aht_seconds=aht,
        aht_from_history=from_history,
        history_days=len(days_seen),
        plan=plan,
        gaps=workforce.compare_with_planned(plan, planned),
        accuracy=accuracy,
    )


def _handling_time(
    request: PlanRequest, first: date, last: date, queues: tuple[str, ...] | None
) -> tuple[float, bool]:
    if request.aht_seconds:
        return float(request.aht_seconds), False
    filters = {"channel": request.channel, **({"queue": request.queue} if request.queue else {})}
    rows = report(
        KpiQuery(
            start=first, end=last, kpis=("aht",), interval="total", filters=filters, queues=queues
        )
    )
    value = KPIS["aht"].value(rows[0].sums) if rows else None
    return (float(value), True) if value else (DEFAULT_AHT_SECONDS, False)


_HOURS = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*[:=]\s*(\d{1,4})\s*$")


def parse_planned(text: str) -> dict[int, int]:
    """ "8-12: 10; 12-18: 14" → agents per hour (8, 9, 10, 11 → 10; 12 … 17 → 14)."""
    planned: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[;\n]", text or ""))):
        match = _HOURS.match(part)
        if not match:
            raise InvalidInput(
                _("“%(part)s” is not “from-to: agents”, e.g. “8-12: 10”") % {"part": part},
                field="planned",
            )
        start, end, agents = int(match[1]), int(match[2] or int(match[1]) + 1), int(match[3])
        if not 0 <= start < end <= 24:
            raise InvalidInput(
                _("hours run from 0 to 24: “%(part)s”") % {"part": part}, field="planned"
            )
        for hour in range(start, end):
            planned[hour] = agents
    return planned

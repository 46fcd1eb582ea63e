"""KPIs and the live wall-board, for supervisors (their teams' queues) and admins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from casework.analytics import kpis, live
from casework.analytics.kpis import KpiQuery
from casework.api.auth import actor_of
from casework.api.schemas import ErrorOut

router = Router(tags=["analytics"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}

IntervalName = Literal["15min", "hour", "day", "week", "month", "total"]
DimensionName = Literal[
    "", "channel", "queue", "team", "agent", "case_type", "service_type", "segment"
]


class KpiOut(Schema):
    key: str
    label: str
    unit: Literal["count", "percent", "seconds"]
    per_agent: bool


class KpiRowOut(Schema):
    period: date | datetime | None = Field(
        None, description="Start of the interval in German time; null for the whole period."
    )
    group: str = Field("", description="The breakdown's value (queue code, agent id, …).")
    values: dict[str, float | None] = Field(
        ..., description="KPI key → value; percentages as fractions; null where undefined."
    )
    sums: dict[str, int] = Field(..., description="The summed measures behind the values.")


class KpiReportOut(Schema):
    kpis: list[KpiOut]
    rows: list[KpiRowOut]


class KpiFilters(Schema):
    kpi: list[str] = Field(
        ..., description="One or more KPI keys (see /analytics/kpi-definitions)."
    )
    start: date = Field(..., alias="from", description="First day (German calendar day).")
    end: date = Field(..., alias="to", description="Last day, inclusive.")
    interval: IntervalName = "day"
    group_by: DimensionName = ""
    channel: str | None = None
    queue: str | None = None
    team: str | None = None
    agent: str | None = None
    case_type: str | None = None
    service_type: str | None = None
    segment: str | None = None


def _kpi_out(kpi: kpis.Kpi) -> KpiOut:
    return KpiOut(key=kpi.key, label=str(kpi.label), unit=kpi.unit, per_agent=kpi.per_agent)


@router.get("/analytics/kpi-definitions", response={200: list[KpiOut], **ERRORS})
def kpi_definitions(request: HttpRequest):  # noqa: ANN201
    kpis.scope_for(actor_of(request))
    return [_kpi_out(kpi) for kpi in kpis.KPIS.values()]


@router.get("/analytics/kpis", response={200: KpiReportOut, **ERRORS})
def kpi_report(request: HttpRequest, filters: Query[KpiFilters]):  # noqa: ANN201
    """KPIs for a period by interval, optionally broken down by one dimension and filtered
    by any. Definitions: docs/analytics.md."""
    scope = kpis.scope_for(actor_of(request))
    dimensions = ("channel", "queue", "team", "agent", "case_type", "service_type", "segment")
    query = KpiQuery(
        start=filters.start,
        end=filters.end,
        kpis=tuple(dict.fromkeys(filters.kpi)),
        interval=filters.interval,
        group_by=filters.group_by,
        filters={name: getattr(filters, name) for name in dimensions if getattr(filters, name)},
        queues=scope,
    )
    rows = kpis.report(query)
    return KpiReportOut(
        kpis=[_kpi_out(kpis.KPIS[key]) for key in query.kpis],
        rows=[
            KpiRowOut(period=row.period, group=row.group, values=row.values, sums=row.sums)
            for row in rows
        ],
    )


class QueueNowOut(Schema):
    code: str
    name: str
    team: str
    waiting: int
    longest_wait_seconds: float | None
    offered: int
    open_cases: int
    oldest_open_case_at: datetime | None
    answered_today: int
    abandoned_today: int
    service_level_today: float | None
    target_seconds: int
    target_share: float
    below_target: bool
    sla_due_soon: int


class AgentStateOut(Schema):
    code: str
    name: str
    agents: int


class UpcomingBreachOut(Schema):
    case_id: int
    reference: str
    queue: str
    kind: str
    due_at: datetime


class OfferInFlightOut(Schema):
    channel: str
    queue: str
    agent: str
    offered_for_seconds: float
    expires_in_seconds: float
    is_affinity: bool


class WallboardOut(Schema):
    at: datetime
    waiting: int
    longest_wait_seconds: float | None
    service_level_today: float | None
    agents_logged_in: int
    agents_by_state: list[AgentStateOut]
    queues: list[QueueNowOut]
    upcoming_breaches: list[UpcomingBreachOut]
    offers: list[OfferInFlightOut]


@router.get("/analytics/wallboard", response={200: WallboardOut, **ERRORS})
def wallboard(request: HttpRequest):  # noqa: ANN201
    """What is happening now: waiting work, offers in flight, open cases, service level
    today, agents by state and the SLA deadlines of the next hour."""
    board = live.wallboard(kpis.scope_for(actor_of(request)))
    return WallboardOut(
        at=board.at,
        waiting=board.waiting,
        longest_wait_seconds=board.longest_wait_seconds,
        service_level_today=board.service_level_today,
        agents_logged_in=board.agents_logged_in,
        agents_by_state=[
            AgentStateOut(code=code, name=name, agents=agents)
            for code, name, agents in board.agents_by_state
        ],
        queues=[
            QueueNowOut(
                **{
                    name: getattr(queue, name)
                    for name in QueueNowOut.model_fields
                    if name not in ("service_level_today", "below_target")
                },
                service_level_today=queue.service_level_today,
                below_target=queue.below_target,
            )
            for queue in board.queues
        ],
        offers=[OfferInFlightOut(**vars(offer)) for offer in board.offers],
        upcoming_breaches=[
            UpcomingBreachOut(
                case_id=sla.case_id,
                reference=sla.case.reference,
                queue=sla.case.queue.code,
                kind=sla.kind,
                due_at=sla.due_at,
            )
            for sla in board.upcoming_breaches
        ],
    )

"""The cases behind a figure: the population a KPI counts, for a period and filters.

A KPI is counted at a moment (opened, resolved, contacted, answered, SLA decided); the
drill-down lists the cases whose matching moment falls in the period, filtered by the
case's current queue, type, service type, the customer's segment, the first contact's
channel or the owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from casework.analytics.kpis import KPIS, zone
from casework.analytics.models import CaseJourney
from casework.cases.models import Case, CaseSla
from casework.interactions.models import Interaction
from casework.kernel.errors import InvalidInput
from casework.routing.models import WorkItem

_RESOLVED = {
    "cases_resolved",
    "fcr_rate",
    "reopen_rate",
    "automation_rate",
    "retention_saved",
    "retention_lost",
    "churn_rate",
}
_CONTACTS = {"contacts_in", "contacts_out", "transfers_per_contact"}
_ROUTED = {"offered", "answered", "abandoned", "service_level", "abandonment_rate", "asa", "aht"}
_SLA = {"sla_first_response": "first_response", "sla_resolution": "resolution"}
LIMIT = 200


def cases_behind(
    kpi: str,
    start: date,
    end: date,
    filters: Mapping[str, str],
    queues: tuple[str, ...] | None,
) -> QuerySet[Case]:
    if kpi not in KPIS:
        raise InvalidInput(_("unknown KPIs: %(kpis)s") % {"kpis": kpi}, field="kpi")
    tz = zone()
    since = datetime.combine(start, time(), tz)
    until = datetime.combine(end + timedelta(days=1), time(), tz)
    cases = Case.objects.all()
    if kpi in _RESOLVED:
        cases = cases.filter(resolved_at__gte=since, resolved_at__lt=until)
    elif kpi in _CONTACTS:
        direction = "outbound" if kpi == "contacts_out" else "inbound"
        contacts = Interaction.objects.filter(
            occurred_at__gte=since, occurred_at__lt=until, direction=direction
        )
        if filters.get("channel"):
            contacts = contacts.filter(channel=filters["channel"])
        cases = cases.filter(pk__in=contacts.values("case_id"))
    elif kpi in _ROUTED:
        items = WorkItem.objects.filter(queued_at__gte=since, queued_at__lt=until)
        cases = cases.filter(pk__in=items.values("case_id"))
    elif kpi in _SLA:
        decided = CaseSla.objects.filter(kind=_SLA[kpi]).filter(
            Q(met_at__gte=since, met_at__lt=until)
            | Q(breached_at__gte=since, breached_at__lt=until)
        )
        cases = cases.filter(pk__in=decided.values("case_id"))
    else:
        cases = cases.filter(created_at__gte=since, created_at__lt=until)
    for name, value in filters.items():
        if not value:
            continue
        if name == "queue":
            cases = cases.filter(queue__code=value)
        elif name == "team":
            cases = cases.filter(queue__team__code=value)
        elif name == "case_type":
            cases = cases.filter(case_type__code=value)
        elif name == "service_type":
            cases = cases.filter(service_type=value)
        elif name == "segment":
            cases = cases.filter(customer__segment=value)
        elif name == "agent":
            cases = cases.filter(owner_id=int(value) if value.isdigit() else -1)
        elif name == "channel" and kpi not in _CONTACTS:
            first = CaseJourney.objects.filter(path__startswith=value).values("case_id")
            cases = cases.filter(pk__in=first)
    if queues is not None:
        cases = cases.filter(queue__code__in=queues)
    return cases.select_related("case_type", "queue", "customer", "owner__user").order_by(
        "-created_at"
    )


def journeys_of(cases: list[Case]) -> dict[int, CaseJourney]:
    return {j.case_id: j for j in CaseJourney.objects.filter(case_id__in=[c.pk for c in cases])}

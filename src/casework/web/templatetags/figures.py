"""Showing figures the way the reader's language writes them: "87,5 %", "1 min 5 s"."""

from __future__ import annotations

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def kpi_value(value: float | None, unit: str) -> str:
    """A KPI value by its unit: percentages from fractions, durations from seconds."""
    if value is None:
        return "–"
    if unit == "percent":
        return _("%(value)s%%") % {"value": formats.number_format(value * 100, 1)}
    if unit == "seconds":
        return duration(value)
    decimals = 0 if float(value).is_integer() else 2
    return formats.number_format(value, decimals, force_grouping=True)


@register.filter
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(float(seconds))
    if seconds < 60:
        return _("%(s)s s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)s min %(s)s s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


@register.inclusion_tag("web/customers/_journey.html")
def journey_strip(view: object) -> dict:
    """The customer's journey on the 360 panel: recent cases with their contacts' channels
    in order (from the analytics' journeys; cases the agent may not open are not linked)."""
    from casework.analytics.journeys import channel_label, customer_journeys

    customer = view.customer  # type: ignore[attr-defined]
    visible = view.visible_case_ids  # type: ignore[attr-defined]
    return {
        "journeys": [
            {
                "case_id": journey.case_id if journey.case_id in visible else None,
                "opened_at": journey.opened_at,
                "steps": [(code, channel_label(code)) for code in journey.path.split(">") if code],
                "is_resolved": journey.is_resolved,
            }
            for journey in customer_journeys(customer.pk)
        ]
    }

"""The filter form of the supervisor's reports: period, interval, breakdown, KPIs and
filters. The choices of queues, teams, case types and agents come from the view (the
supervisor's scope)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.analytics import kpis, planning
from casework.analytics.kpis import KpiQuery
from casework.analytics.planning import PlanRequest, parse_planned
from casework.cases.models import ServiceType
from casework.customers.models import Channel
from casework.kernel import clock

DEFAULT_KPIS = ("contacts_in", "cases_opened", "fcr_rate", "service_level", "aht")
FILTERS = ("channel", "queue", "team", "agent", "case_type", "service_type", "segment")

Choices = Sequence[tuple[str, str]]


def _any(choices: Choices) -> list[tuple[str, str]]:
    return [("", _("all")), *choices]


class ReportForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    interval = forms.ChoiceField(label=_("Interval"), choices=list(kpis.INTERVALS.items()))
    group_by = forms.ChoiceField(
        label=_("Breakdown"),
        choices=[("", _("none")), *kpis.DIMENSIONS.items()],
        required=False,
    )
    kpi = forms.MultipleChoiceField(
        label=_("Key figures"),
        choices=kpis.kpi_choices(),
        widget=forms.CheckboxSelectMultiple,
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=_any(Channel.choices), required=False)
    queue = forms.ChoiceField(label=_("Queue"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    case_type = forms.ChoiceField(label=_("Case type"), required=False)
    service_type = forms.ChoiceField(
        label=_("Service type"), choices=_any(ServiceType.choices), required=False
    )
    segment = forms.SlugField(label=_("Customer segment"), max_length=40, required=False)

    def __init__(
        self,
        data: object = None,
        *,
        queues: Choices,
        teams: Choices,
        agents: Choices,
        case_types: Choices,
    ) -> None:
        if not data:
            today = clock.localtime(clock.now()).date()
            data = {
                "start": (today - timedelta(days=29)).isoformat(),
                "end": today.isoformat(),
                "interval": "day",
                "kpi": list(DEFAULT_KPIS),
            }
        super().__init__(data)
        self.fields["queue"].choices = _any(queues)
        self.fields["team"].choices = _any(teams)
        self.fields["agent"].choices = _any(agents)
        self.fields["case_type"].choices = _any(case_types)

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends before it starts."))
        return cleaned

    def query(self, queues: tuple[str, ...] | None) -> KpiQuery:
        data = self.cleaned_data
        return KpiQuery(
            start=data["start"],
            end=data["end"],
            kpis=tuple(data["kpi"]),
            interval=data["interval"],
            group_by=data["group_by"],
            filters={name: data[name] for name in FILTERS if data.get(name)},
            queues=queues,
        )

    @property
    def filters(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in FILTERS if self.cleaned_data.get(name)}


def period_end(period: date, interval: str, last: date) -> date:
    """The last day of the interval that starts at `period` (for drill-down links)."""
    if interval == "week":
        return min(period + timedelta(days=6), last)
    if interval == "month":
        following = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
        return min(following - timedelta(days=1), last)
    return period


class PlanForm(forms.Form):
    first_day = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=7, initial=1)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    queue = forms.ChoiceField(label=_("Queue"), required=False)
    target_percent = forms.IntegerField(
        label=_("Service level target (%)"), min_value=1, max_value=99, initial=80
    )
    target_seconds = forms.IntegerField(
        label=_("answered within (s)"), min_value=1, max_value=3600, initial=20
    )
    patience_seconds = forms.IntegerField(
        label=_("Mean patience (s)"),
        min_value=1,
        max_value=7200,
        required=False,
        help_text=_("With a patience, Erlang A counts callers who hang up; without, Erlang C."),
    )
    shrinkage_percent = forms.IntegerField(
        label=_("Shrinkage (%)"), min_value=0, max_value=90, initial=30
    )
    aht_seconds = forms.IntegerField(
        label=_("Handling time (s)"),
        min_value=1,
        max_value=36000,
        required=False,
        help_text=_("Empty: the average of the history."),
    )
    planned = forms.CharField(
        label=_("Agents planned"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "8-12: 10; 12-18: 14"}),
    )

    def __init__(self, data: object = None, *, queues: Choices) -> None:
        if not data:
            first_day = planning.next_open_day(clock.localtime(clock.now()).date())
            data = {
                "first_day": first_day.isoformat(),
                "days": 1,
                "channel": "phone",
                "target_percent": 80,
                "target_seconds": 20,
                "shrinkage_percent": 30,
            }
        super().__init__(data)
        self.fields["queue"].choices = _any(queues)

    def request(self) -> PlanRequest:
        data = self.cleaned_data
        return PlanRequest(
            first_day=data["first_day"],
            days=data["days"],
            channel=data["channel"],
            queue=data["queue"],
            target_share=data["target_percent"] / 100,
            target_seconds=data["target_seconds"],
            patience_seconds=data["patience_seconds"],
            shrinkage=data["shrinkage_percent"] / 100,
            aht_seconds=data["aht_seconds"],
            planned_by_hour=parse_planned(data["planned"]),
        )

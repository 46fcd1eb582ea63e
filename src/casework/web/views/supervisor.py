"""The supervisor's screens: the live wall-board, reports with charts and drill-down, CSV
export, and customer journeys. Supervisors see their teams' queues, admins all."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from casework.analytics import drilldown, journeys, kpis, live, planning
from casework.analytics.kpis import KPIS, KpiRow
from casework.analytics.models import HANDLING_TIME_BOUNDS
from casework.cases.models import CaseType
from casework.customers.models import Channel
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError
from casework.routing.models import Agent, Queue, Team
from casework.web import charts
from casework.web.desk import desk_view, is_htmx
from casework.web.report_forms import FILTERS, PlanForm, ReportForm, period_end

# Breakdowns with more values than this are charted as their largest few.
MAX_SERIES = 8


@require_GET
@desk_view
def wallboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    board = live.wallboard(kpis.scope_for(actor))
    template = (
        "web/supervisor/_wallboard.html" if is_htmx(request) else "web/supervisor/wallboard.html"
    )
    return render(request, template, {"board": board})


def _form(request: HttpRequest, scope: tuple[str, ...] | None) -> ReportForm:
    queues = Queue.objects.select_related("team").order_by("code")
    if scope is not None:
        queues = queues.filter(code__in=scope)
    teams = Team.objects.filter(queues__in=queues).distinct().order_by("code")
    agents = Agent.objects.select_related("user").order_by("user__last_name", "user__username")
    if scope is not None:
        agents = agents.filter(teams__in=teams).distinct()
    return ReportForm(
        request.GET or None,
        queues=[(q.code, str(q.name)) for q in queues],
        teams=[(t.code, str(t.name)) for t in teams],
        agents=[(str(a.pk), a.user.get_full_name() or a.user.username) for a in agents],
        case_types=[(c.code, str(c.name)) for c in CaseType.objects.order_by("code")],
    )


@require_GET
@desk_view
def reports(request: HttpRequest, actor: Actor) -> HttpResponse:
    scope = kpis.scope_for(actor)
    form = _form(request, scope)
    context: dict[str, object] = {"form": form}
    if form.is_valid():
        query = form.query(scope)
        rows = kpis.report(query)
        if request.GET.get("format") == "csv":
            return _csv(query, rows)
        labels = _labels(query)
        context.update(
            query=query,
            rows=[_table_row(form, query, row, labels) for row in rows],
            kpi_list=[KPIS[key] for key in query.kpis],
            charts=_charts(query, rows, labels),
            handling=_handling_time_chart(query),
            csv_url=f"{request.path}?{_with(request, format='csv')}",
        )
    return render(request, "web/supervisor/reports.html", context)


def _with(request: HttpRequest, **changes: str) -> str:
    params = request.GET.copy()
    for name, value in changes.items():
        params[name] = value
    return params.urlencode()


def _period_label(period: date | datetime | None, interval: str) -> str:
    if period is None:
        return _("whole period")
    if interval == "15min" or interval == "hour":
        return formats.date_format(period, "SHORT_DATETIME_FORMAT")
    if interval == "week":
        return _("week of %(day)s") % {"day": formats.date_format(period, "SHORT_DATE_FORMAT")}
    if interval == "month":
        return formats.date_format(period, "YEAR_MONTH_FORMAT")
    return formats.date_format(period, "SHORT_DATE_FORMAT")


def _group_label(query: kpis.KpiQuery, group: str, labels: dict[str, str]) -> str:
    if not query.group_by:
        return ""
    return labels.get(group) or group or _("none")


def _labels(query: kpis.KpiQuery) -> dict[str, str]:
    """Display names for the breakdown's values."""
    if query.group_by == "queue":
        return {q.code: str(q.name) for q in Queue.objects.all()}
    if query.group_by == "team":
        return {t.code: str(t.name) for t in Team.objects.all()}
    if query.group_by == "case_type":
        return {c.code: str(c.name) for c in CaseType.objects.all()}
    if query.group_by == "agent":
        return {
            str(a.pk): a.user.get_full_name() or a.user.username
            for a in Agent.objects.select_related("user")
        }
    if query.group_by == "channel":
        return {code: str(label) for code, label in Channel.choices}
    return {}


def _table_row(form: ReportForm, query: kpis.KpiQuery, row: KpiRow, labels: dict[str, str]) -> dict:
    if isinstance(row.period, datetime):
        day = row.period.date()
        first, last = day, day
    elif isinstance(row.period, date):
        first, last = row.period, period_end(row.period, query.interval, query.end)
    else:
        first, last = query.start, query.end
    filters = dict(form.filters)
    if query.group_by and row.group:
        filters[query.group_by] = row.group
    links = {
        key: reverse("web:report_cases")
        + "?"
        + urlencode({"kpi": key, "start": first, "end": last, **filters})
        for key in query.kpis
    }
    return {
        "period": _period_label(row.period, query.interval),
        "group": _group_label(query, row.group, labels),
        "cells": [(KPIS[key], row.values[key], links[key]) for key in query.kpis],
    }


def _charts(query: kpis.KpiQuery, rows: list[KpiRow], labels: dict[str, str]) -> list[dict]:
    """One chart per KPI: over time (a line per breakdown value), or, for the whole
    period, a bar per breakdown value."""
    groups = _largest_groups(rows, query)
    periods = sorted({row.period for row in rows if row.period is not None})
    specs = []
    for key in query.kpis:
        kpi = KPIS[key]
        title = capfirst(str(kpi.label))
        if query.interval == "total":
            x = [_group_label(query, row.group, labels) or title for row in rows]
            specs.append(
                charts.bar_chart(title, x, {title: [row.values[key] for row in rows]}, kpi.unit)
            )
            continue
        x = [_period_label(period, query.interval) for period in periods]
        by_group: dict[str, dict[object, float | None]] = {group: {} for group in groups}
        for row in rows:
            if row.group in by_group:
                by_group[row.group][row.period] = row.values[key]
        series = {
            (_group_label(query, group, labels) or title): [values.get(p) for p in periods]
            for group, values in by_group.items()
        }
        specs.append(charts.line_chart(title, x, series, kpi.unit))
    return specs


def _largest_groups(rows: list[KpiRow], query: kpis.KpiQuery) -> list[str]:
    weight: dict[str, int] = {}
    for row in rows:
        weight[row.group] = weight.get(row.group, 0) + sum(row.sums.values())
    return sorted(weight, key=lambda group: -weight[group])[:MAX_SERIES]


def _handling_time_chart(query: kpis.KpiQuery) -> dict | None:
    """How long handled calls and chats took, in bins."""
    counts = kpis.handling_time_distribution(query)
    if not counts:
        return None
    minutes = [s // 60 for s in HANDLING_TIME_BOUNDS]
    labels = [_("up to %(n)s min") % {"n": minutes[0]}]
    labels += [f"{a}–{b} min" for a, b in zip(minutes, minutes[1:], strict=False)]
    labels.append(_("over %(n)s min") % {"n": minutes[-1]})
    return charts.bar_chart(_("Handling time"), labels, {_("calls and chats"): counts}, "count")


def _csv(query: kpis.KpiQuery, rows: list[KpiRow]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"casework-kpis-{query.start}-{query.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Excel in Germany reads semicolons and a byte order mark; values stay machine-readable
    # (dot decimals, fractions for percentages) so the file can be processed further.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(["period", query.group_by or "group", *query.kpis])
    for row in rows:
        period = row.period.isoformat() if row.period else ""
        writer.writerow(
            [
                period,
                row.group,
                *("" if row.values[k] is None else row.values[k] for k in query.kpis),
            ]
        )
    return response


@require_GET
@desk_view
def report_cases(request: HttpRequest, actor: Actor) -> HttpResponse:
    scope = kpis.scope_for(actor)
    kpi = request.GET.get("kpi", "cases_opened")
    try:
        start = date.fromisoformat(request.GET.get("start", ""))
        end = date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        today = clock.localtime(clock.now()).date()
        start = end = today
    filters = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    cases = list(drilldown.cases_behind(kpi, start, end, filters, scope)[: drilldown.LIMIT + 1])
    more = len(cases) > drilldown.LIMIT
    cases = cases[: drilldown.LIMIT]
    paths = drilldown.journeys_of(cases)
    return render(
        request,
        "web/supervisor/report_cases.html",
        {
            "kpi": KPIS.get(kpi),
            "start": start,
            "end": end,
            "filters": filters,
            "rows": [(case, paths.get(case.pk)) for case in cases],
            "more": more,
            "limit": drilldown.LIMIT,
        },
    )


@require_GET
@desk_view
def journey_analytics(request: HttpRequest, actor: Actor) -> HttpResponse:
    kpis.scope_for(actor)
    today = clock.localtime(clock.now()).date()
    try:
        start = date.fromisoformat(request.GET.get("start", ""))
        end = date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        start, end = today - timedelta(days=89), today
    case_type = request.GET.get("case_type", "")
    segment = request.GET.get("segment", "")
    if request.GET.get("format") == "csv":
        return _journeys_csv(request.GET.get("table", ""), start, end)
    flows = journeys.flow(start, end, case_type=case_type, segment=segment)
    return render(
        request,
        "web/supervisor/journeys.html",
        {
            "start": start,
            "end": end,
            "case_type": case_type,
            "segment": segment,
            "case_types": CaseType.objects.order_by("code"),
            "sankey": charts.sankey(
                _("From channel to channel"), [(f.source, f.target, f.cases) for f in flows]
            ),
            "first_contacts": charts.pie_chart(
                _("First contact by channel"),
                *_unzip(journeys.first_contacts(start, end)),
            ),
            "paths": journeys.top_paths(start, end),
            "hotspots": journeys.repeat_hotspots(start, end),
            "worst": journeys.worst_journeys(start, end),
            "segments": journeys.segment_profiles(start, end),
        },
    )


def _journeys_csv(table: str, start: date, end: date) -> HttpResponse:
    """The journeys page's tables as CSV: worst journeys, hotspots, paths, segments."""
    if table == "hotspots":
        header = ["case_type", "stage", "step", "cases", "contacts"]
        rows = [
            [h.case_type, h.stage, h.step, h.cases, h.contacts]
            for h in journeys.repeat_hotspots(start, end, limit=1000)
        ]
    elif table == "paths":
        header = ["path", "cases", "average_contacts"]
        rows = [
            [" > ".join(p.channels), p.cases, round(p.avg_contacts, 2)]
            for p in journeys.top_paths(start, end, limit=1000)
        ]
    elif table == "segments":
        header = ["segment", "cases", "contacts_per_case", "came_back", "switched", "digital"]
        rows = [
            [
                p.segment,
                p.cases,
                round(p.avg_contacts, 3),
                p.repeat_share,
                p.switch_share,
                p.digital_share,
            ]  # fmt: skip
            for p in journeys.segment_profiles(start, end)
        ]
    else:
        header = ["case_id", "case_type", "segment", "opened_at", "contacts", "switches", "path"]
        rows = [
            [
                j.case_id,
                j.case_type,
                j.segment,
                j.opened_at.isoformat() if j.opened_at else "",
                j.contacts_in,
                j.channel_switches,
                j.path,
            ]  # fmt: skip
            for j in journeys.worst_journeys(start, end, limit=5000)
        ]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"casework-journeys-{table or 'worst'}-{start}-{end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return response


def _unzip(pairs: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [label for label, value in pairs], [value for label, value in pairs]


@require_GET
@desk_view
def workforce(request: HttpRequest, actor: Actor) -> HttpResponse:
    scope = kpis.scope_for(actor)
    queues = Queue.objects.order_by("code")
    if scope is not None:
        queues = queues.filter(code__in=scope)
    form = PlanForm(request.GET or None, queues=[(q.code, str(q.name)) for q in queues])
    context: dict[str, object] = {"form": form}
    if form.is_valid():
        try:
            result = planning.make_plan(form.request(), scope)
        except DomainError as error:
            field = error.details.get("field")
            form.add_error(field if field in form.fields else None, error.message)
        else:
            if request.GET.get("format") == "csv":
                return _plan_csv(result)
            context.update(
                result=result,
                rows=_plan_rows(result),
                charts=_plan_charts(result),
                csv_url=f"{request.path}?{_with(request, format='csv')}",
            )
    return render(request, "web/supervisor/workforce.html", context)


def _plan_rows(result: planning.PlanResult) -> list[tuple]:
    tz = kpis.zone()
    return [
        (row.start.astimezone(tz), row, gap)
        for row, gap in zip(result.plan, result.gaps, strict=True)
        if row.contacts >= 0.05 or gap.planned_agents
    ]


def _plan_charts(result: planning.PlanResult) -> list[dict]:
    tz = kpis.zone()
    x = [
        formats.date_format(row.start.astimezone(tz), "SHORT_DATETIME_FORMAT")
        for row in result.plan
    ]
    agents = {
        _("agents needed"): [row.required_agents_with_shrinkage for row in result.plan],
    }
    if result.request.planned_by_hour:
        agents[_("agents planned")] = [gap.planned_agents for gap in result.gaps]
    return [
        charts.line_chart(
            _("Contacts forecast per quarter-hour"),
            x,
            {_("contacts"): [round(row.contacts, 2) for row in result.plan]},
            "count",
        ),
        charts.line_chart(_("Agents per quarter-hour"), x, agents, "count"),
    ]


def _plan_csv(result: planning.PlanResult) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="casework-staffing-{result.request.first_day}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            "interval_start",
            "contacts",
            "traffic_erlangs",
            "agents_required",
            "agents_required_with_shrinkage",
            "agents_planned",
            "gap",
            "service_level",
            "average_speed_of_answer_seconds",
            "occupancy",
            "abandonment",
        ]
    )
    tz = kpis.zone()
    for row, gap in zip(result.plan, result.gaps, strict=True):
        writer.writerow(
            [
                row.start.astimezone(tz).isoformat(),
                round(row.contacts, 3),
                round(row.traffic_erlangs, 3),
                row.required_agents,
                row.required_agents_with_shrinkage,
                gap.planned_agents,
                gap.gap,
                round(row.service_level, 4),
                round(row.average_speed_of_answer, 1),
                round(row.occupancy, 4),
                "" if row.abandonment is None else round(row.abandonment, 4),
            ]
        )
    return response

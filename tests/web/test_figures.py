"""The supervisor's figures: wall-board, reports with CSV and drill-down, journeys. Agents
do not see them; supervisors see their teams' queues."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client

from casework.analytics import aggregation
from casework.kernel.actors import Role
from casework.routing.models import Agent
from tests.factories import AgentFactory
from tests.web.conftest import Helmut

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(agent: Agent) -> Agent:
    return AgentFactory(role=Role.SUPERVISOR, teams=list(agent.teams.all()))


@pytest.fixture
def as_supervisor(client: Client, supervisor: Agent, helmut: Helmut) -> Client:
    aggregation.catch_up()
    client.force_login(supervisor.user)
    return client


def report_params(**extra: str) -> dict:
    return {
        "start": "2026-11-25",
        "end": "2026-11-25",
        "interval": "day",
        "kpi": ["contacts_in", "cases_opened"],
        **extra,
    }


def test_agents_see_no_figures(signed_in: Client):
    assert b"/figures/" not in signed_in.get("/").content
    assert signed_in.get("/figures/").status_code == 403
    assert signed_in.get("/figures/reports/").status_code == 403


def test_the_wallboard_and_its_refresh(as_supervisor: Client):
    page = as_supervisor.get("/figures/")
    assert page.status_code == 200
    assert b'hx-trigger="every 10s"' in page.content
    partial = as_supervisor.get("/figures/", headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b"tile-value" in partial.content


def test_a_report_with_charts_a_table_and_links_to_the_cases(as_supervisor: Client, helmut):
    page = as_supervisor.get("/figures/reports/", report_params(group_by="channel"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-chart data-chart-kind="line"') == 2
    assert "/figures/reports/cases/?kpi=contacts_in" in html
    drill = as_supervisor.get(
        "/figures/reports/cases/",
        {"kpi": "cases_opened", "start": "2020-01-01", "end": "2030-12-31"},
    )
    assert helmut.case.reference in drill.content.decode()


def test_the_report_opens_with_the_last_30_days(as_supervisor: Client):
    page = as_supervisor.get("/figures/reports/")
    assert page.status_code == 200 and b"data-chart" in page.content


def test_csv_export(as_supervisor: Client):
    response = as_supervisor.get("/figures/reports/", report_params(format="csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["period", "group", "contacts_in", "cases_opened"]


def test_a_bad_period_is_explained(as_supervisor: Client):
    page = as_supervisor.get("/figures/reports/", report_params(end="2026-11-01"))
    assert b"The period ends before it starts." in page.content


def test_journeys(as_supervisor: Client):
    page = as_supervisor.get("/figures/journeys/", {"start": "2026-11-01", "end": "2026-11-30"})
    assert page.status_code == 200
    assert b'data-chart-kind="sankey"' in page.content


def test_german_formats(as_supervisor: Client):
    as_supervisor.cookies["django_language"] = "de"
    page = as_supervisor.get(
        "/figures/reports/",
        report_params(kpi=["fcr_rate"], interval="total"),
        headers={"Accept-Language": "de"},
    )
    assert "Erstkontaktlösung" in page.content.decode()


def test_workforce_planning_without_history_says_why(as_supervisor: Client):
    page = as_supervisor.get("/figures/workforce/")
    assert page.status_code == 200
    # Helmut called on 25 November: one day of history is too little for a forecast.
    assert b"a forecast needs a week of history; there are contacts on 1 day" in page.content
    letters = as_supervisor.get(
        "/figures/workforce/",
        {
            "first_day": "2026-11-27",
            "days": 1,
            "channel": "letter",
            "target_percent": 80,
            "target_seconds": 20,
            "shrinkage_percent": 30,
        },
    )
    assert b"no contacts on this channel" in letters.content


def test_workforce_planning_input_is_checked(as_supervisor: Client):
    params = {
        "first_day": "2026-11-26",
        "days": 1,
        "channel": "phone",
        "target_percent": 80,
        "target_seconds": 20,
        "shrinkage_percent": 30,
        "aht_seconds": 240,
        "planned": "8-18: 2",
    }
    response = as_supervisor.get("/figures/workforce/", {**params, "planned": "noon: 3"})
    assert "“noon: 3”".encode() in response.content


def test_the_360_panel_shows_the_customers_journey(signed_in: Client, helmut: Helmut):
    aggregation.catch_up()
    page = signed_in.get(f"/customers/{helmut.customer.pk}/").content.decode()
    assert 'class="journey"' in page
    # Helmut's contacts in the order they came: the e-mail, the call, the chat.
    steps = re.findall(r'class="journey-step channel-(\w+)"', page)
    assert steps == ["email", "phone", "chat"], steps


@pytest.mark.parametrize("table", ["worst", "hotspots", "paths", "segments"])
def test_journey_tables_as_csv(as_supervisor: Client, table: str):
    response = as_supervisor.get(
        "/figures/journeys/",
        {"start": "2026-11-01", "end": "2026-11-30", "format": "csv", "table": table},
    )
    assert response["Content-Type"].startswith("text/csv")
    header = response.content.decode("utf-8-sig").splitlines()[0].split(";")
    assert len(header) >= 3

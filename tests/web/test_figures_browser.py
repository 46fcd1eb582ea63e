"""The supervisor's figures in real Chromium, filled from the demo's service history: the
charts render (screenshots are kept next to the test run), a value leads to its cases,
and the German page writes German numbers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from casework.demo import history
from casework.demo.loading import (
    load_generated_customers,
    load_journeys,
    load_processes,
    load_reference_data,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_history() -> None:
    """The demo's installation with two weeks of its service history."""
    load_reference_data()
    load_journeys()
    load_processes()
    load_generated_customers(80)
    assert history.load_history(weeks=2, contacts_per_day=25, progress=lambda line: None) > 0


@pytest.fixture
def supervisor_page(browser: Browser, live_server, demo_history) -> Iterator[Page]:  # noqa: ANN001
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("sabine")
    page.get_by_label("Password").fill("casework-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Figures")).to_be_visible()
    yield page
    context.close()


def screenshots() -> Path:
    folder = Path(os.environ.get("CASEWORK_SCREENSHOTS", "/tmp/casework-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assert_charts_drawn(page: Page, expected: int) -> None:
    charts = page.locator("[data-chart]")
    expect(charts).to_have_count(expected)
    for index in range(expected):
        chart = charts.nth(index)
        expect(chart).to_have_attribute("data-chart-rendered", "true")
        expect(chart.locator("canvas")).to_have_count(1)
        # Drawn, not blank: count the canvas pixels that are not transparent.
        painted = chart.locator("canvas").evaluate(
            """canvas => {
                const context = canvas.getContext('2d');
                const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
                return painted;
            }"""
        )
        assert painted > 2000, f"chart {index} looks blank ({painted} pixels drawn)"


def test_reports_wallboard_journeys_and_planning_from_the_demo_history(supervisor_page: Page):
    page = supervisor_page
    page.get_by_role("link", name="Figures").click()
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    page.screenshot(path=screenshots() / "wallboard.png", full_page=True)

    page.get_by_role("link", name="Reports").click()
    # The default report: the last 30 days by day, five KPIs, and the handling times.
    assert_charts_drawn(page, 6)
    page.screenshot(path=screenshots() / "reports.png", full_page=True)

    # Every value leads to the cases behind it.
    page.locator("table.list tbody tr").first.locator("a").nth(1).click()
    expect(page.get_by_role("heading", name="Cases behind a figure")).to_be_visible()
    expect(page.locator("table.list tbody a.mono").first).to_have_text(re.compile(r"CW-\d{4}-"))

    page.get_by_role("link", name="Customer journeys").click()
    assert_charts_drawn(page, 2)
    page.screenshot(path=screenshots() / "journeys.png", full_page=True)

    page.get_by_role("link", name="Workforce planning").click()
    assert_charts_drawn(page, 2)
    expect(page.locator(".tile-value").first).not_to_have_text("0")
    page.screenshot(path=screenshots() / "workforce.png", full_page=True)


def test_the_german_report_writes_german_numbers(supervisor_page: Page):
    page = supervisor_page
    page.get_by_role("button", name="Deutsch").click()
    page.goto(
        "/figures/reports/?start=2025-01-01&end=2027-12-31&interval=total&kpi=fcr_rate&kpi=aht"
    )
    expect(page.get_by_role("heading", name="Berichte")).to_be_visible()
    cells = page.locator("table.list tbody td.num")
    expect(cells.first).to_have_text(re.compile(r"^\d{1,3},\d %$"))  # e.g. "61,3 %"
    expect(cells.nth(1)).to_have_text(re.compile(r"^\d+ min \d+ s$"))

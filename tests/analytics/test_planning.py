"""Workforce planning from the installation's own history."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from casework.analytics import aggregation, planning
from casework.analytics.planning import PlanRequest
from casework.kernel.errors import InvalidInput
from tests.analytics.streams import _Stream

pytestmark = pytest.mark.django_db

FIRST_DAY = date(2026, 11, 23)  # a Monday


@pytest.fixture
def three_weeks_of_calls() -> None:
    """Every weekday of the three weeks before: 8 calls per quarter-hour from 09:00 to
    11:00 Berlin time (08:00–10:00 UTC), on queue "service"."""
    stream = _Stream(random.Random(1))
    case_id = 0
    for day in range(21):
        moment = datetime(2026, 11, 2, 8, 0, tzinfo=UTC) + timedelta(days=day)
        if moment.weekday() >= 5:
            continue
        for quarter in range(8):
            for call in range(8):
                case_id += 1
                at = moment + timedelta(minutes=15 * quarter, seconds=call)
                stream.add(at, "case.opened", "case", case_id, {"queue": "service"})
                stream.add(
                    at,
                    "interaction.recorded",
                    "interaction",
                    case_id,
                    {"channel": "phone", "direction": "inbound", "case_id": case_id},
                    ("customer", 1),
                )
    with transaction.atomic():
        aggregation.apply_events(stream.events)


def test_a_plan_for_the_next_monday(three_weeks_of_calls):
    result = planning.make_plan(
        PlanRequest(
            first_day=FIRST_DAY, aht_seconds=180, history_weeks=3, planned_by_hour={9: 8, 10: 8}
        )
    )
    busy = [row for row in result.plan if row.contacts > 0]
    assert len(busy) == 8  # 09:00–11:00
    assert all(row.contacts == pytest.approx(8, rel=0.01) for row in busy)
    # 8 calls of 3 minutes per quarter-hour = 1.6 Erlang: 4 agents for 80/20, 6 with 30 %
    # shrinkage.
    assert {row.required_agents for row in busy} == {4}
    assert {row.required_agents_with_shrinkage for row in busy} == {6}
    assert result.short_intervals == 0 and result.history_days == 15
    assert result.accuracy is not None and result.accuracy.wape == pytest.approx(0, abs=0.01)


def test_the_handling_time_comes_from_the_history_when_not_given(three_weeks_of_calls):
    result = planning.make_plan(PlanRequest(first_day=FIRST_DAY, history_weeks=3))
    assert result.aht_seconds == planning.DEFAULT_AHT_SECONDS and not result.aht_from_history


def test_no_history_is_explained(db):
    with pytest.raises(InvalidInput, match="no contacts on this channel"):
        planning.make_plan(PlanRequest(first_day=FIRST_DAY))


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "8-12: 10; 12-18: 14",
            {**dict.fromkeys(range(8, 12), 10), **dict.fromkeys(range(12, 18), 14)},
        ),
        ("9=3", {9: 3}),
        ("", {}),
    ],
)
def test_planned_agents_by_hour(text, expected):
    assert planning.parse_planned(text) == expected


@pytest.mark.parametrize("text", ["morning: 10", "18-8: 3", "8-25: 1"])
def test_planned_agents_refused(text):
    with pytest.raises(InvalidInput):
        planning.parse_planned(text)


def test_the_default_day_planned_is_the_next_day_the_service_is_open(settings):
    settings.CASEWORK_BUSINESS_HOURS = {"mon-fri": "08:00-18:00"}
    settings.CASEWORK_FEDERAL_STATE = ""
    assert planning.next_open_day(date(2026, 11, 24)) == date(2026, 11, 25)  # Tue → Wed
    assert planning.next_open_day(date(2026, 11, 27)) == date(2026, 11, 30)  # Fri → Mon
    assert planning.next_open_day(date(2026, 12, 24)) == date(2026, 12, 28)  # past Christmas

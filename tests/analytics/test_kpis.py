"""Every KPI against a small example computed by hand (the figures in the comments)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from casework.analytics import aggregation, kpis
from casework.analytics.kpis import KpiQuery
from casework.analytics.models import ServiceLevelTarget
from casework.kernel.errors import InvalidInput
from tests.analytics.streams import _Stream
from tests.factories import CustomerFactory, QueueFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 24)  # a Tuesday; Berlin is UTC+1


def at(hour: int, minute: int = 0, second: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def _example() -> list:
    s = _Stream(random.Random(0))
    agent7, agent8, customer, system = ("agent", 7), ("agent", 8), ("customer", 1), ("system", None)

    def opened(case_id: int, when: datetime, queue: str = "service") -> None:
        s.add(
            when,
            "case.opened",
            "case",
            case_id,
            {
                "case_type": "licensing-request",
                "service_type": "support",
                "queue": queue,
                "customer_id": 1,
            },
        )

    def contact(case_id: int, when: datetime, channel: str, direction: str, actor) -> None:  # noqa: ANN001
        s.add(
            when,
            "interaction.recorded",
            "interaction",
            len(s.events),
            {"channel": channel, "direction": direction, "case_id": case_id},
            actor,
        )

    # Case 1, e-mail: acknowledged automatically, answered by agent 7 an hour later and
    # resolved by them. One contact, none after: first-contact resolution, not automated.
    opened(1, at(9))
    contact(1, at(9), "email", "inbound", customer)
    contact(1, at(9, 0, 5), "email", "outbound", system)
    contact(1, at(10), "email", "outbound", agent7)
    s.add(at(10), "case.resolved", "case", 1, {"resolution_code": "solved"}, agent7)
    # Case 2, a call the process resolves on its own: first-contact resolution, automated.
    opened(2, at(9, 10))
    contact(2, at(9, 10), "phone", "inbound", customer)
    s.add(at(9, 20), "case.resolved", "case", 2, {"resolution_code": "solved"}, system)
    # Case 3: resolved by agent 8, the customer writes again two days later and it reopens:
    # not first-contact, reopened, a repeat contact (counted on the day it was opened).
    opened(3, at(11))
    contact(3, at(11), "email", "inbound", customer)
    s.add(at(12), "case.resolved", "case", 3, {"resolution_code": "solved"}, agent8)
    contact(3, at(8, day=26), "email", "inbound", customer)
    s.add(at(8, day=26), "case.reopened", "case", 3, {"reason": "mail"}, system)
    # Case 4: chat, then a call (one channel switch), forwarded by agent 7; still open.
    opened(4, at(13))
    contact(4, at(13), "chat", "inbound", customer)
    contact(4, at(14), "phone", "inbound", customer)
    s.add(at(14, 30), "case.forwarded", "case", 4, {"to_queue": "billing"}, agent7)
    # Calls: answered after 15 s (agent 7, 300 s), abandoned after 40 s, answered after
    # 25 s (agent 8, 200 s).
    for item, start, waited, agent, handled in (
        (1, at(9, 10), 15, 7, 300),
        (2, at(9, 30), 40, None, 0),
        (3, at(9, 40), 25, 8, 200),
    ):
        s.add(
            start, "work_item.queued", "work_item", item, {"channel": "phone", "queue": "service"}
        )
        answered = start + timedelta(seconds=waited)
        if agent is None:
            s.add(answered, "work_item.withdrawn", "work_item", item, {"waited_seconds": waited})
            continue
        s.add(
            answered,
            "work_item.accepted",
            "work_item",
            item,
            {"agent_id": agent, "waited_seconds": waited},
            ("agent", agent),
        )
        s.add(
            answered + timedelta(seconds=handled),
            "work_item.completed",
            "work_item",
            item,
            {"agent_id": agent, "handled_seconds": handled},
            ("agent", agent),
        )
    return s.events


@pytest.fixture
def example() -> list:
    CustomerFactory(pk=1, segment="private")
    events = _example()
    with transaction.atomic():
        aggregation.apply_events(events)
    return events


def day_total(*keys: str, **extra) -> dict:  # noqa: ANN003
    rows = kpis.report(KpiQuery(start=DAY, end=DAY, kpis=keys, interval="total", **extra))
    return {row.group: row.values for row in rows}


def test_case_kpis_of_the_day(example):
    values = day_total(
        "contacts_in",
        "cases_opened",
        "cases_resolved",
        "fcr_rate",
        "reopen_rate",
        "automation_rate",
        "repeat_contact_rate",
        "channel_switches_per_case",
        "transfers_per_contact",
        "first_response_time",
    )[""]
    assert values == {
        "contacts_in": 5,  # the sixth came on the 26th
        "cases_opened": 4,
        "cases_resolved": 3,
        "fcr_rate": pytest.approx(2 / 3),  # cases 1 and 2
        "reopen_rate": pytest.approx(1 / 3),  # case 3
        "automation_rate": pytest.approx(1 / 3),  # case 2
        "repeat_contact_rate": 0.5,  # cases 3 and 4 of four with contacts
        "channel_switches_per_case": 0.25,  # case 4's chat → phone
        "transfers_per_contact": 0.2,  # one forward, five contacts
        "first_response_time": 3600,  # case 1; the acknowledgement is no response
    }


def test_call_kpis_and_a_queue_service_level_target(example):
    keys = ("offered", "answered", "abandoned", "service_level", "abandonment_rate", "asa", "aht")
    assert day_total(*keys)[""] == {
        "offered": 3,
        "answered": 2,
        "abandoned": 1,
        "service_level": pytest.approx(1 / 3),  # only the 15 s answer is within 20 s
        "abandonment_rate": pytest.approx(1 / 3),
        "asa": 20,  # (15 + 25) / 2
        "aht": 250,  # (300 + 200) / 2
    }
    ServiceLevelTarget.objects.create(
        queue=QueueFactory(code="service"), answer_within_seconds=30, target_share=0.8
    )
    assert day_total("service_level")[""]["service_level"] == pytest.approx(2 / 3)


def test_per_agent(example):
    by_agent = day_total("answered", "aht", "cases_resolved", "fcr_rate", group_by="agent")
    assert by_agent == {
        "7": {"answered": 1, "aht": 300, "cases_resolved": 1, "fcr_rate": 1.0},
        "8": {"answered": 1, "aht": 200, "cases_resolved": 1, "fcr_rate": 0.0},
    }


def test_breakdowns_and_filters(example):
    by_channel = day_total("contacts_in", "cases_opened", group_by="channel")
    assert by_channel == {
        "email": {"contacts_in": 2, "cases_opened": 2},
        "phone": {"contacts_in": 2, "cases_opened": 1},  # case 2's call and case 4's
        "chat": {"contacts_in": 1, "cases_opened": 1},
    }
    assert day_total("contacts_in", filters={"channel": "chat"}) == {"": {"contacts_in": 1}}
    assert day_total("cases_opened", filters={"segment": "private"}) == {"": {"cases_opened": 4}}


def test_intervals_follow_german_time(example):
    rows = kpis.report(KpiQuery(start=DAY, end=DAY, kpis=("contacts_in",), interval="hour"))
    by_hour = {
        row.period.hour: row.values["contacts_in"] for row in rows if row.values["contacts_in"]
    }
    assert by_hour == {10: 2, 12: 1, 14: 1, 15: 1}  # 09:00 UTC is 10:00 in Berlin
    week = kpis.report(
        KpiQuery(start=DAY, end=date(2026, 11, 30), kpis=("contacts_in",), interval="week")
    )
    assert [(row.period, row.values["contacts_in"]) for row in week] == [(date(2026, 11, 23), 6)]


def test_a_late_contact_takes_back_the_first_contact_resolution(example):
    assert day_total("fcr_rate")[""]["fcr_rate"] == pytest.approx(2 / 3)
    late = _Stream(random.Random(0))
    late.events = list(example)
    late.add(
        at(9, day=27),
        "interaction.recorded",
        "interaction",
        999,
        {"channel": "phone", "direction": "inbound", "case_id": 2},
        ("customer", 1),
    )
    with transaction.atomic():
        aggregation.apply_events([late.events[-1]])
    assert day_total("fcr_rate")[""]["fcr_rate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "query, message",
    [
        (dict(kpis=("nope",)), "unknown KPIs"),
        (dict(kpis=("aht",), interval="year"), "unknown interval"),
        (dict(kpis=("aht",), group_by="colour"), "unknown breakdown"),
        (dict(kpis=("cases_opened",), group_by="agent"), "not available per agent"),
        (dict(kpis=("aht",), interval="15min", end=DAY + timedelta(days=40)), "at most 31 days"),
        (dict(kpis=("aht",), end=DAY - timedelta(days=1)), "ends before it starts"),
        (dict(kpis=("aht",), interval="total", end=DAY + timedelta(days=4000)), "at most 3660"),
    ],
)
def test_bad_queries_are_refused_with_a_reason(query, message):
    query = {"start": DAY, "end": DAY, **query}
    with pytest.raises(InvalidInput, match=message):
        kpis.report(KpiQuery(**query))


def test_handling_time_distribution(example):
    query = KpiQuery(start=DAY, end=DAY, kpis=("aht",))
    # 300 s and 200 s: both in the bin "3–5 minutes" (up to 60, 180, 300, 600, 1200, more).
    assert kpis.handling_time_distribution(query) == [0, 0, 2, 0, 0, 0]
    empty = KpiQuery(start=DAY + timedelta(days=1), end=DAY + timedelta(days=1), kpis=("aht",))
    assert kpis.handling_time_distribution(empty) == []

"""The demo's service history: contacts on every channel over the days, calls and chats
through the router, cases resolved — recorded by the services at the time they happened —
and the figures computed from them at once. Loading it again adds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils.dateparse import parse_datetime

from casework.analytics import aggregation, kpis
from casework.demo import history
from casework.demo.loading import (
    load_generated_customers,
    load_journeys,
    load_processes,
    load_reference_data,
)
from casework.demo.models import DemoHistory
from casework.events.models import ChainHead, Event, OutboxCursor
from casework.events.services import verify_chain
from casework.kernel import clock
from casework.routing.models import AgentStatus, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def reference_data():  # noqa: ANN201
    """The demo's reference data, journeys and a few generated customers (no history)."""
    load_reference_data()
    load_journeys()
    load_processes()
    load_generated_customers(60)


def test_a_week_of_history_is_recorded_as_it_happened_and_counted(reference_data):
    lines: list[str] = []
    contacts = history.load_history(weeks=1, contacts_per_day=20, progress=lines.append)
    assert contacts > 60 and "service history" in lines[-1]
    marker = DemoHistory.objects.get()
    today = clock.localtime(clock.now()).date()
    assert (marker.first_day, marker.last_day) == (today - timedelta(days=7), today - timedelta(1))

    inbound = [
        (payload["channel"], clock.localtime(parse_datetime(payload["occurred_at"])).date())
        for payload in Event.objects.filter(code="interaction.recorded").values_list(
            "payload", flat=True
        )
        if payload["direction"] == "inbound"
        and "demo-history" in (payload.get("external_id") or "")
    ]
    assert len(inbound) == contacts
    assert {channel for channel, _ in inbound} == {"email", "phone", "chat", "portal", "letter"}
    assert len({day for _, day in inbound}) >= 4
    assert all(marker.first_day <= day <= marker.last_day for _, day in inbound)
    # Every call and chat ended (answered or abandoned) and every agent went home.
    assert set(WorkItem.objects.values_list("status", flat=True)) <= {"completed", "withdrawn"}
    assert set(AgentStatus.objects.values_list("presence", flat=True)) == {"offline"}

    # The figures caught up with the whole log and agree with a recomputation.
    head = ChainHead.objects.get(pk=1).last_seq
    assert OutboxCursor.objects.get(name=aggregation.CURSOR_NAME).last_seq == head
    assert aggregation.verify() == []
    assert verify_chain().is_intact
    row = kpis.report(
        kpis.KpiQuery(
            start=marker.first_day,
            end=marker.last_day,
            kpis=("contacts_in", "cases_resolved", "answered", "aht", "abandonment_rate"),
            interval="total",
        )
    )[0]
    assert row.values["contacts_in"] >= contacts
    assert row.values["cases_resolved"] > 0 and row.values["answered"] > 0
    assert 120 <= row.values["aht"] <= 960
    assert row.values["abandonment_rate"] is not None and row.values["abandonment_rate"] < 0.3

    events = Event.objects.count()
    assert history.load_history(weeks=1, contacts_per_day=20, progress=lines.append) == 0
    assert Event.objects.count() == events and DemoHistory.objects.count() == 1
    assert "loaded before" in lines[-1]


def test_the_same_seed_gives_the_same_history(reference_data):
    assert _loaded_and_rolled_back() == _loaded_and_rolled_back()


class _RollBack(Exception):
    pass


def _loaded_and_rolled_back() -> list[tuple[str, str, str]]:
    """When and on which channel each contact of a small history came in."""
    try:
        with transaction.atomic():
            history.load_history(weeks=1, contacts_per_day=8, progress=lambda line: None)
            rows = Event.objects.filter(code="interaction.recorded").order_by("seq")
            contacts = sorted(
                (payload["channel"], payload["direction"], str(clock.localtime(occurred_at)))
                for occurred_at, payload in rows.values_list("occurred_at", "payload")
                if "demo-history" in (payload.get("external_id") or "")
            )
            raise _RollBack
    except _RollBack:
        pass
    assert contacts
    return contacts

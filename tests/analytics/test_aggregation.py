"""The incremental figures equal a full recomputation, whatever order the events come in
and however often; and the worker's consumer keeps them so as the system is used."""

from __future__ import annotations

import random

import pytest
from django.db import transaction

from casework.analytics import aggregation
from casework.analytics.models import CaseJourney
from tests.analytics.streams import random_stream
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def segmented_customers() -> None:
    for pk, segment in ((1, "private"), (2, "business"), (3, "")):
        CustomerFactory(pk=pk, segment=segment)


def _assert_tables_equal_recomputation(events) -> None:  # noqa: ANN001
    expected = aggregation.recompute(events)
    assert expected, "the stream must produce figures"
    for model in aggregation.SUMMARY_TABLES:
        assert aggregation.table_contents(model) == expected.get(model, {}), model.__name__


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_repeated_events_give_the_figures_of_a_full_recomputation(
    seed: int, segmented_customers: None
):
    events = random_stream(seed)
    rng = random.Random(seed)
    delivered = events + rng.sample(events, len(events) // 3)  # a third arrive twice
    rng.shuffle(delivered)
    while delivered:
        size = rng.randrange(1, 60)
        batch, delivered = delivered[:size], delivered[size:]
        with transaction.atomic():
            aggregation.apply_events(batch)

    _assert_tables_equal_recomputation(events)


def test_a_repeated_delivery_writes_nothing(segmented_customers: None):
    events = random_stream(11)
    with transaction.atomic():
        aggregation.apply_events(events)
    with transaction.atomic():
        again = aggregation.apply_events(events)
    assert again.events == len(events)
    assert again.digests_changed == 0 and again.rows_written == 0
    _assert_tables_equal_recomputation(events)


def test_in_order_delivery_one_event_at_a_time(segmented_customers: None):
    events = random_stream(3, cases=20, work_items=10)
    for event in events:
        with transaction.atomic():
            aggregation.apply_events([event])
    _assert_tables_equal_recomputation(events)


def test_journeys_follow_the_inbound_channels(segmented_customers: None):
    from tests.analytics.streams import START, _Stream

    stream = _Stream(random.Random(0))
    stream.add(
        START,
        "case.opened",
        "case",
        5,
        {"case_type": "complaint-goodwill", "queue": "service", "customer_id": 1},
    )
    for minutes, channel in ((1, "email"), (60, "phone"), (120, "email")):
        stream.add(
            START.replace(minute=minutes % 60, hour=START.hour + minutes // 60),
            "interaction.recorded",
            "interaction",
            minutes,
            {"channel": channel, "direction": "inbound", "case_id": 5},
            ("customer", 1),
        )
    with transaction.atomic():
        aggregation.apply_events(reversed(stream.events))
    journey = CaseJourney.objects.get(case_id=5)
    assert (journey.path, journey.contacts_in, journey.channel_switches) == (
        "email>phone>email",
        3,
        2,
    )
    assert (journey.customer_id, journey.segment, journey.case_type) == (
        1,
        "private",
        "complaint-goodwill",
    )

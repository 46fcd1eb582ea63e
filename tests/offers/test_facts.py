"""A customer's facts, read once where one piece of work needs them several times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.offers.facts import facts_of, facts_read_once

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def queries_of(read) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured)


def test_within_the_block_facts_are_read_once_and_outside_every_time(customer):
    outside = queries_of(lambda: facts_of(customer, TODAY))
    assert outside > 0
    assert queries_of(lambda: facts_of(customer, TODAY)) == outside

    with facts_read_once():
        first = facts_of(customer, TODAY)
        assert queries_of(lambda: facts_of(customer, TODAY)) == 0
        assert facts_of(customer, TODAY) is first
        # Another day is other facts (contract.ends_in_days, the customer's age).
        assert queries_of(lambda: facts_of(customer, TODAY + dt.timedelta(days=1))) == outside

    assert queries_of(lambda: facts_of(customer, TODAY)) == outside  # the block has ended

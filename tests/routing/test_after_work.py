"""After-call work ends: the event names the call it belongs to, and the handling time
of the call counts talk, hold and after-call work."""

from __future__ import annotations

import pytest
from django.db import transaction

from casework.analytics import aggregation, kpis
from casework.analytics.kpis import KpiQuery
from casework.events.models import Event
from casework.routing.router import accept_offer, complete_work_item
from tests.routing.conftest import as_agent, call, submit

pytestmark = pytest.mark.django_db


def test_the_wrap_up_belongs_to_the_call_and_counts_in_the_handling_time(
    queue, make_agent, test_clock, run_jobs
):
    agent = make_agent()
    item = submit(call(queue))
    accept_offer(item.pk, actor=as_agent(agent))
    test_clock.advance(120)
    complete_work_item(item.pk, actor=as_agent(agent))
    test_clock.advance(30)  # the phone channel's after-call work
    run_jobs()

    wrap_up = Event.objects.get(code="work_item.wrapped_up")
    assert (wrap_up.object_id, wrap_up.payload["after_work_seconds"]) == (item.pk, 30)
    with transaction.atomic():
        aggregation.catch_up()
    day = test_clock.at.date()
    rows = kpis.report(KpiQuery(start=day, end=day, kpis=("aht",), interval="total"))
    assert rows[0].values["aht"] == 150
    assert rows[0].sums["handle_seconds"] == 150

"""Callbacks with a time window: from the phone menu and the portal, routed when the window
begins, urgent when it ends untaken, done when an outbound call reaches the customer."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.channels.phone import callbacks
from casework.channels.phone.callbacks import NewCallback
from casework.channels.phone.models import Call, CallbackRequest, CallbackStatus, CallOutcome
from casework.events.models import Event
from casework.kernel.errors import Conflict, InvalidInput
from casework.routing import router
from casework.routing.models import WorkItem, WorkItemStatus
from tests.routing.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def _new(queue, **fields) -> NewCallback:  # noqa: ANN001
    values = {"number": "030 23456789", "source": "portal", "queue": queue.code}
    values.update(fields)
    return NewCallback(**values)


def test_a_callback_in_a_later_window_is_routed_when_it_begins(
    phone_queue, helmut, line_agent, test_clock, run_jobs
):  # noqa: ANN001
    anna = line_agent("201")
    start = test_clock.at + dt.timedelta(hours=2)

    callback = callbacks.request_callback(
        _new(phone_queue, window_start=start, window_end=start + dt.timedelta(hours=2)),
        actor=SYSTEM,
    )

    assert callback.customer == helmut and callback.number == "+493023456789"
    assert callback.status == CallbackStatus.SCHEDULED and not WorkItem.objects.exists()
    test_clock.advance(2 * 3600)
    run_jobs()
    callback.refresh_from_db()
    item = callback.work_item
    assert callback.status == CallbackStatus.ROUTED
    assert (item.channel, item.status, item.agent) == ("callback", WorkItemStatus.OFFERED, anna)


class RouterDown(Exception):
    pass


def test_a_callback_whose_routing_failed_is_kept_and_routed_by_its_job(
    phone_queue, helmut, line_agent, run_jobs, monkeypatch
):  # noqa: ANN001
    anna = line_agent("201")

    def down(*args: object, **kwargs: object) -> None:
        raise RouterDown

    with monkeypatch.context() as patched:
        patched.setattr(router, "submit_work_item", down)
        with pytest.raises(RouterDown):
            callbacks.request_callback(_new(phone_queue), actor=SYSTEM)
    callback = CallbackRequest.objects.get()  # stored before the router was asked
    assert callback.status == CallbackStatus.SCHEDULED and not WorkItem.objects.exists()

    run_jobs()

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.ROUTED
    assert (callback.work_item.status, callback.work_item.agent) == (WorkItemStatus.OFFERED, anna)
    run_jobs()  # again: nothing more
    assert WorkItem.objects.count() == 1
    assert Event.objects.filter(code="callback.routed").count() == 1


def test_a_callback_booked_while_the_router_process_is_down_waits_for_its_job(
    phone_queue, helmut, line_agent, run_jobs, router_process_down
):  # noqa: ANN001
    anna = line_agent("201")

    callback = callbacks.request_callback(_new(phone_queue), actor=SYSTEM)  # no error

    assert callback.status == CallbackStatus.SCHEDULED and callback.work_item_id is None
    router_process_down()  # back
    run_jobs()
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.ROUTED and callback.work_item.agent == anna


def test_asking_again_returns_the_open_request(phone_queue, helmut):  # noqa: ANN001
    first = callbacks.request_callback(_new(phone_queue), actor=SYSTEM)
    again = callbacks.request_callback(_new(phone_queue, number="+49 30 23456789"), actor=SYSTEM)

    assert again.pk == first.pk and CallbackRequest.objects.count() == 1
    assert WorkItem.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"number": "12"}, "number"),
        ({"queue": "nope"}, "queue"),
        ({"source": "pigeon"}, "source"),
        ({"window_end_minutes": 10}, "window_end"),
        ({"window_start_days": 20}, "window_start"),
    ],
)
def test_bad_requests_are_refused_precisely(phone_queue, test_clock, fields, field):  # noqa: ANN001
    if "window_end_minutes" in fields:
        fields = {"window_end": test_clock.at + dt.timedelta(minutes=fields["window_end_minutes"])}
    if "window_start_days" in fields:
        start = test_clock.at + dt.timedelta(days=fields["window_start_days"])
        fields = {"window_start": start, "window_end": start + dt.timedelta(hours=1)}
    if fields.get("queue") == "nope":
        new = NewCallback(number="030 23456789", source="portal", queue="nope")
    else:
        new = _new(phone_queue, **fields)

    with pytest.raises(InvalidInput) as raised:
        callbacks.request_callback(new, actor=SYSTEM)

    assert raised.value.details["field"] == field
    assert not CallbackRequest.objects.exists()


def test_a_window_that_ends_untaken_makes_the_callback_urgent(
    phone_queue, helmut, line_agent, test_clock, run_jobs
):  # noqa: ANN001
    line_agent("201", presence="break")
    callback = callbacks.request_callback(_new(phone_queue), actor=SYSTEM)

    test_clock.advance(2 * 3600 + 1)
    run_jobs()

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.ROUTED  # still there, never dropped
    assert callback.work_item.priority == 4
    assert Event.objects.filter(code="callback.window_missed").count() == 1


def test_the_phone_menu_turns_a_waiting_call_into_a_callback(
    post_event, line_agent, helmut, test_clock, run_jobs
):  # noqa: ANN001
    line_agent("201", presence="break")
    post_event("new_call", caller="030 23456789")
    start = (test_clock.at + dt.timedelta(hours=1)).isoformat()
    end = (test_clock.at + dt.timedelta(hours=3)).isoformat()

    answer = post_event("callback_requested", window_start=start, window_end=end).json()
    post_event("hangup", cause="normal")

    assert answer["action"] == "none"
    call = Call.objects.get()
    assert call.outcome == CallOutcome.CALLBACK
    assert WorkItem.objects.get(channel="phone").status == WorkItemStatus.WITHDRAWN
    callback = CallbackRequest.objects.get()
    assert (callback.customer, callback.source, callback.call) == (helmut, "phone_menu", call)
    assert callback.window_start == test_clock.at + dt.timedelta(hours=1)


def test_the_phone_menu_needs_a_number_for_a_withheld_caller(post_event, line_agent):  # noqa: ANN001
    post_event("new_call", caller="anonymous")

    refused = post_event("callback_requested")
    accepted = post_event("callback_requested", callback_number="0171 5550000", event_id="x2")

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "callback_number"
    assert accepted.status_code == 200
    assert CallbackRequest.objects.get().number == "+491715550000"


def test_the_outbound_call_that_reaches_the_customer_completes_the_callback(
    post_event, phone_queue, helmut, line_agent
):  # noqa: ANN001
    line_agent("201")
    callback = callbacks.request_callback(_new(phone_queue), actor=SYSTEM)
    from casework.routing.router import accept_offer
    from tests.routing.conftest import as_agent

    anna = callback.work_item.agent
    accept_offer(callback.work_item_id, actor=as_agent(anna))

    post_event("new_call", call_id="o1", direction="outbound", called="030 23456789", agent="201")
    post_event("answered", call_id="o1", direction="outbound")
    post_event("hangup", call_id="o1", direction="outbound")

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.DONE
    assert Event.objects.filter(code="callback.completed").count() == 1


def test_a_cancelled_callback_leaves_the_router(phone_queue, helmut, line_agent):  # noqa: ANN001
    line_agent("201", presence="break")
    callback = callbacks.request_callback(_new(phone_queue), actor=SYSTEM)

    callbacks.cancel_callback(callback.pk, actor=SYSTEM, customer_id=helmut.pk)

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.CANCELLED
    assert callback.work_item.status == WorkItemStatus.WITHDRAWN
    with pytest.raises(Conflict):
        callbacks.cancel_callback(callback.pk, actor=SYSTEM)


def test_the_agent_who_took_a_callback_sees_whom_to_call_in_the_bar(
    phone_queue, helmut, line_agent
):  # noqa: ANN001
    from django.test import Client

    from casework.routing.router import accept_offer
    from tests.routing.conftest import as_agent

    anna = line_agent("201")
    callback = callbacks.request_callback(_new(phone_queue, note="Frage zum Tarif"), actor=SYSTEM)
    accept_offer(callback.work_item_id, actor=as_agent(anna))
    desk = Client()
    desk.force_login(anna.user)

    bar = desk.get("/phone/bar/").content.decode()

    assert "Call back" in bar and "Helmut Berger" in bar
    assert "030 23456789" in bar and "Frage zum Tarif" in bar

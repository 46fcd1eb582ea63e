"""A call is stored before the router is asked, and the router's answer is recorded after
(docs/adr/0013). Whatever fails in between — the router, or the process before it could
record the answer — the next delivery of the event, or the call's next event, asks again:
no call is lost, no work item is made twice, and no agent stays held."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from casework.channels.phone import services
from casework.channels.phone.models import Call, CallEvent, CallOutcome, CallState
from casework.events.models import Event
from casework.events.services import recording_transaction
from casework.routing import router
from casework.routing.models import AgentStatus, WorkItem, WorkItemStatus

pytestmark = pytest.mark.django_db


class Crashed(Exception):
    """The process stopped here."""


def _crash(*args: object, **kwargs: object) -> None:
    raise Crashed


def _without_rollback(apply: Callable[..., Any], *args: Any) -> Any:
    """`services._in_transaction` whose work stays when it fails: as a router in a process
    of its own keeps what it decided whatever becomes of the caller's transaction."""
    with recording_transaction():
        try:
            return apply(*args)
        except Crashed as crashed:
            stopped = crashed
    raise stopped


@contextmanager
def _router_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The block fails when the channel asks the router."""
    with monkeypatch.context() as patched:
        patched.setattr(router, "submit_work_item", _crash)
        with pytest.raises(Crashed):
            yield


@contextmanager
def _answer_lost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The router decides (and, as a router process would, keeps its decision), then the
    channel's process stops before it records the answer."""
    with monkeypatch.context() as patched:
        patched.setattr(services, "_follow", _crash)
        patched.setattr(services, "_in_transaction", _without_rollback)
        with pytest.raises(Crashed):
            yield


def test_a_call_the_router_never_answered_is_routed_by_the_repeated_delivery(
    post_event, line_agent, helmut, monkeypatch
):  # noqa: ANN001
    anna = line_agent("201")
    with _router_down(monkeypatch):
        post_event("new_call", caller="030 23456789", event_id="e-1")

    call = Call.objects.get()  # stored, with what it asks of the router
    assert call.customer == helmut and call.route_request["item"]["external_id"] == (
        f"call-{call.pk}"
    )
    assert not WorkItem.objects.exists() and not CallEvent.objects.exists()

    answer = post_event("new_call", caller="030 23456789", event_id="e-1").json()

    assert answer["action"] == "connect" and answer["agent"]["extension"] == "201"
    assert answer["repeated"] is False  # the first answer this event gets
    call.refresh_from_db()
    assert call.route_request is None
    assert (call.state, call.agent) == (CallState.RINGING, anna)
    assert WorkItem.objects.get().status == WorkItemStatus.OFFERED
    assert CallEvent.objects.get().result == "applied"
    assert Event.objects.filter(code="call.started").count() == 1


def test_an_answer_the_channel_could_not_record_is_asked_for_again_not_doubled(
    post_event, line_agent, helmut, monkeypatch
):  # noqa: ANN001
    line_agent("201")
    with _answer_lost(monkeypatch):
        post_event("new_call", caller="030 23456789", event_id="e-1")
    item = WorkItem.objects.get()
    assert item.status == WorkItemStatus.OFFERED
    assert Call.objects.get().route_request is not None

    answer = post_event("new_call", caller="030 23456789", event_id="e-1").json()
    again = post_event("new_call", caller="030 23456789", event_id="e-1").json()

    assert answer["agent"]["extension"] == "201" and again["repeated"] is True
    assert WorkItem.objects.get().pk == item.pk  # the same item, found by its external id
    assert Call.objects.get().work_item == item


def test_a_hangup_after_a_lost_answer_routes_first_then_frees_everybody(
    post_event, line_agent, helmut, monkeypatch
):  # noqa: ANN001
    anna = line_agent("201")
    with _answer_lost(monkeypatch):
        post_event("new_call", caller="030 23456789")
    assert AgentStatus.objects.get(agent=anna).used_units > 0  # offered: held for the call

    answer = post_event("hangup", cause="cancel").json()

    call = Call.objects.get()
    assert answer["action"] == "none"
    assert (call.state, call.outcome, call.route_request) == (
        CallState.ENDED,
        CallOutcome.ABANDONED,
        None,
    )
    assert WorkItem.objects.get().status == WorkItemStatus.WITHDRAWN
    assert AgentStatus.objects.get(agent=anna).used_units == 0


def test_a_transfer_whose_answer_was_lost_is_made_once(post_event, line_agent, helmut, monkeypatch):  # noqa: ANN001
    line_agent("201")
    line_agent("202")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    with _router_down(monkeypatch):
        post_event("transferred", agent="202", event_id="t-1")
    assert Call.objects.get().route_request["then"] == "transfer"

    answer = post_event("transferred", agent="202", event_id="t-1").json()

    assert answer["action"] == "connect" and answer["agent"]["extension"] == "202"
    call = Call.objects.get()
    assert call.transfers == 1 and call.route_request is None
    assert [i.status for i in WorkItem.objects.order_by("pk")] == ["completed", "offered"]
    transferred = Event.objects.get(code="call.transferred")
    assert transferred.payload["to_agent_id"] == call.agent_id
    assert CallEvent.objects.get(dedupe_key__contains="t-1").result == "applied"


def test_a_telephone_system_that_asks_again_gets_the_call_routed(
    post_event, poll_call, line_agent, helmut, monkeypatch
):  # noqa: ANN001
    line_agent("201")
    with _router_down(monkeypatch):
        post_event("new_call", caller="030 23456789", call_id="c7")

    answer = poll_call("c7").json()

    assert answer["action"] == "connect" and answer["agent"]["extension"] == "201"
    assert Call.objects.get().route_request is None
    assert WorkItem.objects.get().status == WorkItemStatus.OFFERED

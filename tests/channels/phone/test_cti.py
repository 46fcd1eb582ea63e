"""Call events in Casework's own format, through the HTTP endpoint the telephone system
posts to: recognising the caller, routing, the call's times, and every kind of bad or
unusual input (unsigned, replayed, malformed, twice, out of order, unknown agents)."""

from __future__ import annotations

import json
import time

import pytest

from casework.channels.phone.models import Call, CallEvent, CallOutcome, CallState, Hotline
from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.routing.models import AgentStatus, Offer, WorkItem, WorkItemStatus
from tests.channels.phone.conftest import SECRET, signed_headers
from tests.factories import SkillFactory

pytestmark = pytest.mark.django_db


def _status(agent) -> AgentStatus:  # noqa: ANN001
    return AgentStatus.objects.get(agent=agent)


def test_a_known_caller_is_recognised_and_connected_to_an_agent(post_event, line_agent, helmut):  # noqa: ANN001
    anna = line_agent("201")

    response = post_event("new_call", caller="+49 30 2345 6789", called="+49 800 1234567")

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["action"] == "connect"
    assert answer["agent"]["extension"] == "201"
    assert answer["agent"]["username"] == anna.user.username
    assert answer["customer"]["id"] == helmut.pk
    call = Call.objects.get()
    assert (call.state, call.agent, call.customer) == (CallState.RINGING, anna, helmut)
    assert call.interaction.channel == "phone" and call.interaction.customer == helmut
    item = WorkItem.objects.get()
    assert (item.status, item.agent, item.customer) == (WorkItemStatus.OFFERED, anna, helmut)
    assert Event.objects.filter(code="call.started").count() == 1


@pytest.mark.parametrize(
    "spelling", ["030 2345 6789", "0049 30 23456789", "493023456789", "+49 (0)30 2345 6789"]
)
def test_german_number_spellings_find_the_same_customer(post_event, helmut, spelling):  # noqa: ANN001
    post_event("new_call", caller=spelling)

    assert Call.objects.get().customer == helmut


def test_a_withheld_number_is_routed_as_a_new_caller(post_event, line_agent):  # noqa: ANN001
    line_agent("201")

    answer = post_event("new_call", caller="anonymous").json()

    call = Call.objects.get()
    assert call.is_withheld and call.remote_number == "" and call.customer is None
    assert answer["action"] == "connect" and answer["customer"] is None
    # Written in the callers' language (the connection's).
    assert call.interaction.subject == "Anruf mit unterdrückter Rufnummer"


def test_answer_and_hangup_keep_the_call_times_and_free_the_agent(
    post_event, line_agent, helmut, test_clock
):  # noqa: ANN001
    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")
    test_clock.advance(6)
    post_event("answered", agent="201")

    call = Call.objects.get()
    assert call.state == CallState.ANSWERED and call.wait_seconds == 6
    assert WorkItem.objects.get().status == WorkItemStatus.ACCEPTED
    assert _status(anna).presence_id == "busy"

    test_clock.advance(30)
    post_event("hold")
    test_clock.advance(20)
    post_event("resumed")
    test_clock.advance(100)
    response = post_event("hangup", cause="normal")

    assert response.status_code == 200
    call.refresh_from_db()
    assert (call.state, call.outcome, call.hangup_cause) == (
        CallState.ENDED,
        CallOutcome.ANSWERED,
        "normal",
    )
    assert call.hold_seconds == 20 and call.talk_seconds == 130
    item = WorkItem.objects.get()
    assert item.status == WorkItemStatus.COMPLETED
    status = _status(anna)
    assert status.used_units == 0 and status.presence_id == "after_call_work"
    times = Interaction.objects.get().payload
    assert times["wait_seconds"] == 6 and times["talk_seconds"] == 130
    assert times["hold_seconds"] == 20 and times["outcome"] == "answered"


def test_nobody_free_queues_the_call_and_the_system_asks_again(
    post_event, poll_call, line_agent, helmut
):  # noqa: ANN001
    anna = line_agent("201", presence="break")

    answer = post_event("new_call", caller="030 23456789").json()

    assert answer["action"] == "queue" and answer["agent"] is None
    assert Call.objects.get().state == CallState.WAITING

    from casework.routing.presence import set_presence
    from tests.routing.conftest import SYSTEM

    set_presence(anna.pk, "available", actor=SYSTEM)

    later = poll_call("c1").json()
    assert later["action"] == "connect" and later["agent"]["extension"] == "201"


def test_an_offer_that_rings_out_moves_on_even_when_its_process_died(
    post_event, poll_call, line_agent, helmut, test_clock, run_jobs
):  # noqa: ANN001
    """The offer's expiry is a job in the database: whichever worker runs it moves the call
    on, so an offer held by a process that died does not hold the caller."""
    anna = line_agent("201")
    ben = line_agent("202")
    first = post_event("new_call", caller="0171 0000000").json()
    assert first["agent"]["extension"] == "201"

    test_clock.advance(25)  # phone offers last 20 s
    run_jobs()

    now = poll_call("c1").json()
    assert now["agent"]["extension"] == "202"
    assert _status(anna).presence_id == "not_responding"
    assert Offer.objects.filter(agent=ben, status="pending").exists()


def test_a_repeated_delivery_changes_nothing_and_gets_the_same_answer(
    post_event, line_agent, helmut
):  # noqa: ANN001
    line_agent("201")

    first = post_event("new_call", caller="030 23456789", event_id="e-1").json()
    again = post_event("new_call", caller="030 23456789", event_id="e-1").json()
    other_id = post_event("new_call", caller="030 23456789", event_id="e-2").json()

    assert again["repeated"] is True and again["agent"] == first["agent"]
    assert other_id["call"] == first["call"]
    assert Call.objects.count() == 1 and WorkItem.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert CallEvent.objects.count() == 2  # the second new-call for the call is kept, ignored
    assert "ignored" in CallEvent.objects.order_by("pk").last().result


def test_hangup_before_answer_is_abandoned_and_a_late_answer_is_ignored(
    post_event, line_agent, helmut
):  # noqa: ANN001
    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")

    post_event("hangup", cause="cancel")
    late = post_event("answered", agent="201")

    assert late.status_code == 200 and late.json()["state"] == "ended"
    call = Call.objects.get()
    assert call.outcome == CallOutcome.ABANDONED and call.answered_at is None
    assert WorkItem.objects.get().status == WorkItemStatus.WITHDRAWN
    status = _status(anna)
    assert status.used_units == 0 and status.presence_id == "available"
    assert "ended" in CallEvent.objects.get(kind="answered").result


def test_events_of_a_call_whose_start_was_lost_still_count(post_event, line_agent, helmut):  # noqa: ANN001
    anna = line_agent("201")

    post_event("answered", call_id="lost-1", caller="030 23456789", agent="201")
    post_event("hangup", call_id="lost-1", caller="030 23456789")

    call = Call.objects.get()
    assert call.customer == helmut and call.agent == anna
    assert call.outcome == CallOutcome.ANSWERED and call.ended_at is not None
    assert "new-call event was not received" in CallEvent.objects.order_by("pk").first().result


def test_an_unknown_agent_answering_is_reported_and_frees_the_router(
    post_event, line_agent, helmut
):  # noqa: ANN001
    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")

    answer = post_event("answered", agent="999").json()

    assert "999" in answer["warning"]
    call = Call.objects.get()
    assert call.state == CallState.ANSWERED and call.agent is None
    assert WorkItem.objects.get().status == WorkItemStatus.WITHDRAWN
    assert _status(anna).used_units == 0
    post_event("hangup")
    assert Call.objects.get().state == CallState.ENDED


def test_a_colleague_who_picks_up_instead_gets_the_call(post_event, line_agent, helmut):  # noqa: ANN001
    anna = line_agent("201")
    ben = line_agent("202")
    post_event("new_call", caller="030 23456789")

    post_event("answered", agent="202")

    item = WorkItem.objects.get()
    assert (item.status, item.agent) == (WorkItemStatus.ACCEPTED, ben)
    assert _status(anna).used_units == 0 and _status(ben).used_units == 100
    assert Call.objects.get().agent == ben


def test_transfer_to_a_colleague_keeps_one_call_and_its_history(
    post_event, line_agent, helmut, test_clock
):  # noqa: ANN001
    anna = line_agent("201")
    ben = line_agent("202")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    test_clock.advance(60)

    answer = post_event("transferred", agent="202").json()

    assert answer["action"] == "connect" and answer["agent"]["extension"] == "202"
    assert _status(anna).presence_id == "after_call_work"
    test_clock.advance(5)
    post_event("answered", agent="202")
    test_clock.advance(60)
    post_event("hangup")

    call = Call.objects.get()
    assert call.transfers == 1 and call.agent == ben
    assert call.talk_seconds == 125
    assert Interaction.objects.count() == 1
    assert [i.status for i in WorkItem.objects.order_by("pk")] == ["completed", "completed"]
    assert Event.objects.filter(code="call.transferred").count() == 1


def test_transfer_to_an_unknown_line_is_refused_and_the_call_stays(post_event, line_agent, helmut):  # noqa: ANN001
    line_agent("201")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")

    response = post_event("transferred", agent="777")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "agent"
    assert Call.objects.get().state == CallState.ANSWERED
    assert not CallEvent.objects.filter(kind="transferred").exists()


def test_a_hotline_names_language_queue_and_topic(post_event, line_agent, connection, phone_queue):  # noqa: ANN001
    tariffs = SkillFactory(code="tariffs")
    Hotline.objects.create(
        connection=connection, number="+498001234567", name="Tarife", topic=tariffs, priority=4
    )
    line_agent("201")

    post_event("new_call", caller="0171 0000000", called="0800 1234567")

    item = WorkItem.objects.get()
    assert item.priority == 4
    assert item.requirements["desired"] == [[tariffs.pk, 6]]
    assert Call.objects.get().hotline.name == "Tarife"


def test_a_call_nobody_reports_ended_is_closed_after_hours(
    post_event, line_agent, helmut, test_clock, run_jobs
):  # noqa: ANN001
    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")

    test_clock.advance(4 * 3600 + 1)
    run_jobs()

    call = Call.objects.get()
    assert call.state == CallState.ENDED and call.outcome == CallOutcome.LOST
    assert _status(anna).used_units == 0


# --- Authentication and malformed requests ---


def _post_raw(client, body: bytes, headers: dict[str, str], code: str = "pbx"):  # noqa: ANN001, ANN202
    return client.post(
        f"/api/v1/cti/generic/{code}/events",
        data=body,
        content_type="application/json",
        **headers,
    )


BODY = json.dumps({"event": "new_call", "call_id": "x", "caller": "030 1234567"}).encode()


def test_unsigned_forged_and_replayed_requests_are_refused(client, connection):  # noqa: ANN001
    unsigned = _post_raw(client, BODY, {})
    forged = _post_raw(client, BODY, signed_headers(BODY, secret="guess"))
    replayed = _post_raw(client, BODY, signed_headers(BODY, at=int(time.time()) - 3600))
    other_body = _post_raw(client, BODY + b" ", signed_headers(BODY))
    unknown = _post_raw(client, BODY, signed_headers(BODY), code="nope")

    for response in (unsigned, forged, replayed, other_body, unknown):
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "unauthenticated"
    assert "replay" in replayed.json()["detail"]
    assert not Call.objects.exists() and not CallEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"event": "explode", "call_id": "x"}', "event"),
        (b'{"event": "new_call"}', "call_id"),
        (b'{"event": "new_call", "call_id": "x", "direction": "sideways"}', "direction"),
        (b'{"event": "new_call", "call_id": "x", "occurred_at": "yesterday"}', "occurred_at"),
        (b'{"event": "new_call", "call_id": "x", "caller": {"a": 1}}', "caller"),
        (b'{"event": "transferred", "call_id": "x"}', "agent"),
    ],
)
def test_malformed_events_are_refused_precisely(client, connection, body, field):  # noqa: ANN001
    response = _post_raw(client, body, signed_headers(body))

    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not Call.objects.exists()


def test_the_secret_is_stored_encrypted(connection):  # noqa: ANN001
    connection.refresh_from_db()
    assert SECRET not in connection.secret


def test_a_ringing_call_is_an_offer_in_flight_on_the_wallboard(
    post_event, line_agent, helmut, phone_queue, test_clock
):  # noqa: ANN001
    from casework.analytics import live

    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")
    test_clock.advance(5)

    board = live.wallboard()

    queue = next(queue for queue in board.queues if queue.code == phone_queue.code)
    assert (queue.offered, queue.waiting) == (1, 0)
    [offer] = board.offers
    assert (offer.channel, offer.agent) == ("phone", anna.display_name)
    assert (offer.offered_for_seconds, offer.expires_in_seconds) == (5, 15)


def test_an_agent_who_leaves_after_the_call_is_freed_by_the_after_work_timer(
    post_event, line_agent, helmut, test_clock, run_jobs
):  # noqa: ANN001
    """The browser closed mid-call: the call goes on at the telephone, its end still frees
    the agent — after-call work ends by its timer without a wrap-up."""
    anna = line_agent("201")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    post_event("hangup")
    assert _status(anna).presence_id == "after_call_work"

    test_clock.advance(31)  # the phone channel's after-call work: 30 s
    run_jobs()

    assert _status(anna).presence_id == "available" and _status(anna).used_units == 0
    assert Call.objects.get().wrapped_at is None

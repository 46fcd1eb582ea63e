"""sipgate.io push events and Zammad-compatible generic CTI: their field names, their
answers, the token in the URL; outbound calls closing callbacks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from casework.channels.phone.models import Call, CallDirection, CallOutcome, CallState
from casework.events.models import Event
from casework.routing.models import WorkItem, WorkItemStatus
from casework.routing.router import NewWorkItem, accept_offer, submit_work_item
from tests.channels.phone.conftest import form
from tests.factories import CaseFactory
from tests.routing.conftest import SYSTEM, as_agent

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def test_sipgate_new_call_is_answered_with_the_agents_line(
    client, provider_connection, line_agent, helmut
):  # noqa: ANN001
    provider_connection("sipgate")
    line_agent("w3")
    url = "/api/v1/cti/sipgate/sipgate/token-sipgate"

    response = client.post(
        url,
        data=form(
            {
                "event": "newCall",
                "from": "493023456789",
                "to": "4980012345",
                "direction": "in",
                "callId": "A1B2",
                "user[]": ["Service"],
                "userId[]": ["g0"],
            }
        ),
        content_type=FORM,
    )

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    assert root.get("onAnswer", "").endswith(url) and root.get("onHangup") == root.get("onAnswer")
    assert root.find("Dial/Number").text == "w3"
    assert Call.objects.get().customer == helmut

    client.post(
        url,
        data=form(
            {
                "event": "answer",
                "callId": "A1B2",
                "userId": "w3",
                "user": "Anna",
                "direction": "in",
                "from": "493023456789",
                "to": "4980012345",
            }
        ),
        content_type=FORM,
    )
    client.post(
        url,
        data=form(
            {
                "event": "hangup",
                "callId": "A1B2",
                "cause": "normalClearing",
                "direction": "in",
                "from": "493023456789",
                "to": "4980012345",
            }
        ),
        content_type=FORM,
    )
    call = Call.objects.get()
    assert (call.outcome, call.hangup_cause) == (CallOutcome.ANSWERED, "normal")


def test_sipgate_queued_call_gets_no_dial_and_dtmf_is_kept_but_ignored(
    client, provider_connection, helmut
):  # noqa: ANN001
    provider_connection("sipgate")
    url = "/api/v1/cti/sipgate/sipgate/token-sipgate"
    fields = {
        "event": "newCall",
        "from": "493023456789",
        "to": "4980012345",
        "direction": "in",
        "callId": "Q1",
    }

    queued = client.post(url, data=form(fields), content_type=FORM)
    dtmf = client.post(
        url, data=form({"event": "dtmf", "callId": "Q1", "dtmf": "1"}), content_type=FORM
    )

    assert ET.fromstring(queued.content).find("Dial") is None
    assert dtmf.status_code == 200
    assert Call.objects.get().state == CallState.WAITING


SIPGATE_URL = "/api/v1/cti/sipgate/sipgate/token-sipgate"
HELMUT_CALLS = {"from": "493023456789", "to": "4980012345", "direction": "in"}


def _sipgate(client, **fields):  # noqa: ANN001, ANN202
    return client.post(SIPGATE_URL, data=form({**HELMUT_CALLS, **fields}), content_type=FORM)


@pytest.fixture
def helmut_talks_to_anna(client, provider_connection, line_agent, helmut):  # noqa: ANN001, ANN201
    """Helmut's call (callId A1) rings at Anna (w3), who answers; Bernd (w4) is free."""
    provider_connection("sipgate")
    anna, bernd = line_agent("w3"), line_agent("w4")
    case = CaseFactory(customer=helmut)
    _sipgate(client, event="newCall", callId="A1", origCallId="A1")
    Call.objects.filter(provider_call_id="A1").update(case=case)
    _sipgate(client, event="answer", callId="A1", userId="w3", user="Anna")
    return anna, bernd, case


def test_sipgate_transfer_to_a_colleague_continues_the_call(client, helmut_talks_to_anna):  # noqa: ANN001
    anna, bernd, case = helmut_talks_to_anna

    response = _sipgate(
        client, event="newCall", callId="B2", origCallId="A1", **{"userId[]": ["w4"]}
    )

    assert ET.fromstring(response.content).find("Dial/Number").text == "w4"
    first, second = Call.objects.get(provider_call_id="A1"), Call.objects.get(provider_call_id="B2")
    assert second.transferred_from == first and second.case == case
    assert second.customer == first.customer and second.interaction.case == case
    assert (second.state, second.agent) == (CallState.RINGING, bernd)
    assert first.transfers == 1
    transferred = Event.objects.get(code="call.transferred")
    assert transferred.object_id == first.pk
    assert transferred.payload["to_call_id"] == second.pk
    assert transferred.payload["from_agent_id"] == anna.pk

    # Anna's leg ends; Bernd's is answered and ends: two answered calls on the one case.
    _sipgate(client, event="hangup", callId="A1", cause="normalClearing")
    _sipgate(client, event="answer", callId="B2", userId="w4", user="Bernd")
    _sipgate(client, event="hangup", callId="B2", cause="normalClearing")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outcome == second.outcome == CallOutcome.ANSWERED
    assert (first.agent, second.agent) == (anna, bernd)


def test_a_sipgate_transfer_without_a_named_colleague_does_not_wait_for_the_first_agent(
    client, helmut_talks_to_anna
):  # noqa: ANN001
    """Helmut's last agent is Anna: affinity would hold the transferred call for her while
    she is still on the first leg. A transfer is a hand-over away from her."""
    _anna, bernd, _case = helmut_talks_to_anna

    response = _sipgate(client, event="newCall", callId="B2", origCallId="A1")

    assert ET.fromstring(response.content).find("Dial/Number").text == "w4"
    assert Call.objects.get(provider_call_id="B2").agent == bernd
    assert (
        not WorkItem.objects.get(external_id=f"call-{Call.objects.get(provider_call_id='B2').pk}")
        .offers.filter(is_affinity=True)
        .exists()
    )


def test_a_new_call_naming_an_unknown_original_is_an_ordinary_call(
    client, provider_connection, line_agent, helmut
):  # noqa: ANN001
    provider_connection("sipgate")
    line_agent("w3")

    _sipgate(client, event="newCall", callId="C3", origCallId="gone")

    call = Call.objects.get()
    assert call.transferred_from is None and call.customer == helmut
    assert call.state == CallState.RINGING


def test_sipgate_wrong_token_is_refused(client, provider_connection):  # noqa: ANN001
    provider_connection("sipgate")
    response = client.post(
        "/api/v1/cti/sipgate/sipgate/wrong",
        data=form({"event": "newCall", "callId": "1", "direction": "in", "from": "1"}),
        content_type=FORM,
    )
    assert response.status_code == 401
    assert not Call.objects.exists()


def test_a_provider_event_without_direction_is_refused(client, provider_connection):  # noqa: ANN001
    provider_connection("zammad")
    response = client.post(
        "/api/v1/cti/zammad/zammad/token-zammad",
        data=form({"event": "newCall", "callId": "1", "from": "030 1234567"}),
        content_type=FORM,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "direction"


def test_zammad_json_events_with_user_arrays(client, provider_connection, line_agent, helmut):  # noqa: ANN001
    provider_connection("zammad")
    anna = line_agent("anna@example.de")
    url = "/api/v1/cti/zammad/zammad/token-zammad"

    def post(payload: dict):  # noqa: ANN202
        return client.post(url, data=json.dumps(payload), content_type="application/json")

    first = post(
        {
            "event": "newCall",
            "from": "4930 23456789",
            "to": "49800123",
            "direction": "in",
            "callId": "z-1",
            "user": ["Service"],
        }
    ).json()
    post(
        {
            "event": "answer",
            "from": "4930 23456789",
            "to": "49800123",
            "direction": "in",
            "callId": "z-1",
            "answeringNumber": "anna@example.de",
        }
    )
    post(
        {
            "event": "hangup",
            "from": "4930 23456789",
            "to": "49800123",
            "direction": "in",
            "callId": "z-1",
            "cause": "normalClearing",
            "answeringNumber": "anna@example.de",
        }
    )

    assert first["action"] == "connect" and first["agent"]["id"] == anna.pk
    call = Call.objects.get()
    assert call.agent == anna and call.outcome == CallOutcome.ANSWERED


def test_an_outbound_call_that_reaches_the_customer_closes_their_callback(
    post_event, line_agent, helmut, phone_queue
):  # noqa: ANN001
    anna = line_agent("201")
    callback = submit_work_item(
        NewWorkItem(channel="callback", customer_id=helmut.pk, queue=phone_queue.code),
        actor=SYSTEM,
    )
    accept_offer(callback.pk, actor=as_agent(anna))

    post_event(
        "new_call",
        call_id="out-1",
        direction="outbound",
        caller="+49800",
        called="030 23456789",
        agent="201",
    )
    unreached = WorkItem.objects.get(pk=callback.pk).status
    post_event("answered", call_id="out-1", direction="outbound")
    post_event("hangup", call_id="out-1", direction="outbound")

    call = Call.objects.get()
    assert call.direction == CallDirection.OUTBOUND and call.customer == helmut
    assert call.work_item_id == callback.pk and call.outcome == CallOutcome.ANSWERED
    assert unreached == WorkItemStatus.ACCEPTED
    assert WorkItem.objects.get(pk=callback.pk).status == WorkItemStatus.COMPLETED


def test_an_outbound_call_nobody_answers_leaves_the_callback_open(
    post_event, line_agent, helmut, phone_queue
):  # noqa: ANN001
    anna = line_agent("201")
    callback = submit_work_item(
        NewWorkItem(channel="callback", customer_id=helmut.pk, queue=phone_queue.code),
        actor=SYSTEM,
    )
    accept_offer(callback.pk, actor=as_agent(anna))

    post_event(
        "new_call", call_id="out-2", direction="outbound", called="030 23456789", agent="201"
    )
    post_event("hangup", call_id="out-2", direction="outbound", cause="no_answer")

    assert Call.objects.get().outcome == CallOutcome.NOT_REACHED
    assert WorkItem.objects.get(pk=callback.pk).status == WorkItemStatus.ACCEPTED

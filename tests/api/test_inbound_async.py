"""`POST /api/v1/inbound` with `Prefer: respond-async`, and `GET /api/v1/inbound/{id}`."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from casework.api.inbound import prefers_async
from casework.api.tokens import create_token
from casework.cases.models import Case
from casework.events.models import Event
from casework.intake import queue
from casework.intake.models import QueuedMessage
from casework.interactions.models import Interaction
from tests.factories import CaseFactory, IdentifierFactory, UserFactory

# The queue has a database of its own on SQLite (`intake.dbrouter`).
pytestmark = pytest.mark.django_db(databases="__all__")

INBOUND = {
    "channel": "email",
    "external_id": "<abc@example.de>",
    "sender": [{"kind": "email", "value": "Helmut.Berger@Example.de"}],
    "sender_name": "Helmut Berger",
    "subject": "Rechnung Oktober",
    "text": "Die Rechnung ist zu hoch.",
}
ASYNC = {"Prefer": "respond-async"}


def post(api, body, headers=None):  # noqa: ANN001, ANN201
    return api.client.post(
        "/api/v1/inbound",
        json.dumps(body),
        content_type="application/json",
        headers={**api.headers, **(headers if headers is not None else ASYNC)},
    )


def test_respond_async_stores_the_message_and_answers_202_with_its_status_url(api):
    response = post(api, INBOUND)

    assert response.status_code == 202, response.content
    entry = QueuedMessage.objects.get()
    assert response.json() == {
        "id": entry.pk,
        "status": "queued",
        "status_url": f"/api/v1/inbound/{entry.pk}",
    }
    assert response["Preference-Applied"] == "respond-async"
    assert response["Location"] == f"/api/v1/inbound/{entry.pk}"
    assert not Case.objects.exists() and not Interaction.objects.exists()
    assert not Event.objects.exists()


def test_the_status_tells_the_outcome_once_the_worker_has_ingested_it(api):
    entry_id = post(api, INBOUND).json()["id"]
    waiting = api.get(f"/inbound/{entry_id}")
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "queued" and waiting.json()["case_id"] is None

    queue.run_once()

    done = api.get(f"/inbound/{entry_id}").json()
    case = Case.objects.get()
    assert done["status"] == "ingested"
    assert (done["case_id"], done["case_reference"]) == (case.pk, case.reference)
    assert done["interaction_id"] == Interaction.objects.get().pk
    assert done["is_duplicate"] is False and done["error"] is None
    assert done["external_id"] == INBOUND["external_id"] and done["attempts"] == 1


def test_a_repeated_external_id_answers_the_first_entry_with_200(api):
    first = post(api, INBOUND)
    again = post(api, {**INBOUND, "text": "noch einmal"})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Preference-Applied"] == "respond-async"
    assert QueuedMessage.objects.count() == 1

    queue.run_once()
    third = post(api, INBOUND)

    assert third.status_code == 200 and third.json()["status"] == "ingested"
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**INBOUND, "channel": "pigeon"}, 422, "channel"),
        ({**INBOUND, "sender": [{"kind": "phone", "value": "12"}]}, 422, "sender.0"),
        ({**INBOUND, "external_id": ""}, 422, "external_id"),
        ({**INBOUND, "received_at": "yesterday"}, 422, "received_at"),
        ({**INBOUND, "channel": "phone"}, 422, "channel"),  # no case type for phone calls
        ({**INBOUND, "customer_id": 999999}, 404, "customer_id"),
        ({**INBOUND, "case_id": 999999}, 404, "case_id"),
    ],
)
def test_what_could_not_be_ingested_is_refused_and_not_stored(api, body, status, field):
    response = post(api, body)

    assert response.status_code == status
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not QueuedMessage.objects.exists()


def test_a_failed_message_shows_its_reason(api):
    IdentifierFactory(kind="email", value="helmut.berger@example.de")
    foreign = CaseFactory()
    entry_id = post(api, {**INBOUND, "case_id": foreign.pk}).json()["id"]

    queue.run_once()

    failed = api.get(f"/inbound/{entry_id}").json()
    assert failed["status"] == "failed" and failed["case_id"] is None
    assert failed["error"]["code"] == "invalid_input"
    assert failed["error"]["errors"][0]["field"] == "case_id"


def test_without_the_preference_the_answer_is_synchronous_as_before(api):
    response = post(api, INBOUND, headers={"Prefer": "return=minimal"})

    assert response.status_code == 201
    assert response.json()["case"]["reference"] == Case.objects.get().reference
    assert "Preference-Applied" not in response
    assert not QueuedMessage.objects.exists()


def test_unknown_status_ids_are_404(api):
    assert api.get("/inbound/999999").status_code == 404


def test_only_agents_may_queue_messages_or_read_their_status(api):
    entry_id = post(api, INBOUND).json()["id"]
    # A valid token of a user who is not an agent: not allowed to use the API.
    outsider = create_token(UserFactory(username="not-an-agent").username)
    headers = {"Authorization": f"Bearer {outsider}", **ASYNC}

    posted = Client().post(
        "/api/v1/inbound",
        json.dumps({**INBOUND, "external_id": "<other@example.de>"}),
        content_type="application/json",
        headers=headers,
    )
    status = Client().get(f"/api/v1/inbound/{entry_id}", headers=headers)
    anonymous = Client().get(f"/api/v1/inbound/{entry_id}")

    assert (posted.status_code, status.status_code, anonymous.status_code) == (401, 401, 401)
    assert QueuedMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("respond-async", True),
        ("Respond-Async", True),
        ("wait=10, respond-async", True),
        ("respond-async; foo=bar", True),
        ("return=minimal", False),
        ("", False),
        ("respond-asynchronously", False),
    ],
)
def test_the_prefer_header_is_read_as_rfc_7240_says(header, wanted):
    assert prefers_async(header) is wanted


def test_the_openapi_schema_documents_the_async_mode(api):
    schema = api.client.get("/api/v1/openapi.json").json()

    post_op = schema["paths"]["/api/v1/inbound"]["post"]
    assert {"200", "201", "202", "422"} <= set(post_op["responses"])
    assert "Preference-Applied" in post_op["responses"]["202"]["headers"]
    assert any(p["name"] == "Prefer" and p["in"] == "header" for p in post_op["parameters"])
    assert "get" in schema["paths"]["/api/v1/inbound/{entry_id}"]
    components = schema["components"]["schemas"]
    assert components["InboundStatusOut"]["examples"]
    assert components["InboundIn"]["examples"]

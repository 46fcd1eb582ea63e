from __future__ import annotations

import pytest

from casework.cases.models import Case
from casework.customers.models import Customer
from casework.events.models import Event
from casework.interactions.models import Interaction
from tests.factories import CaseFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

INBOUND = {
    "channel": "email",
    "external_id": "<abc@example.de>",
    "sender": [{"kind": "email", "value": "Helmut.Berger@Example.de"}],
    "sender_name": "Helmut Berger",
    "subject": "Rechnung Oktober",
    "text": "Die Rechnung ist zu hoch.",
}


def test_requests_without_a_valid_token_are_refused(db):
    from django.test import Client

    response = Client().get("/api/v1/cases", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_openapi_schema_lists_the_endpoints(api):
    response = api.client.get("/api/v1/openapi.json")

    paths = response.json()["paths"]
    assert {"/api/v1/inbound", "/api/v1/customers/{customer_id}/360", "/api/v1/cases"} <= set(paths)


def test_inbound_creates_a_case_and_a_repeat_returns_the_original(api):
    first = api.post("/inbound", INBOUND)
    again = api.post("/inbound", INBOUND)

    assert first.status_code == 201
    assert first.json()["is_new_case"] is True
    assert first.json()["customer_match"] == "created"
    assert again.status_code == 200
    assert again.json()["is_duplicate"] is True
    assert again.json()["case"]["id"] == first.json()["case"]["id"]
    assert Case.objects.count() == 1 and Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**INBOUND, "channel": "pigeon"}, "channel"),
        ({**INBOUND, "sender": [{"kind": "phone", "value": "12"}]}, "sender.0"),
        ({**INBOUND, "external_id": ""}, "external_id"),
        ({**INBOUND, "received_at": "yesterday"}, "received_at"),
        ({key: value for key, value in INBOUND.items() if key != "channel"}, "channel"),
    ],
)
def test_invalid_inbound_payloads_get_field_level_422_and_write_nothing(api, body, field):
    response = api.post("/inbound", body)

    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert Case.objects.count() == 0 and Event.objects.count() == 0


def test_malformed_json_is_a_clear_400(api):
    response = api.post("/inbound", raw='{"channel": "email",')

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def test_oversized_body_is_413(api, settings):
    settings.CASEWORK_MAX_REQUEST_BYTES = 1000

    response = api.post("/inbound", {**INBOUND, "text": "x" * 2000})

    assert response.status_code == 413
    assert "limit is 1000" in response.json()["detail"]
    assert Case.objects.count() == 0


def test_unknown_ids_are_404(api):
    assert api.get("/cases/999999").status_code == 404
    assert api.get("/customers/999999").status_code == 404
    assert api.post("/inbound", {**INBOUND, "customer_id": 999999}).status_code == 404


def test_customer_lifecycle_through_the_api(api):
    created = api.post(
        "/customers",
        {
            "first_name": "Helmut",
            "last_name": "Berger",
            "birth_date": "1950-03-01",
            "identifiers": [
                {"kind": "phone", "value": "030 1234567"},
                {"kind": "email", "value": "helmut@example.de"},
            ],
        },
    )
    assert created.status_code == 201, created.content
    customer_id = created.json()["id"]
    assert {"kind": "phone", "value": "+49301234567", "raw_value": "030 1234567"} in (
        created.json()["identifiers"]
    )

    found = api.get("/customers/lookup", kind="phone", value="+49 (0)30 1234567")
    assert found.json()["id"] == customer_id
    assert api.get("/customers", q="berger").json()[0]["id"] == customer_id

    patched = api.patch(f"/customers/{customer_id}", {"city": "Köln"})
    assert patched.json()["city"] == "Köln"

    ProductFactory(code="voice-s", name_de="Sprache S", name_en="Voice S", monthly_fee="9.99")
    contract = api.post(
        f"/customers/{customer_id}/contracts", {"product": "voice-s", "start_date": "2026-11-01"}
    )
    assert contract.status_code == 201
    assert contract.json()["monthly_fee"] == "9.99"

    bad_iban = api.post(
        f"/customers/{customer_id}/payment-methods", {"kind": "direct_debit", "iban": "DE00 1234"}
    )
    assert bad_iban.status_code == 422
    assert bad_iban.json()["code"] == "invalid_iban"
    payment = api.post(
        f"/customers/{customer_id}/payment-methods",
        {"kind": "standing_order", "iban": "DE89 3704 0044 0532 0130 00"},
    )
    assert payment.json()["iban_masked"] == "DE89 **** **** 3000"

    view = api.get(f"/customers/{customer_id}/360")
    assert view.status_code == 200
    assert view.json()["contracts"][0]["product"] == "voice-s"
    assert Event.objects.filter(code="customer.viewed", object_id=customer_id).count() == 1


def test_duplicate_identifier_is_a_conflict(api):
    body = {"last_name": "A", "identifiers": [{"kind": "email", "value": "same@example.de"}]}
    assert api.post("/customers", body).status_code == 201

    response = api.post("/customers", body)

    assert response.status_code == 409
    assert response.json()["code"] == "identifier_taken"
    assert Customer.objects.count() == 1


def test_case_workflow_through_the_api(api, agent):
    case_id = api.post("/inbound", INBOUND).json()["case"]["id"]

    assert (
        api.patch(f"/cases/{case_id}", {"priority": 3, "status": "pending"}).json()["priority"] == 3
    )
    assert api.patch(f"/cases/{case_id}", {"owner_id": agent.pk}).json()["owner_id"] == agent.pk
    assert api.post(f"/cases/{case_id}/notes", {"text": "Kunde angerufen"}).status_code == 201
    resolved = api.post(f"/cases/{case_id}/resolve", {"resolution_code": "answered"})

    assert resolved.json()["status"] == "resolved"
    assert [i["channel"] for i in api.get(f"/cases/{case_id}/interactions").json()] == [
        "note",
        "email",
    ]
    listed = api.get("/cases", status="resolved").json()
    assert [c["id"] for c in listed] == [case_id]


def test_get_next_hands_out_the_most_urgent_task(api):
    api.post("/inbound", INBOUND)
    urgent = api.post("/inbound", {**INBOUND, "external_id": "<2@x>", "subject": "Dringend"})
    api.patch(f"/cases/{urgent.json()['case']['id']}", {"priority": 4})

    task = api.post("/tasks/next")

    assert task.status_code == 200
    assert task.json()["case_id"] == urgent.json()["case"]["id"]


def test_an_agent_of_another_team_cannot_read_the_case(api, other_team_api):
    case_id = api.post("/inbound", INBOUND).json()["case"]["id"]

    assert other_team_api.get(f"/cases/{case_id}").status_code == 404
    assert other_team_api.patch(f"/cases/{case_id}", {"priority": 4}).status_code == 404
    assert other_team_api.get("/cases").json() == []


def test_merge_and_undo_through_the_api(api):
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    case = CaseFactory(customer=duplicate)

    merged = api.post(f"/customers/{survivor.pk}/merge", {"duplicate_id": duplicate.pk})
    assert merged.status_code == 201
    case.refresh_from_db()
    assert case.customer_id == survivor.pk

    undone = api.post(f"/merges/{merged.json()['id']}/undo")
    assert undone.status_code == 200
    case.refresh_from_db()
    assert case.customer_id == duplicate.pk


def test_webhook_subscriptions_are_for_admins_only(api):
    response = api.post(
        "/webhooks",
        {"url": "http://127.0.0.1:9/x", "secret": "s" * 20, "event_codes": ["case.opened"]},
    )

    assert response.status_code == 403

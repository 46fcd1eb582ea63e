"""Sales partners place retention orders through the API: one by one with idempotency,
as a CSV batch, in a sandbox; wrong payloads and other partners' orders are refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from casework.api.tokens import create_token
from casework.partners.models import CommissionEntry
from casework.retention.models import Response
from tests.engine import run_jobs
from tests.partners.factories import PartnerAccountFactory, PartnerFactory
from tests.retention.test_responses import customer_ending_in

pytestmark = pytest.mark.django_db


class PartnerCaller:
    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: object, **headers: str):  # noqa: ANN201
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers={**self.headers, **headers},
        )

    def post_csv(self, path: str, text: str):  # noqa: ANN201
        return self.client.post(
            f"/api/v1{path}", text.encode(), content_type="text/csv", headers=self.headers
        )

    def get(self, path: str):  # noqa: ANN201
        return self.client.get(f"/api/v1{path}", headers=self.headers)


def caller_for(partner, scopes=("orders", "statements")) -> PartnerCaller:  # noqa: ANN001
    account = PartnerAccountFactory(partner=partner, scopes=list(scopes))
    return PartnerCaller(create_token(account.user.username))


@pytest.fixture
def shop(international):  # noqa: ANN001, ANN201
    return PartnerFactory(code="shop-hamburg", name="Shop Hamburg")


def test_an_order_is_placed_processed_and_earns_its_commission(shop):
    customer = customer_ending_in()
    api = caller_for(shop)

    answer = api.post(
        "/partner/orders",
        {
            "order": "HH-1",
            "customer_number": customer.customer_number,
            "offer": "international-option",
        },
        **{"Idempotency-Key": "abc"},
    )
    run_jobs()

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["outcome"] == "ordered" and body["case_reference"].startswith("CW-")
    entry = CommissionEntry.objects.get(partner=shop)
    assert entry.order_reference == "HH-1"

    again = api.post(
        "/partner/orders",
        {
            "order": "HH-1",
            "customer_number": customer.customer_number,
            "offer": "international-option",
        },
        **{"Idempotency-Key": "abc"},
    )
    run_jobs()
    assert again.status_code == 200 and again.json()["case_reference"] == body["case_reference"]
    assert CommissionEntry.objects.count() == 1

    status = api.get("/partner/orders/HH-1")
    assert status.status_code == 200 and status.json()["outcome"] == "ordered"


def test_another_partners_order_is_forbidden(shop):
    customer = customer_ending_in()
    caller_for(shop).post(
        "/partner/orders",
        {
            "order": "HH-2",
            "customer_number": customer.customer_number,
            "offer": "international-option",
        },
    )
    other = caller_for(PartnerFactory(code="shop-muenchen"))

    assert other.get("/partner/orders/HH-2").status_code == 403
    assert other.get("/partner/orders/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_number": "K1", "offer": "x"}, "order"),
        ({"order": 12, "customer_number": "K1", "offer": "x"}, "order"),
        ({"order": "A", "customer_number": "K-does-not-exist", "offer": "x"}, "customer_number"),
        ({"order": "A", "offer": "international-option"}, "customer_number"),
        ({"order": "A", "customer_number": "{customer}"}, "offer"),
        (
            {"order": "A", "customer_number": "{customer}", "offer": "x", "choice": "maybe"},
            "choice",
        ),
    ],
)
def test_wrong_payloads_get_a_precise_422_and_nothing_is_written(shop, body, field):
    customer = customer_ending_in()
    body = {
        k: (v.replace("{customer}", customer.customer_number) if isinstance(v, str) else v)
        for k, v in body.items()
    }

    answer = caller_for(shop).post("/partner/orders", body)

    assert answer.status_code == 422, answer.content
    assert field in answer.content.decode()
    assert not Response.objects.exists()


def test_a_statements_only_account_may_not_order(shop):
    customer = customer_ending_in()
    answer = caller_for(shop, scopes=["statements"]).post(
        "/partner/orders",
        {
            "order": "HH-3",
            "customer_number": customer.customer_number,
            "offer": "international-option",
        },
    )
    assert answer.status_code == 403 and "orders" in answer.json()["detail"]


def test_the_sandbox_answers_without_placing_anything(shop):
    customer = customer_ending_in()
    answer = caller_for(shop).post(
        "/partner/orders",
        {
            "order": "T-1",
            "customer_number": customer.customer_number,
            "offer": "international-option",
        },
        **{"Casework-Sandbox": "true"},
    )
    run_jobs()
    assert answer.status_code == 201 and answer.json()["sandbox"] is True
    assert answer.json()["case_reference"] is None
    assert not CommissionEntry.objects.exists()


def test_a_csv_batch_places_each_line_and_reports_the_bad_ones(shop):
    first, second = customer_ending_in(), customer_ending_in()
    csv_text = (
        "order;customer_number;offer\n"
        f"B-1;{first.customer_number};international-option\n"
        f"B-2;{second.customer_number};international-option\n"
        "B-3;K-unknown;international-option\n"
        f"B-4;{first.customer_number};international-option\n"
    )

    answer = caller_for(shop).post_csv("/partner/order-batches", csv_text)
    run_jobs()

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert [line["line"] for line in body["lines"]] == [2, 3, 4, 5]
    assert body["ordered"] == 2 and body["errors"] == 1 and body["exceptions"] == 1
    assert "K-unknown" in body["lines"][2]["error"]
    # The first order ran straight through and extended the contract already.
    assert body["lines"][3]["result"]["reason"] == "not_eligible"
    assert CommissionEntry.objects.count() == 2


def test_a_csv_without_the_order_column_is_refused(shop):
    answer = caller_for(shop).post_csv("/partner/order-batches", "kunde;angebot\nK1;x\n")
    assert answer.status_code == 422 and "order" in answer.json()["detail"]


def test_a_sandbox_try_and_the_real_order_may_share_a_number(shop):
    customer = customer_ending_in()
    order = {
        "order": "S-1",
        "customer_number": customer.customer_number,
        "offer": "international-option",
    }
    api = caller_for(shop)
    tried = api.post("/partner/orders", order, **{"Casework-Sandbox": "true"})
    placed = api.post("/partner/orders", order)
    again = api.post("/partner/orders", order)

    assert (tried.status_code, placed.status_code, again.status_code) == (201, 201, 200)
    assert placed.json()["case_reference"] and not placed.json()["sandbox"]

"""The API the chat bot and integrations use: a customer's ranked offers with reasons, and
recording the customer's answer, with precise 404 and 422 answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from casework.api.tokens import create_token
from casework.offers.models import OfferDecision
from tests.factories import AgentFactory, CaseFactory, QueueFactory, TeamFactory
from tests.offers.conftest import contract_of
from tests.offers.factories import OfferFactory, OfferReasonFactory


class Caller:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params):  # noqa: ANN003, ANN201
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body: object):  # noqa: ANN201
        return self.client.post(
            f"/api/v1{path}", body, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def bot(db) -> Caller:  # noqa: ANN001
    return Caller(create_token(AgentFactory().user.username))


@pytest.fixture
def catalogue(customer) -> None:  # noqa: ANN001
    voice = OfferFactory(
        code="voice-only",
        name_de="Tarif Sprache Basis",
        name_en="Voice basic tariff",
        description_en="A move to the tariff without data volume.",
        eligibility="contract.data_usage_gb <= 0.5",
        value=Decimal("90"),
        extend_months=12,
    )
    OfferReasonFactory(
        offer=voice,
        position=1,
        condition="contract.ends_in_days <= 90",
        text_de="Vertrag endet in {contract.ends_in_days} Tagen",
        text_en="contract ends in {contract.ends_in_days} days",
    )
    OfferReasonFactory(
        offer=voice,
        position=2,
        condition="contract.data_usage_gb == 0",
        text_de="nutzt kein Datenvolumen",
        text_en="uses no data volume",
    )
    OfferFactory(
        code="goodwill-10-percent",
        kind="action",
        name_en="Grant this customer 10 % now",
        value=0,
    )


def test_the_ranked_offers_come_with_scores_and_reasons(bot, customer, catalogue):  # noqa: ANN001
    response = bot.get(f"/customers/{customer.pk}/next-best-offers", language="de")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == customer.pk
    assert body["as_of"] == "2026-11-25" and body["language"] == "de"
    first, second = body["suggestions"]
    assert first == {
        "rank": 1,
        "offer": "voice-only",
        "kind": "offer",
        "name": "Tarif Sprache Basis",
        "description": "",
        "score": 45.0,
        "propensity": 0.5,
        "propensity_source": "rate",
        "value": "90.00",
        "business_weight": "1.00",
        "reasons": ["Vertrag endet in 23 Tagen", "nutzt kein Datenvolumen"],
        "eligibility_rule": "contract.data_usage_gb <= 0.5",
        "eligibility_facts": [{"name": "contract.data_usage_gb", "value": "0"}],
    }
    assert (second["rank"], second["offer"], second["score"]) == (2, "goodwill-10-percent", 0.5)


def test_the_list_narrows_to_a_kind_and_a_length(bot, customer, catalogue):  # noqa: ANN001
    actions = bot.get(f"/customers/{customer.pk}/next-best-offers", kind="action", language="en")
    top = bot.get(f"/customers/{customer.pk}/next-best-offers", limit=1, language="en")

    assert [s["offer"] for s in actions.json()["suggestions"]] == ["goodwill-10-percent"]
    (only,) = top.json()["suggestions"]
    assert only["reasons"] == ["contract ends in 23 days", "uses no data volume"]
    assert only["description"] == "A move to the tariff without data volume."


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"kind": "coupon"}, "kind"), ({"language": "fr"}, "language")],
)
def test_bad_query_parameters_are_422(bot, customer, params, field):  # noqa: ANN001
    response = bot.get(f"/customers/{customer.pk}/next-best-offers", **params)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_an_unknown_customer_is_404_and_no_token_is_401(bot, customer):  # noqa: ANN001
    missing = bot.get("/customers/999999/next-best-offers")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "detail": "customer 999999 not found"}
    assert Caller(None).get(f"/customers/{customer.pk}/next-best-offers").status_code == 401
    assert (
        bot.post(
            "/customers/999999/offer-decisions", {"offer": "x", "accepted": True, "channel": "chat"}
        ).status_code
        == 404
    )


def test_an_acceptance_is_recorded_once_and_changes_the_contract(bot, customer, catalogue):  # noqa: ANN001
    body = {"offer": "voice-only", "accepted": True, "channel": "chat"}

    first = bot.post(f"/customers/{customer.pk}/offer-decisions", body)
    again = bot.post(f"/customers/{customer.pk}/offer-decisions", body)

    assert first.status_code == 201, first.content
    assert again.status_code == 200
    answer = first.json()
    assert answer["offer"] == "voice-only" and answer["outcome"] == "accepted"
    assert answer["is_new"] is True and again.json()["is_new"] is False
    assert answer["contract_changes"] == ["end_date"]
    assert answer["decided_at"].startswith("2026-11-25T10:00:00")
    assert answer["decided_by"].startswith("agent:")
    assert again.json()["id"] == answer["id"]
    assert str(contract_of(customer).end_date) == "2027-12-18"
    offers = bot.get(f"/customers/{customer.pk}/next-best-offers").json()["suggestions"]
    assert [s["offer"] for s in offers] == ["goodwill-10-percent"]


def test_a_decline_is_recorded_and_rests_the_offer(bot, customer, catalogue):  # noqa: ANN001
    response = bot.post(
        f"/customers/{customer.pk}/offer-decisions",
        {"offer": "goodwill-10-percent", "accepted": False, "channel": "phone"},
    )

    assert response.status_code == 201
    assert response.json()["outcome"] == "declined"
    offers = bot.get(f"/customers/{customer.pk}/next-best-offers").json()["suggestions"]
    assert [s["offer"] for s in offers] == ["voice-only"]


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"accepted": True, "channel": "chat"}, "offer", "Field required"),
        ({"offer": "voice-only", "channel": "chat"}, "accepted", "Field required"),
        (
            {"offer": "voice-only", "accepted": "yes", "channel": "chat"},
            "accepted",
            "valid boolean",
        ),
        ({"offer": "voice-only", "accepted": 1, "channel": "chat"}, "accepted", "valid boolean"),
        ({"offer": "voice-only", "accepted": True, "channel": "pigeon"}, "channel", "'phone'"),
        ({"offer": "", "accepted": True, "channel": "chat"}, "offer", "at least 1 character"),
    ],
)
def test_an_invalid_decision_is_422_naming_the_field(bot, customer, catalogue, body, field, detail):  # noqa: ANN001
    response = bot.post(f"/customers/{customer.pk}/offer-decisions", body)

    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert detail in errors[0]["message"]
    assert not OfferDecision.objects.exists()


def test_an_unknown_or_unavailable_offer_is_422(bot, customer, catalogue):  # noqa: ANN001
    OfferFactory(code="silver-only", eligibility='customer.segment == "silver"')

    unknown = bot.post(
        f"/customers/{customer.pk}/offer-decisions",
        {"offer": "nope", "accepted": True, "channel": "chat"},
    )
    unavailable = bot.post(
        f"/customers/{customer.pk}/offer-decisions",
        {"offer": "silver-only", "accepted": True, "channel": "chat"},
    )

    assert unknown.status_code == 422
    assert unknown.json() == {
        "code": "offer_unknown",
        "detail": "there is no offer “nope”",
        "errors": [{"field": "offer", "message": "there is no offer “nope”"}],
    }
    assert unavailable.status_code == 422
    assert unavailable.json()["code"] == "offer_not_available"
    assert not OfferDecision.objects.exists()


def test_declining_what_was_accepted_is_409(bot, customer, catalogue):  # noqa: ANN001
    path = f"/customers/{customer.pk}/offer-decisions"
    bot.post(path, {"offer": "voice-only", "accepted": True, "channel": "chat"})

    response = bot.post(path, {"offer": "voice-only", "accepted": False, "channel": "chat"})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_a_case_must_be_visible_and_the_customers(bot, customer, catalogue):  # noqa: ANN001
    other_team = QueueFactory(team=TeamFactory())
    hidden = CaseFactory(customer=customer, queue=other_team)
    foreign = CaseFactory(queue=other_team)
    admin = Caller(create_token(AgentFactory(role="admin").user.username))
    path = f"/customers/{customer.pk}/offer-decisions"
    body = {"offer": "voice-only", "accepted": True, "channel": "phone"}

    assert bot.post(path, {**body, "case_id": hidden.pk}).status_code == 404
    response = admin.post(path, {**body, "case_id": foreign.pk})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "case_id", "message": "the case belongs to another customer"}
    ]
    assert not OfferDecision.objects.exists()


def test_the_endpoints_are_in_the_openapi_schema(bot):  # noqa: ANN001
    paths = bot.get("/openapi.json").json()["paths"]

    assert "get" in paths["/api/v1/customers/{customer_id}/next-best-offers"]
    assert "post" in paths["/api/v1/customers/{customer_id}/offer-decisions"]

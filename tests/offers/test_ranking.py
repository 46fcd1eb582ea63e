"""Next best offers: who is eligible, the reasons in plain words, the order by propensity ×
value × business weight, and how decisions change it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from casework.customers.models import Customer
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.offers.ranking import DECLINE_PAUSE_DAYS, next_best_offers
from casework.offers.services import record_offer_decision, train_propensity_model
from tests.factories import ContractFactory, CustomerFactory, InterestFactory
from tests.offers.conftest import NOW, TODAY
from tests.offers.factories import OfferFactory, OfferReasonFactory, past_decision

BOT = Actor.system("chatbot")


def codes(customer: Customer, **kwargs) -> list[str]:  # noqa: ANN003
    return [suggestion.offer.code for suggestion in next_best_offers(customer, **kwargs)]


def test_only_active_offers_valid_today_whose_rule_holds_are_suggested(customer):  # noqa: ANN001
    OfferFactory(code="open-to-all")
    OfferFactory(code="ends-soon", eligibility="contract.ends_in_days <= 90")
    OfferFactory(code="ends-later", eligibility="contract.ends_in_days > 90")
    OfferFactory(code="switched-off", is_active=False)
    OfferFactory(code="expired", valid_until=TODAY - dt.timedelta(days=1))
    OfferFactory(code="not-yet", valid_from=TODAY + dt.timedelta(days=1))
    OfferFactory(code="last-day", valid_from=TODAY, valid_until=TODAY)
    OfferFactory(code="other-segment", eligibility='customer.segment == "silver"')

    assert sorted(codes(customer)) == ["ends-soon", "last-day", "open-to-all"]


def test_the_eligibility_is_explained_by_the_facts_its_rule_read(customer):  # noqa: ANN001
    rule = 'customer.segment == "gold" and contract.ends_in_days <= 90'
    OfferFactory(code="gold-ending", eligibility=rule)

    (suggestion,) = next_best_offers(customer)

    assert suggestion.eligibility.rule == rule
    assert suggestion.eligibility.facts == (
        ("contract.ends_in_days", "23"),
        ("customer.segment", "gold"),
    )


def test_reasons_read_as_plain_words_in_the_active_language(customer):  # noqa: ANN001
    offer = OfferFactory(code="voice-only", eligibility="contract.data_usage_gb <= 0.5")
    OfferReasonFactory(
        offer=offer,
        position=1,
        condition="contract.ends_in_days <= 90",
        text_de="Vertrag endet in {contract.ends_in_days} Tagen",
        text_en="contract ends in {contract.ends_in_days} days",
    )
    OfferReasonFactory(
        offer=offer,
        position=2,
        condition="contract.data_usage_gb == 0",
        text_de="nutzt kein Datenvolumen",
        text_en="uses no data volume",
    )
    OfferReasonFactory(
        offer=offer,
        position=3,
        condition="contract.tenure_months > 120",
        text_de="sehr lange Kunde",
        text_en="customer for ages",
    )

    with translation.override("de"):
        (german,) = next_best_offers(customer)
    with translation.override("en"):
        (english,) = next_best_offers(customer)

    assert german.reason_text == "Vertrag endet in 23 Tagen; nutzt kein Datenvolumen"
    assert english.reasons == ["contract ends in 23 days", "uses no data volume"]


def test_the_score_is_propensity_times_value_times_business_weight(customer):  # noqa: ANN001
    OfferFactory(code="worth-more", value=Decimal("100"), business_weight=Decimal("1"))
    OfferFactory(code="weighted-up", value=Decimal("60"), business_weight=Decimal("2"))
    OfferFactory(code="weighted-down", value=Decimal("150"), business_weight=Decimal("0.5"))

    suggestions = next_best_offers(customer)

    # Without any history every offer's propensity is the neutral 0.5.
    assert [(s.offer.code, s.propensity, s.score) for s in suggestions] == [
        ("weighted-up", 0.5, 60.0),
        ("worth-more", 0.5, 50.0),
        ("weighted-down", 0.5, 37.5),
    ]
    assert codes(customer, limit=2) == ["weighted-up", "worth-more"]


def test_an_action_without_a_money_value_still_ranks_by_its_weight(customer):  # noqa: ANN001
    OfferFactory(code="warranty-extension", kind="action", value=0)
    OfferFactory(code="goodwill", kind="action", value=0, business_weight=Decimal("3"))
    OfferFactory(code="discount", kind="offer", value=Decimal("200"))

    suggestions = next_best_offers(customer, kinds=["action"])

    assert [(s.offer.code, s.score) for s in suggestions] == [
        ("goodwill", 1.5),
        ("warranty-extension", 0.5),
    ]


def test_a_declined_offer_rests_for_the_pause_and_then_returns(customer, pinned):  # noqa: ANN001
    OfferFactory(code="discount-10")
    OfferFactory(code="free-option")

    record_offer_decision(customer, "discount-10", is_accepted=False, channel="chat", actor=BOT)

    assert codes(customer) == ["free-option"]
    pinned.move_to(NOW + dt.timedelta(days=DECLINE_PAUSE_DAYS - 1))
    assert codes(customer) == ["free-option"]
    pinned.move_to(NOW + dt.timedelta(days=DECLINE_PAUSE_DAYS, hours=1))
    # Back, behind the other one now: its acceptance rate learnt from the "no".
    assert codes(customer) == ["free-option", "discount-10"]


def test_an_accepted_offer_is_not_suggested_again(customer):  # noqa: ANN001
    OfferFactory(code="warranty-extension", kind="action")

    record_offer_decision(
        customer, "warranty-extension", is_accepted=True, channel="phone", actor=BOT
    )

    assert codes(customer) == []


def test_each_decision_moves_the_offers_acceptance_rate_at_once(customer):  # noqa: ANN001
    OfferFactory(code="popular", value=Decimal("100"))
    OfferFactory(code="unpopular", value=Decimal("120"))
    assert codes(customer) == ["unpopular", "popular"]

    others = CustomerFactory.create_batch(4)
    at = NOW - dt.timedelta(days=60)
    for other in others:
        past_decision(other, OfferFactory(code="popular"), accepted=True, at=at)
        past_decision(other, OfferFactory(code="unpopular"), accepted=False, at=at)

    suggestions = next_best_offers(customer)
    assert [s.offer.code for s in suggestions] == ["popular", "unpopular"]
    # Beta prior: all offers' rate (4 of 8, Laplace-smoothed: 0.5) weighs 10 decisions.
    assert [s.propensity for s in suggestions] == [round(9 / 14, 4), round(5 / 14, 4)]
    assert {s.propensity_source for s in suggestions} == {"rate"}


def _facts(data_usage_gb: str, interests: list[str]) -> dict:
    return {
        "customer": {"segment": "gold", "age": 46, "interests": interests},
        "contract": {"ends_in_days": 40, "tenure_months": 30, "data_usage_gb": data_usage_gb},
    }


@pytest.fixture
def history(customer) -> None:  # noqa: ANN001
    """Customers who use no data took the voice-only tariff; heavy users did not. The
    international option was taken by those interested in it, by few others."""
    voice = OfferFactory(code="voice-only", value=Decimal("100"))
    world = OfferFactory(
        code="world-option", value=Decimal("100"), interest_tag="international-tariffs"
    )
    at = NOW - dt.timedelta(days=90)
    for index, other in enumerate(CustomerFactory.create_batch(40)):
        light = index % 2 == 0
        past_decision(
            other,
            voice,
            accepted=light if index % 10 else not light,
            at=at,
            facts=_facts("0" if light else "25", []),
        )
        interested = index % 4 == 0
        past_decision(
            other,
            world,
            accepted=interested if index % 10 != 3 else not interested,
            at=at,
            facts=_facts("5", ["international-tariffs"] if interested else []),
        )


def test_the_trained_model_ranks_by_what_customers_like_this_one_chose(customer, history):  # noqa: ANN001
    heavy_user = CustomerFactory(segment="gold")
    ContractFactory(
        customer=heavy_user,
        start_date=dt.date(2024, 5, 1),
        end_date=TODAY + dt.timedelta(days=40),
        data_usage_gb=Decimal("30"),
    )
    InterestFactory(customer=heavy_user, tag="international-tariffs")
    # Before training both offers have about the same rate: equal value, a tie by code.
    assert codes(customer) == ["voice-only", "world-option"]
    assert codes(heavy_user) == ["voice-only", "world-option"]

    model = train_propensity_model(actor=Actor.system("test"))

    assert sorted(model.parameters["offers"]) == ["voice-only", "world-option"]
    light = next_best_offers(customer)
    heavy = next_best_offers(heavy_user)
    assert [s.offer.code for s in light] == ["voice-only", "world-option"]
    assert [s.offer.code for s in heavy] == ["world-option", "voice-only"]
    assert {s.propensity_source for s in light + heavy} == {"model"}
    voice_light = light[0].propensity
    voice_heavy = heavy[1].propensity
    assert voice_light > 0.6 > 0.4 > voice_heavy


def test_training_is_deterministic_and_stores_plain_numbers(customer, history):  # noqa: ANN001
    first = train_propensity_model(actor=Actor.system("test"))
    second = train_propensity_model(actor=Actor.system("test"))

    assert first.parameters == second.parameters
    model = first.parameters["offers"]["voice-only"]
    assert model["decisions"] == 40 and model["accepted"] == 16
    assert all(isinstance(weight, float) for weight in model["weights"].values())
    assert model["weights"]["data_usage_gb=none"] > 0 > model["weights"]["data_usage_gb=15+"]


def test_a_model_for_other_features_is_not_used(customer, history):  # noqa: ANN001
    model = train_propensity_model(actor=Actor.system("test"))
    model.parameters["features_version"] = 0
    model.save()

    assert {s.propensity_source for s in next_best_offers(customer)} == {"rate"}


def test_the_ranking_reads_a_fixed_number_of_queries(customer, django_assert_num_queries):  # noqa: ANN001
    for index in range(10):
        offer = OfferFactory(code=f"offer-{index}", eligibility="contract.ends_in_days <= 90")
        OfferReasonFactory.create_batch(2, offer=offer, condition="customer.segment == 'gold'")
    past_decision(customer, offer, accepted=False, at=clock.now() - dt.timedelta(days=90))

    # offers + reasons, earlier decisions, 5 for the facts, newest model, decision counts
    with django_assert_num_queries(10):
        assert len(next_best_offers(customer, limit=20)) == 10

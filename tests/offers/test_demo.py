"""The demo catalogue says what the issue asks for ("grant this customer 10 % now", "you
may extend the warranty by a year"), is created once, and has a history to learn from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from casework.offers.demo import ensure_demo_offers, seed_demo_decisions
from casework.offers.models import Offer, OfferDecision, PropensityModel
from casework.offers.ranking import next_best_offers
from tests.factories import ContractFactory, CustomerFactory, InterestFactory, ProductFactory
from tests.offers.conftest import TODAY

DEMO_CODES = [
    "discount-10",
    "discount-20",
    "free-option",
    "goodwill-10-percent",
    "international-option",
    "voice-only",
    "warranty-extension",
]


def test_the_demo_offers_are_created_once(db):  # noqa: ANN001
    assert sorted(ensure_demo_offers()) == DEMO_CODES
    Offer.objects.filter(code="discount-20").update(value=Decimal("1"))

    assert ensure_demo_offers() == []
    assert Offer.objects.count() == 7
    assert Offer.objects.get(code="discount-20").value == Decimal("1")  # admin edits stay
    actions = Offer.objects.filter(kind="action").order_by("code")
    assert [offer.name_en for offer in actions] == [
        "Grant this customer 10 % now",
        "Extend the warranty by a year",
    ]


def test_the_voice_only_offer_says_why_in_plain_words(customer):  # noqa: ANN001
    ProductFactory(code="sprache-basis", monthly_fee="7.99")
    ensure_demo_offers()

    with translation.override("de"):
        suggestions = {s.offer.code: s for s in next_best_offers(customer, limit=10)}

    assert suggestions["voice-only"].reason_text == (
        "Vertrag endet in 23 Tagen; nutzt kein Datenvolumen"
    )
    # A gold customer for 30 months whose contract ends soon: the loyalty discount too.
    assert suggestions["discount-20"].reason_text == (
        "Vertrag endet in 23 Tagen; seit 30 Monaten Kunde; Gold-Kunde"
    )
    assert {"goodwill-10-percent", "warranty-extension"} <= set(suggestions)
    assert "international-option" not in suggestions


def test_the_international_option_suits_those_interested(db, pinned):  # noqa: ANN001
    ensure_demo_offers()
    lisa = CustomerFactory(segment="young")
    ContractFactory(
        customer=lisa, start_date=dt.date(2025, 1, 1), end_date=TODAY + dt.timedelta(days=36)
    )
    InterestFactory(customer=lisa, tag="international-tariffs")

    with translation.override("en"):
        (suggestion,) = next_best_offers(lisa, kinds=["offer"])

    assert suggestion.offer.code == "international-option"
    assert suggestion.reasons == [
        "contract ends in 36 days",
        "interested in international tariffs",
    ]


def test_the_decision_history_is_written_once_and_trains_models(db, pinned):  # noqa: ANN001
    ensure_demo_offers()
    customers = []
    for index in range(40):
        customer = CustomerFactory(segment=["gold", "silver"][index % 2])
        ContractFactory(customer=customer, start_date=dt.date(2020 + index % 6, 3, 1))
        customers.append(customer)

    written = seed_demo_decisions(count=800)
    assert seed_demo_decisions(count=800) == 0

    assert 600 < written <= 800 and OfferDecision.objects.count() == written
    stdout = StringIO()
    call_command("offers", "train", stdout=stdout)
    model = PropensityModel.objects.get()
    assert model.decisions == written
    assert "voice-only" in model.parameters["offers"]
    voice = model.parameters["offers"]["voice-only"]["weights"]
    assert voice["data_usage_gb=none"] > 0 > voice.get("data_usage_gb=15+", 0)
    assert stdout.getvalue().startswith(f"propensity model #{model.pk}: {written} decisions;")


def test_the_rank_command_prints_a_customers_offers(customer):  # noqa: ANN001
    ensure_demo_offers()
    stdout = StringIO()

    call_command("offers", "rank", customer.customer_number, "--language", "en", stdout=stdout)

    lines = stdout.getvalue().splitlines()
    assert lines[0].startswith("1. discount-20")
    assert "contract ends in 23 days; customer for 30 months; gold customer" in lines[0]


@pytest.mark.django_db
def test_the_rank_command_names_an_unknown_customer():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no customer with the number X-1"):
        call_command("offers", "rank", "X-1")

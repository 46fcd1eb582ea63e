"""Reason texts quote facts by placeholders: only fact paths, filled in the reader's
language; an offer's rules and texts are checked when it is saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from casework.offers.models import Offer, OfferReason
from casework.offers.rules import InvalidReasonText, fill, placeholders
from tests.offers.factories import OfferFactory

FACTS = {
    "customer": {"segment": "gold", "interests": ["5g", "international-tariffs"]},
    "contract": {
        "ends_in_days": 23,
        "data_usage_gb": Decimal("1.50"),
        "monthly_fee": Decimal("1234.50"),
    },
    "today": dt.date(2026, 11, 25),
}


def test_placeholders_are_filled_with_german_or_english_numbers_and_dates():
    text = "{contract.ends_in_days} · {contract.data_usage_gb} · {today} · {customer.interests}"
    with translation.override("de"):
        assert fill(text, FACTS) == "23 · 1,5 · 25.11.2026 · 5g, international-tariffs"
    with translation.override("en"):
        assert fill(text, FACTS) == "23 · 1.5 · 11/25/2026 · 5g, international-tariffs"


def test_a_missing_fact_reads_as_a_dash():
    assert fill("{consent.profiling} / {contact.days_since_last}", {}) == "– / –"


@pytest.mark.parametrize(
    "text",
    [
        "{contract.ends}",  # a typo
        "{customer.__class__}",  # no way into Python objects
        "{contract.ends_in_days!r}",  # no conversions
        "{contract.ends_in_days:>10}",  # no format specifications
        "{customer}",  # a whole mapping is not a fact
        "ends in {contract.ends_in_days days",  # an unclosed brace
        "a } too many",
    ],
)
def test_anything_but_a_fact_path_in_braces_is_refused(text):  # noqa: ANN001
    with pytest.raises(InvalidReasonText):
        placeholders(text)


def test_a_typo_in_a_placeholder_gets_a_suggestion():
    with pytest.raises(InvalidReasonText, match=r"did you mean \{contract.ends_in_days\}"):
        placeholders("{contract.ends_in_dys}")


@pytest.mark.django_db
def test_an_offer_with_an_unknown_fact_in_its_rule_is_not_saved():
    offer = Offer(code="typo", name_de="T", name_en="T", eligibility="contract.ends_in_dys <= 90")

    with pytest.raises(ValidationError) as raised:
        offer.save()

    message = raised.value.message_dict["eligibility"][0]
    assert 'unknown field "contract.ends_in_dys"' in message
    assert '(did you mean "contract.ends_in_days"?)' in message
    assert not Offer.objects.filter(code="typo").exists()


@pytest.mark.django_db
def test_an_offer_whose_rule_does_not_parse_is_not_saved():
    offer = Offer(code="syntax", name_de="S", name_en="S", eligibility="contract.ends_in_days = 3")
    with pytest.raises(ValidationError, match="use == to compare"):
        offer.save()


@pytest.mark.django_db
def test_a_reason_with_a_bad_condition_or_placeholder_is_not_saved():
    offer = OfferFactory()
    with pytest.raises(ValidationError) as raised:
        OfferReason(
            offer=offer,
            condition="customer.segmnt == 'gold'",
            text_de="Kunde seit {contract.tenure}",
            text_en="fine",
        ).save()
    assert set(raised.value.message_dict) == {"condition", "text_de"}
    assert not OfferReason.objects.exists()

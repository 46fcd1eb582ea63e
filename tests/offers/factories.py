"""Offers, their reasons and a history of decisions for the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from casework.customers.models import Customer
from casework.offers.models import DecisionOutcome, Offer, OfferDecision, OfferReason


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"offer-{n}")
    kind = "offer"
    name_de = factory.LazyAttribute(lambda o: f"Angebot {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Offer {o.code}")
    value = Decimal("100")


class OfferReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfferReason

    offer = factory.SubFactory(OfferFactory)
    condition = ""
    text_de = "passt"
    text_en = "fits"


def past_decision(
    customer: Customer,
    offer: Offer,
    *,
    accepted: bool,
    at: dt.datetime,
    facts: dict[str, Any] | None = None,
) -> OfferDecision:
    """A decision from the history, as an import would bring it (no events)."""
    return OfferDecision.objects.create(
        customer=customer,
        offer=offer,
        outcome=DecisionOutcome.ACCEPTED if accepted else DecisionOutcome.DECLINED,
        channel="phone",
        decided_at=at,
        decided_by="system:import",
        facts=facts or {},
    )

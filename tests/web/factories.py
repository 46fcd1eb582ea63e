"""Factories for the customer data the agent desktop shows (contracts, payment methods,
consents, interests) and for inbound messages as channels deliver them."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.utils import timezone

from casework.customers.models import Consent, Contract, Interest, PaymentMethod
from casework.intake.messages import InboundMessage, SenderIdentifier
from tests.factories import CustomerFactory, ProductFactory


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    customer = factory.SubFactory(CustomerFactory)
    contract_number = factory.Sequence(lambda n: f"V-TEST-{n:06d}")
    product = factory.SubFactory(ProductFactory)
    status = "active"
    start_date = dt.date(2025, 1, 1)
    monthly_fee = factory.LazyAttribute(lambda o: o.product.monthly_fee)


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    customer = factory.SubFactory(CustomerFactory)
    kind = "direct_debit"
    is_default = True
    account_holder = "Erika Mustermann"
    iban = "DE89370400440532013000"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    purpose = "marketing_email"
    is_granted = True
    source = "portal"
    recorded_at = factory.LazyFunction(timezone.now)


class InterestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interest

    customer = factory.SubFactory(CustomerFactory)
    tag = "5g"
    source = "campaign"
    recorded_at = factory.LazyFunction(timezone.now)


_message_ids = itertools.count(1)


def inbound(
    channel: str,
    *,
    sender_kind: str,
    sender: str,
    received_at: dt.datetime,
    subject: str = "",
    text: str = "",
    sender_name: str = "",
    **kwargs: object,
) -> InboundMessage:
    """A message as a channel adapter would hand it to `intake.services.ingest`."""
    return InboundMessage(
        channel=channel,
        external_id=f"{channel}-test-{next(_message_ids)}",
        received_at=received_at,
        sender=(SenderIdentifier(sender_kind, sender),),
        sender_name=sender_name,
        subject=subject,
        text=text,
        **kwargs,  # type: ignore[arg-type]  # the remaining InboundMessage fields
    )

"""Offers, campaigns and recipients for the tests; a worker receiving queued responses."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import factory

from casework.kernel import clock
from casework.offers.models import Offer
from casework.retention import codes
from casework.retention.models import Campaign, CampaignChannel, Recipient
from tests.factories import CustomerFactory


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"offer-{n}")
    name_de = factory.LazyAttribute(lambda o: f"Angebot {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Offer {o.code}")
    value = Decimal("120")
    extend_months = 24


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    code = factory.Sequence(lambda n: f"campaign-{n}")
    name = factory.LazyAttribute(lambda o: f"Kampagne {o.code}")
    offer = factory.SubFactory(OfferFactory)
    channel = CampaignChannel.EMAIL
    audience = "contract.ends_in_days <= 90"
    subject_de = "Ihr Vertrag endet bald, {{ customer.first_name }}"
    subject_en = "Your contract ends soon, {{ customer.first_name }}"
    body_de = "Hallo {{ customer.name }},\n\nunser Angebot: {{ offer.name }}."
    body_en = "Hello {{ customer.name }},\n\nour offer: {{ offer.name }}."
    responses_until = factory.LazyFunction(
        lambda: clock.localtime(clock.now()).date() + dt.timedelta(days=60)
    )


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recipient

    campaign = factory.SubFactory(CampaignFactory)
    customer = factory.SubFactory(CustomerFactory)
    offer = factory.LazyAttribute(lambda o: o.campaign.offer)
    token = factory.LazyFunction(codes.new_token)
    selected_at = factory.LazyFunction(clock.now)


def code_of(recipient: Recipient) -> str:
    return codes.code_for(recipient.token)


@contextmanager
def retention_worker() -> Iterator[None]:
    """A worker thread receiving queued responses while the block runs (tests whose
    transactions commit: `django_db(transaction=True)`)."""
    from django.db import connection

    from casework.retention import queue

    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                if not queue.run_once():
                    time.sleep(0.02)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)

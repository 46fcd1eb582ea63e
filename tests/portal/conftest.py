"""The portal's test world: a customer with an e-mail address and a contract that ends in
60 days, another customer (whose data must stay invisible), a mailbox to send from, an
offer both may have, and a client signed in to the portal as the first customer."""

from __future__ import annotations

import datetime as dt
import mailbox as maildir
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from casework.channels.email import outbound
from casework.channels.email.models import Mailbox
from casework.customers.models import Customer
from casework.events.models import Event
from casework.offers.models import Offer
from casework.portal.sessions import SESSION_KEY
from tests.factories import (
    CaseFactory,
    CaseTypeFactory,
    ContractFactory,
    CustomerFactory,
    IdentifierFactory,
    ProductFactory,
)

LISA_EMAIL = "lisa.portal@example.org"


def events(code: str) -> list[Event]:
    return list(Event.objects.filter(code=code).order_by("seq"))


def sign_in_as(client: Client, customer: Customer) -> Client:
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()
    return client


def customer_with_contract(email: str, **fields) -> Customer:  # noqa: ANN003
    customer = CustomerFactory(**fields)
    IdentifierFactory(customer=customer, kind="email", value=email)
    ContractFactory(
        customer=customer,
        product=ProductFactory(code="mobil-s", monthly_fee="14.99"),
        start_date=dt.date(2024, 12, 1),
        end_date=timezone.localdate() + dt.timedelta(days=60),
        monthly_fee=Decimal("14.99"),
    )
    return customer


@pytest.fixture
def mailbox(db) -> Mailbox:  # noqa: ANN001
    return Mailbox.objects.create(
        address="service@portal.casework.test",
        display_name="Casework Service",
        case_type=CaseTypeFactory(code="portal-general"),
    )


@pytest.fixture
def customer(db, mailbox) -> Customer:  # noqa: ANN001
    return customer_with_contract(LISA_EMAIL, first_name="Lisa", language="en")


@pytest.fixture
def other(db) -> Customer:  # noqa: ANN001
    return customer_with_contract("someone.else@example.org", first_name="Otto")


@pytest.fixture
def case(customer):  # noqa: ANN001, ANN201
    return CaseFactory(customer=customer, subject="My internet is slow", status="open")


@pytest.fixture
def other_case(other):  # noqa: ANN001, ANN201
    return CaseFactory(customer=other, subject="Otto's secret matter", status="open")


@pytest.fixture
def offer(db) -> Offer:  # noqa: ANN001
    return Offer.objects.create(
        code="loyalty-20",
        name_de="Treuerabatt 20 %",
        name_en="Loyalty discount 20 %",
        description_de="20 % weniger, 24 Monate länger.",
        description_en="20 % less, 24 months longer.",
        eligibility="contract.ends_in_days <= 90",
        discount_percent=Decimal("20"),
        extend_months=24,
        value=Decimal("100"),
    )


@pytest.fixture
def portal(client, customer) -> Client:  # noqa: ANN001
    return sign_in_as(client, customer)


@pytest.fixture
def outbox(settings, tmp_path) -> Path:  # noqa: ANN001
    """Outgoing mail is delivered into a maildir, as in the demo."""
    settings.CASEWORK_SMTP_RELAY = f"maildir:{tmp_path / 'outbox'}"
    return tmp_path / "outbox"


def delivered_mails(outbox_dir: Path) -> list:  # noqa: ANN401
    outbound.send_due()
    return [message for _key, message in maildir.Maildir(outbox_dir, create=True).items()]


def mail_body(message) -> str:  # noqa: ANN001
    payload = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8")

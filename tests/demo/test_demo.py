"""The demo data set: loads twice without change, and its mailboxes behave as the README
says (a known member's mail becomes their case, an unknown sender waits to be identified,
the mobile operator's mailbox creates a provisional customer)."""

from __future__ import annotations

import pytest

from casework.cases.models import Case
from casework.channels.email.models import OutboundEmail
from casework.channels.email.services import receive_email
from casework.customers.models import Customer
from casework.demo.loading import load_demo
from casework.events.models import Event
from casework.knowledge.models import ReplyTemplate

pytestmark = pytest.mark.django_db


def mail(sender: str, to: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Abrechnung Q3\r\nMessage-ID: <{message_id}>\r\n"
        "\r\nBitte pruefen Sie meine Abrechnung.\r\n"
    ).encode()


def test_the_demo_loads_twice_without_change_and_its_mailboxes_work():
    load_demo(generated_customers=20, progress=lambda line: None)
    counts = (Customer.objects.count(), Case.objects.count(), Event.objects.count())
    load_demo(generated_customers=20, progress=lambda line: None)
    assert (Customer.objects.count(), Case.objects.count(), Event.objects.count()) == counts
    assert ReplyTemplate.objects.filter(code="thanks-checking").count() == 2

    jana = Customer.objects.get(last_name="Wolff")
    address = jana.identifiers.get(kind="email").value
    known = receive_email(
        mail(address, "service@demo.casework.test", "d-1@example.net"),
        envelope_from=address,
        recipients=["service@demo.casework.test"],
    )
    assert Case.objects.get(reference=known.case_reference).customer == jana
    assert OutboundEmail.objects.filter(kind="acknowledgement", to_address=address).exists()

    stranger = receive_email(
        mail("fremd@example.org", "service@demo.casework.test", "d-2@example.net"),
        envelope_from="fremd@example.org",
        recipients=["service@demo.casework.test"],
    )
    held = Case.objects.get(reference=stranger.case_reference)
    assert held.customer is None and held.queue.code == "cs-identify"

    shopper = receive_email(
        mail("neu@example.org", "kundenservice@demo.casework.test", "d-3@example.net"),
        envelope_from="neu@example.org",
        recipients=["kundenservice@demo.casework.test"],
    )
    created = Case.objects.get(reference=shopper.case_reference).customer
    assert created is not None and created.is_provisional

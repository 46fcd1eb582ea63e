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
from casework.kernel import jobs
from casework.kernel.models import Job
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
    request = Case.objects.get(reference=known.case_reference)
    assert request.customer == jana and request.process_key == "collecting-society-request"
    # The process informs the member (request-received); the mailbox does not add a second mail.
    assert not OutboundEmail.objects.filter(kind="acknowledgement", to_address=address).exists()
    assert Job.objects.filter(kind="cases.notify", payload__template="request-received").exists()

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


def test_the_demo_licensing_question_goes_to_the_licensing_department():
    load_demo(generated_customers=0, progress=lambda line: None)
    for _ in range(10):
        if not jobs.run_due():
            break

    request = Case.objects.get(
        process_key="collecting-society-request", customer__last_name="Wolff"
    )
    assert request.stage == "first-level" and request.step == "wait-for-department"
    licensing = Case.objects.get(parent=request)
    assert licensing.queue.code == "licensing" and licensing.data["work_title"] == "Sommerlied"
    assert licensing.tasks.filter(status="open", step_key="answer-department-question").exists()


def test_a_members_mail_arrives_categorised_by_service_type_topic_urgency_and_sentiment():
    """Issue-level check on the demo's own models: a German mail to the collecting
    society's mailbox the examples never contained."""
    load_demo(generated_customers=0, progress=lambda line: None)
    jana = Customer.objects.get(last_name="Wolff")
    address = jana.identifiers.get(kind="email").value
    raw = (
        f"From: {address}\r\nTo: service@demo.casework.test\r\nSubject: Tantiemen\r\n"
        "Message-ID: <cat-1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Guten Tag, in meiner Abrechnung der Tantiemen fehlt mein Lied aus dem Radio. "
        "Ich bin sehr verärgert. Bitte umgehend klären, die Frist läuft morgen ab.\r\n"
    ).encode()

    result = receive_email(raw, envelope_from=address, recipients=["service@demo.casework.test"])

    case = Case.objects.get(reference=result.case_reference)
    found = case.interactions.get().payload["classification"]
    assert found["topic"]["label"] == "topic-royalties" and found["topic"]["is_confident"]
    assert found["urgency"]["label"] == "high"
    assert found["sentiment"]["label"] == "negative"
    assert {"service_type", "language"} <= set(found)
    assert 0 < found["topic"]["confidence"] <= 1


def test_the_mobile_operators_mail_opens_the_case_type_of_its_topic():
    load_demo(generated_customers=0, progress=lambda line: None)
    raw = (
        "From: neu@example.org\r\nTo: kundenservice@demo.casework.test\r\nSubject: Netz\r\n"
        "Message-ID: <topic-1@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hallo, seit drei Tagen habe ich kein Netz und Anrufe brechen ab. Gruß\r\n"
    ).encode()

    result = receive_email(
        raw, envelope_from="neu@example.org", recipients=["kundenservice@demo.casework.test"]
    )

    case = Case.objects.get(reference=result.case_reference)
    assert case.case_type.code == "technical-fault" and case.queue.code == "technical"

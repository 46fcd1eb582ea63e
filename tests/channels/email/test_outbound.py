"""Acknowledgements and threading, sent through a real SMTP relay on loopback."""

from __future__ import annotations

import email
import mailbox as maildir_module
from email import policy

import pytest
from aiosmtpd.controller import Controller

from casework.cases.models import Case
from casework.channels.email.models import OutboundEmail, OutboundStatus
from casework.channels.email.outbound import send_due
from casework.channels.email.services import receive_email
from casework.interactions.models import Interaction
from tests.channels.email.conftest import free_port
from tests.factories import CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


class Sink:
    """A loopback SMTP relay that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        # The connections mail arrived on (kept, so that no two share an id()).
        self.sessions: dict[int, object] = {}
        self.refused: set[str] = set()  # recipients answered 550
        self.closing: set[str] = set()  # recipients answered 421: the relay hangs up

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        if address in self.closing:
            return "421 4.3.2 shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        self.sessions[id(session)] = session
        return "250 OK"


@pytest.fixture
def relay(settings):  # noqa: ANN001, ANN201
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    settings.CASEWORK_SMTP_RELAY = f"127.0.0.1:{port}"
    yield sink
    controller.stop()


def raw_mail(
    message_id: str,
    subject: str = "Abrechnung Q3",
    sender: str = "jana.wolff@example.net",
    **headers: str,
) -> bytes:
    lines = [
        f"From: Jana Wolff <{sender}>",
        "To: service@demo.casework.test",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Bitte prüfen Sie meine Abrechnung.",
    ]
    return "\r\n".join(lines).encode()


def receive(raw: bytes):  # noqa: ANN201
    return receive_email(
        raw, envelope_from="jana.wolff@example.net", recipients=["service@demo.casework.test"]
    )


def test_a_new_case_is_acknowledged_in_the_customers_language_and_sent(mailbox, relay):
    customer = CustomerFactory(language="en")
    IdentifierFactory(customer=customer, kind="email", value="jana.wolff@example.net")

    received = receive(raw_mail("first@example.net"))

    outbound = OutboundEmail.objects.get()
    assert outbound.kind == "acknowledgement" and outbound.status == OutboundStatus.PENDING
    assert received.case_reference in outbound.subject
    assert "We have received your message" in outbound.subject
    assert Interaction.objects.filter(direction="outbound", case=outbound.case).count() == 1

    assert send_due() == 1

    [sent] = relay.messages
    assert sent["To"] == "Jana Wolff <jana.wolff@example.net>"
    assert sent["In-Reply-To"] == "<first@example.net>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert received.case_reference in sent.get_content()
    outbound.refresh_from_db()
    assert outbound.status == OutboundStatus.SENT and outbound.sent_at is not None


def test_german_is_the_default_language(mailbox, relay):
    receive(raw_mail("first@example.net"))

    assert "Wir haben Ihre Nachricht erhalten" in OutboundEmail.objects.get().subject


def test_a_reply_to_the_acknowledgement_lands_in_the_same_case(mailbox, relay):
    receive(raw_mail("first@example.net"))
    acknowledgement = OutboundEmail.objects.get()

    reply = receive(
        raw_mail(
            "second@example.net",
            subject="Re: meine Frage",
            In_Reply_To=f"<{acknowledgement.message_id}>",
        )
    )

    assert Case.objects.count() == 1
    assert reply.case_reference == acknowledgement.case.reference
    assert OutboundEmail.objects.count() == 1  # no second acknowledgement for a reply


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"}],
)
def test_automatic_mail_is_never_acknowledged(mailbox, relay, headers):
    receive(raw_mail("ooo@example.net", subject="Abwesenheitsnotiz", **headers))

    assert Case.objects.count() == 1
    assert OutboundEmail.objects.count() == 0


def test_an_unreachable_relay_is_retried_later_and_the_mail_kept(mailbox, settings):
    settings.CASEWORK_SMTP_RELAY = f"127.0.0.1:{free_port()}"  # nothing listens there
    receive(raw_mail("first@example.net"))

    send_due()

    outbound = OutboundEmail.objects.get()
    assert outbound.status == OutboundStatus.PENDING and outbound.attempts == 1
    assert outbound.last_error
    assert send_due() == 0  # not due again yet


def test_the_maildir_sink_keeps_outgoing_mail_as_files(mailbox, settings, tmp_path):
    settings.CASEWORK_SMTP_RELAY = f"maildir:{tmp_path / 'outbox'}"
    receive(raw_mail("first@example.net"))

    send_due()

    [stored] = list(maildir_module.Maildir(tmp_path / "outbox"))
    assert "CW-" in stored["Subject"]


def test_a_bounce_of_our_acknowledgement_lands_in_its_case_and_marks_it(mailbox, relay):
    receive(raw_mail("first@example.net"))
    acknowledgement = OutboundEmail.objects.get()
    bounce = "\r\n".join(
        [
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>",
            "To: service@demo.casework.test",
            "Subject: Undelivered Mail Returned to Sender",
            "Message-ID: <bounce-1@mx.example.net>",
            "Auto-Submitted: auto-replied",
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
            "",
            "--B",
            "Content-Type: text/plain; charset=us-ascii",
            "",
            "Your message could not be delivered: mailbox full.",
            "--B",
            "Content-Type: message/delivery-status",
            "",
            "Reporting-MTA: dns; mx.example.net",
            "",
            "Final-Recipient: rfc822; jana.wolff@example.net",
            "Action: failed",
            "Status: 5.2.2",
            "--B",
            "Content-Type: text/rfc822-headers",
            "",
            f"Message-ID: <{acknowledgement.message_id}>",
            "Subject: acknowledgement",
            "--B--",
            "",
        ]
    ).encode()

    received = receive_email(bounce, envelope_from="", recipients=[mailbox.address])

    assert received.case_reference == acknowledgement.case.reference
    assert Case.objects.count() == 1
    acknowledgement.refresh_from_db()
    assert acknowledgement.status == OutboundStatus.BOUNCED
    assert not IdentifierFactory._meta.model.objects.filter(
        value__contains="mailer-daemon"
    ).exists()
    assert OutboundEmail.objects.count() == 1  # a bounce is never acknowledged


def test_an_agents_reply_goes_out_threaded_under_the_customers_mail(mailbox, relay):
    from casework.channels.email.outbound import reply_by_email
    from casework.kernel.actors import Actor

    received = receive(raw_mail("first@example.net"))
    case = Case.objects.get(reference=received.case_reference)
    mailbox.signature = "Mitgliederservice · Musterstraße 1"
    mailbox.save()

    reply = reply_by_email(case, "Die Aufführungen werden nachgebucht.", actor=Actor.system("t"))
    send_due()

    sent = next(
        message for message in relay.messages if message["Message-ID"] == (f"<{reply.message_id}>")
    )
    assert sent["In-Reply-To"] == "<first@example.net>"
    assert sent["References"] == "<first@example.net>"
    assert sent["Subject"] == f"Re: [{case.reference}] Abrechnung Q3"
    assert "Auto-Submitted" not in sent
    assert "nachgebucht" in sent.get_content() and "Musterstraße" in sent.get_content()
    assert Interaction.objects.filter(case=case, direction="outbound").count() == 2


def test_a_case_without_customer_mail_cannot_be_answered_by_mail(mailbox):
    from casework.channels.email.outbound import NoMailToAnswer, reply_by_email
    from casework.kernel.actors import Actor
    from tests.factories import CaseFactory

    with pytest.raises(NoMailToAnswer):
        reply_by_email(CaseFactory(), "Hallo", actor=Actor.system("t"))


def _acknowledgement_to(address: str, message_id: str) -> OutboundEmail:
    receive(raw_mail(message_id, subject=f"Frage {message_id}"))
    outbound = OutboundEmail.objects.latest("pk")
    outbound.to_address, outbound.to_name = address, "Ayşe Yıldız"
    outbound.save(update_fields=["to_address", "to_name"])
    return outbound


def test_an_international_address_is_sent_as_smtputf8(mailbox, relay):
    outbound = _acknowledgement_to("ayşe.yıldız@example.com", "first@example.net")

    assert send_due() == 1

    assert relay.recipients == [["ayşe.yıldız@example.com"]]
    [sent] = relay.messages
    assert "yıldız@example.com" in sent.as_bytes().decode("utf-8")  # headers in UTF-8
    outbound.refresh_from_db()
    assert outbound.status == OutboundStatus.SENT


def test_a_malformed_address_fails_at_once_and_the_rest_is_sent(mailbox, relay):
    broken = _acknowledgement_to("a@b@example.com", "first@example.net")
    fine = _acknowledgement_to("lisa@example.org", "second@example.net")

    assert send_due() == 2

    broken.refresh_from_db()
    fine.refresh_from_db()
    assert broken.status == OutboundStatus.FAILED
    assert broken.last_error.startswith("cannot compose the message")
    assert fine.status == OutboundStatus.SENT and len(relay.messages) == 1


def test_one_pass_sends_its_mail_over_one_connection(mailbox, relay):
    for n in range(3):
        receive(raw_mail(f"m{n}@example.net", sender=f"kunde{n}@example.net"))

    assert send_due() == 3

    assert len(relay.messages) == 3 and len(relay.sessions) == 1
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}


def test_a_refused_recipient_is_retried_later_and_the_others_go_out(mailbox, relay):
    relay.refused.add("kunde1@example.net")
    for n in range(3):
        receive(raw_mail(f"m{n}@example.net", sender=f"kunde{n}@example.net"))

    assert send_due() == 3

    refused = OutboundEmail.objects.get(to_address="kunde1@example.net")
    assert refused.status == OutboundStatus.PENDING and refused.attempts == 1
    assert "550" in refused.last_error
    sent = OutboundEmail.objects.filter(status=OutboundStatus.SENT)
    assert sorted(sent.values_list("to_address", flat=True)) == [
        "kunde0@example.net",
        "kunde2@example.net",
    ]
    assert len(relay.sessions) == 1  # the refusal did not cost the connection


def test_a_relay_that_hangs_up_costs_only_that_mail_an_attempt(mailbox, relay):
    relay.closing.add("kunde1@example.net")
    for n in range(3):
        receive(raw_mail(f"m{n}@example.net", sender=f"kunde{n}@example.net"))

    assert send_due() == 3

    statuses = dict(OutboundEmail.objects.values_list("to_address", "status"))
    assert statuses == {
        "kunde0@example.net": OutboundStatus.SENT,
        "kunde1@example.net": OutboundStatus.PENDING,
        "kunde2@example.net": OutboundStatus.SENT,
    }
    assert len(relay.sessions) == 2  # the mail after the hang-up went on a new connection


def test_a_text_only_message_reads_back_as_it_was_written(mailbox, relay):
    """Acknowledgements and notifications are built the lean way (`compat32`): what a mail
    program reads must be the same — names and subject in UTF-8, threading headers, the
    text in quoted-printable."""
    outbound = _acknowledgement_to("ayse@example.com", "third@example.net")
    outbound.subject = "[CW-2026-000042] Ihre Bestätigung über die Auslandsoption " + "ä" * 60
    outbound.body_text = "Guten Tag Frau Yıldız,\n\nIhr Tarif kostet 27,00 € → 24,30 €.\n"
    outbound.save(update_fields=["subject", "body_text"])

    assert send_due() == 1

    [sent] = relay.messages
    raw = sent.as_bytes()
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Ayşe Yıldız"
    assert parsed["To"].addresses[0].addr_spec == "ayse@example.com"
    assert parsed["From"].addresses[0].addr_spec == mailbox.address
    assert str(parsed["Subject"]) == outbound.subject
    assert parsed["In-Reply-To"] == "<third@example.net>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Message-ID"] == f"<{outbound.message_id}>"
    assert parsed.get_content() == outbound.body_text
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))

"""Answering a customer's e-mail from the case screen."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from casework.channels.email.models import Mailbox, OutboundEmail
from casework.channels.email.outbound import compose
from casework.channels.email.services import receive_email
from casework.events.models import Event
from casework.knowledge.models import ReplyTemplate
from tests.web.conftest import Helmut


def test_the_case_screen_answers_the_customers_mail(signed_in: Client, helmut: Helmut):
    Mailbox.objects.create(
        address="kundenservice@demo.casework.test",
        display_name="Kundenservice",
        case_type=helmut.case.case_type,
        acknowledges=False,
    )
    raw = (
        "From: Helmut Berger <helmut@example.de>\r\nTo: kundenservice@demo.casework.test\r\n"
        f"Subject: {helmut.case.reference} Frage\r\nMessage-ID: <h-1@example.de>\r\n\r\nHallo\r\n"
    ).encode()
    receive_email(raw, envelope_from="", recipients=["kundenservice@demo.casework.test"])
    url = reverse("web:case", kwargs={"case_id": helmut.case.pk})

    assert "Answer the customer" in signed_in.get(url).content.decode()
    reply_url = reverse("web:case_email_reply", kwargs={"case_id": helmut.case.pk})
    assert signed_in.post(reply_url, {"text": ""}).status_code == 422
    response = signed_in.post(reply_url, {"text": "Ihr Tarif ist umgestellt."})

    assert response.status_code == 302
    reply = OutboundEmail.objects.get(kind="reply")
    assert reply.case == helmut.case and reply.in_reply_to == "h-1@example.de"
    assert Event.objects.filter(
        code="interaction.recorded", actor_label__startswith="agent:"
    ).exists()


def test_reply_quotes_the_mail_carries_files_and_offers_filled_templates(
    signed_in: Client, helmut: Helmut
):
    mailbox = Mailbox.objects.create(
        address="kundenservice@demo.casework.test",
        display_name="Kundenservice",
        case_type=helmut.case.case_type,
        acknowledges=False,
    )
    ReplyTemplate.objects.create(
        code="thanks",
        language="de",
        name="Dank für die Nachricht",
        body="Guten Tag {{ customer.name }},\nzu {{ case.reference }}: {{ case.nonsense }}",
    )
    raw = (
        "From: Helmut Berger <helmut@example.de>\r\nTo: kundenservice@demo.casework.test\r\n"
        f"Subject: {helmut.case.reference} Frage\r\nMessage-ID: <h-2@example.de>\r\n"
        "Date: Wed, 25 Nov 2026 14:30:00 +0100\r\n\r\nIst mein Tarif umgestellt?\r\n"
    ).encode()
    receive_email(raw, envelope_from="", recipients=[mailbox.address])
    url = reverse("web:case", kwargs={"case_id": helmut.case.pk})

    page = signed_in.get(url).content.decode()
    # Filled for this case; an unknown placeholder stays visible for the agent to fix.
    assert f"Guten Tag Helmut Berger,\nzu {helmut.case.reference}: {{{{ case.nonsense }}}}" in page

    upload = SimpleUploadedFile("Vertrag.pdf", b"%PDF-1.4 vertrag", "application/pdf")
    response = signed_in.post(
        reverse("web:case_email_reply", kwargs={"case_id": helmut.case.pk}),
        {"text": "Ja, seit heute.", "quote": "on", "attachments": [upload]},
    )

    assert response.status_code == 302
    reply = OutboundEmail.objects.get(kind="reply")
    assert reply.body_text.startswith("Ja, seit heute.\n")
    # Quoted in the customer's language (German), with the time in Berlin.
    assert "Am 25.11.2026 14:30 schrieb Helmut Berger <helmut@example.de>:" in reply.body_text
    assert "> Ist mein Tarif umgestellt?" in reply.body_text
    message = compose(reply)
    files = [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]
    assert files == [("Vertrag.pdf", b"%PDF-1.4 vertrag")]


def test_an_oversized_reply_attachment_is_refused_with_its_name(
    signed_in: Client, helmut: Helmut, settings
):
    settings.CASEWORK_MAX_ATTACHMENT_BYTES = 10
    Mailbox.objects.create(
        address="kundenservice@demo.casework.test",
        display_name="Kundenservice",
        case_type=helmut.case.case_type,
        acknowledges=False,
    )
    raw = (
        "From: helmut@example.de\r\nTo: kundenservice@demo.casework.test\r\n"
        f"Subject: {helmut.case.reference}\r\nMessage-ID: <h-3@example.de>\r\n\r\nHallo\r\n"
    ).encode()
    receive_email(raw, envelope_from="", recipients=["kundenservice@demo.casework.test"])
    upload = SimpleUploadedFile("gross.bin", b"x" * 11, "application/octet-stream")

    response = signed_in.post(
        reverse("web:case_email_reply", kwargs={"case_id": helmut.case.pk}),
        {"text": "Anbei", "attachments": [upload]},
    )

    assert response.status_code == 422
    assert "gross.bin" in response.content.decode()
    assert not OutboundEmail.objects.exists()

"""Answering a customer's e-mail from the case screen."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casework.channels.email.models import Mailbox, OutboundEmail
from casework.channels.email.services import receive_email
from casework.events.models import Event
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

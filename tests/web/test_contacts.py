"""Reading a mail closely on the case screen (formatting, headers, original, files) and
putting contacts where they belong (link customer, split, merge, forward)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.cases.models import Case, CaseStatus
from casework.channels.email.models import Mailbox
from casework.channels.email.services import receive_email
from casework.intake.services import ingest
from casework.interactions.models import Attachment, Interaction
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, TeamFactory, inbound
from tests.web.conftest import Helmut

MAILBOX = "kundenservice@demo.casework.test"
HOSTILE_HTML = (
    '<p onclick="steal()">Hallo <b>Team</b></p><script>alert(1)</script>'
    '<a href="javascript:alert(2)">klick</a><img src="https://tracker.example/p.gif" '
    'onerror="alert(3)"><iframe src="https://evil.example"></iframe>'
)


@pytest.fixture
def mailbox(email_intake) -> Mailbox:  # noqa: ANN001
    return Mailbox.objects.create(
        address=MAILBOX,
        display_name="Kundenservice",
        case_type=email_intake.case_type,
        acknowledges=False,
    )


def deliver(message: EmailMessage) -> Interaction:
    message["To"] = MAILBOX
    received = receive_email(bytes(message), envelope_from="", recipients=[MAILBOX])
    assert received.status == "ingested", received.reason
    return Interaction.objects.get(external_id=message["Message-ID"].strip("<>"))


def html_mail(message_id: str = "<html-1@example.de>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Helmut Berger <helmut@example.de>"
    message["Subject"] = "Rechnung mit Anhang"
    message["Message-ID"] = message_id
    message["X-Custom-Trace"] = "hop-17"
    message.set_content("Hallo Team")
    message.add_alternative(HOSTILE_HTML, subtype="html")
    message.add_attachment(
        b"%PDF-1.4 rechnung", maintype="application", subtype="pdf", filename="Rechnung.pdf"
    )
    return message


def test_formatted_mail_is_sanitised_fenced_and_served_only_inside_the_site(
    signed_in: Client, helmut: Helmut, mailbox: Mailbox
):
    contact = deliver(html_mail())
    case_url = reverse("web:case", kwargs={"case_id": contact.case_id})
    page = signed_in.get(case_url).content.decode()
    html_url = reverse("web:contact_html", args=[contact.case_id, contact.pk])
    assert f'src="{html_url}"' in page
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page

    response = signed_in.get(html_url)

    body = response.content.decode()
    assert "<b>Team</b>" in body
    for forbidden in ("<script", "onclick", "onerror", "javascript:", "<iframe", "alert("):
        assert forbidden not in body
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy  # nothing may run
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_headers_original_and_attachment_are_there_on_demand(
    signed_in: Client, helmut: Helmut, mailbox: Mailbox
):
    contact = deliver(html_mail("<html-2@example.de>"))

    headers = signed_in.get(reverse("web:contact_headers", args=[contact.case_id, contact.pk]))
    assert "X-Custom-Trace: hop-17" in headers.content.decode()
    fragment = signed_in.get(
        reverse("web:contact_headers", args=[contact.case_id, contact.pk]), HTTP_HX_REQUEST="true"
    )
    assert fragment.content.decode().startswith('<pre class="mail-headers">')

    original = signed_in.get(reverse("web:contact_original", args=[contact.case_id, contact.pk]))
    assert original["Content-Type"] == "message/rfc822"
    assert b"X-Custom-Trace: hop-17" in original.content

    attachment = Attachment.objects.get(interaction=contact)
    page = signed_in.get(reverse("web:case", kwargs={"case_id": contact.case_id})).content
    assert reverse("web:attachment", args=[attachment.pk]).encode() in page
    download = signed_in.get(reverse("web:attachment", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 rechnung"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/octet-stream"


def test_another_teams_agent_cannot_read_the_mail_or_its_files(
    client: Client, helmut: Helmut, mailbox: Mailbox
):
    contact = deliver(html_mail("<html-3@example.de>"))
    attachment = Attachment.objects.get(interaction=contact)
    outsider = AgentFactory(teams=[TeamFactory(code="elsewhere")])
    client.force_login(outsider.user)

    for url in (
        reverse("web:contact_html", args=[contact.case_id, contact.pk]),
        reverse("web:contact_headers", args=[contact.case_id, contact.pk]),
        reverse("web:contact_original", args=[contact.case_id, contact.pk]),
        reverse("web:attachment", args=[attachment.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_contact_is_only_reachable_through_its_own_case(
    signed_in: Client, helmut: Helmut, mailbox: Mailbox
):
    contact = deliver(html_mail("<html-4@example.de>"))
    assert contact.case_id != helmut.case.pk  # a visible case, but not the contact's

    url = reverse("web:contact_headers", args=[helmut.case.pk, contact.pk])
    assert signed_in.get(url).status_code == 404


def test_agent_links_an_unidentified_case_to_the_customer_found_by_search(
    signed_in: Client, email_intake
):
    identify = QueueFactory(
        code="identify-customer", team=email_intake.case_type.default_queue.team
    )
    held = ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="neu@example.de",
            received_at=timezone.now(),
            subject="Wer bin ich?",
            unknown_sender_queue="identify-customer",
        )
    )
    case = held.case
    assert case.customer_id is None and case.queue == identify
    customer = CustomerFactory(first_name="Erika", last_name="Gefunden")

    page = signed_in.get(reverse("web:case", kwargs={"case_id": case.pk}), {"q": "Gefunden"})
    assert "Erika Gefunden" in page.content.decode()
    response = signed_in.post(
        reverse("web:case_link_customer", kwargs={"case_id": case.pk}), {"customer": customer.pk}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.customer_id == customer.pk
    assert case.queue == email_intake.case_type.default_queue
    assert customer.identifiers.filter(value="neu@example.de").exists()


def test_split_merge_and_forward_from_the_case_screen(
    signed_in: Client, helmut: Helmut, email_intake
):
    case = helmut.case
    contacts = Interaction.objects.filter(case=case).exclude(channel="note").order_by("pk")
    chat = contacts.last()

    response = signed_in.post(
        reverse("web:contact_split", args=[case.pk, chat.pk]), {"subject": "Vertragsänderung"}
    )
    assert response.status_code == 302
    new_case = Case.objects.get(subject="Vertragsänderung")
    assert response["Location"] == reverse("web:case", kwargs={"case_id": new_case.pk})

    bad = signed_in.post(reverse("web:case_merge", args=[new_case.pk]), {"reference": "nope"})
    assert bad.status_code == 422
    assert "CW-2026-000123" in bad.content.decode()
    signed_in.post(reverse("web:case_merge", args=[new_case.pk]), {"reference": case.reference})
    new_case.refresh_from_db()
    assert new_case.status == CaseStatus.CLOSED and new_case.merged_into_id == case.pk

    second_level = QueueFactory(code="second", team=TeamFactory(code="second-level", tier=2))
    missing_note = signed_in.post(reverse("web:case_forward", args=[case.pk]), {"queue": "second"})
    assert missing_note.status_code == 422
    response = signed_in.post(
        reverse("web:case_forward", args=[case.pk]), {"queue": "second", "note": "Bitte prüfen"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.queue == second_level and case.tier == 2
    # Now in another team's queue, the case is out of this agent's sight.
    assert signed_in.get(reverse("web:case", kwargs={"case_id": case.pk})).status_code == 404

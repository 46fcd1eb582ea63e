"""My cases: only the customer's own, their messages across channels without internal
notes, replies through the intake pipeline, documents with clear limits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casework.cases.models import Case, Task
from casework.interactions.files import store_bytes
from casework.interactions.models import Attachment, Interaction
from casework.portal.sessions import SESSION_KEY
from tests.factories import CaseFactory, InteractionFactory
from tests.portal.conftest import events

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):  # noqa: ANN201
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def reply(portal, case, **data):  # noqa: ANN001, ANN003, ANN201
    data.setdefault("submission_id", "a" * 32)
    return portal.post(reverse("portal:reply", kwargs={"case_id": case.pk}), data)


def test_the_list_shows_the_customers_cases_in_plain_words(portal, case, other_case):
    CaseFactory(customer=case.customer, subject="Sub-case of another department", parent=case)
    response = portal.get(reverse("portal:cases"))
    text = response.content.decode()
    assert "My internet is slow" in text and "In progress" in text
    assert case.reference in text
    assert "Otto" not in text
    assert "Sub-case of another department" not in text


def test_a_case_shows_messages_both_ways_and_no_internal_notes(portal, case):
    InteractionFactory(customer=case.customer, case=case, text="Why is it slow?")
    InteractionFactory(
        customer=case.customer, case=case, channel="phone", direction="outbound", text="We called"
    )
    InteractionFactory(
        customer=case.customer, case=case, channel="note", direction="internal", text="Grumpy one"
    )
    response = portal.get(reverse("portal:case", kwargs={"case_id": case.pk}))
    text = response.content.decode()
    assert "Why is it slow?" in text and "We called" in text
    assert "Grumpy one" not in text
    assert "no-store" in response["Cache-Control"]


def test_another_customers_case_is_not_found(portal, other_case):
    for name in ("portal:case",):
        assert portal.get(reverse(name, kwargs={"case_id": other_case.pk})).status_code == 404
    response = reply(portal, other_case, text="Let me in")
    assert response.status_code == 404
    assert not Interaction.objects.filter(case=other_case).exists()
    assert portal.get(reverse("portal:case", kwargs={"case_id": 99999999})).status_code == 404


def test_a_reply_is_an_inbound_portal_contact_through_intake(portal, case):
    response = reply(portal, case, text="It is still slow.")
    assert response.status_code == 302
    contact = Interaction.objects.get(case=case)
    assert (contact.channel, contact.direction, contact.text) == (
        "portal",
        "inbound",
        "It is still slow.",
    )
    assert contact.customer_id == case.customer_id
    assert Task.objects.filter(case=case, status="open").exists()  # work for an agent
    assert events("interaction.recorded")[-1].payload["channel"] == "portal"
    page = portal.get(response["Location"].split("#")[0]).content.decode()
    assert "It is still slow." in page and "your message has been sent" in page


def test_the_same_reply_sent_twice_is_recorded_once(portal, case):
    reply(portal, case, text="Double click")
    reply(portal, case, text="Double click")
    assert Interaction.objects.filter(case=case).count() == 1


def test_a_reply_reopens_a_resolved_case(portal, case):
    Case.objects.filter(pk=case.pk).update(status="resolved")
    reply(portal, case, text="Not solved after all")
    case.refresh_from_db()
    assert case.status != "resolved"


def test_a_closed_case_takes_no_reply(portal, case):
    Case.objects.filter(pk=case.pk).update(status="closed")
    response = reply(portal, case, text="Hello?")
    assert response.status_code == 409
    assert "This case is closed" in response.content.decode()
    assert not Interaction.objects.filter(case=case).exists()


def test_an_empty_reply_is_refused(portal, case):
    response = reply(portal, case, text="   ")
    assert response.status_code == 422
    assert "write a message or attach a document" in response.content.decode()


def test_documents_are_stored_with_the_reply_and_only_their_owner_downloads_them(
    portal, case, other, client
):
    response = reply(
        portal,
        case,
        text="Here is the bill",
        files=[upload("rechnung.pdf", PDF), upload("foto.png", PNG)],
    )
    assert response.status_code == 302
    documents = list(Attachment.objects.filter(interaction__case=case).order_by("pk"))
    assert [(d.filename, d.content_type) for d in documents] == [
        ("rechnung.pdf", "application/pdf"),
        ("foto.png", "image/png"),
    ]
    download = portal.get(reverse("portal:attachment", kwargs={"attachment_id": documents[0].pk}))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]

    session = client.session
    session[SESSION_KEY] = other.pk
    session.save()
    stranger = client.get(reverse("portal:attachment", kwargs={"attachment_id": documents[0].pk}))
    assert stranger.status_code == 404


def test_a_document_on_an_internal_note_is_not_downloadable(portal, case):
    note = InteractionFactory(
        customer=case.customer, case=case, channel="note", direction="internal"
    )
    document = Attachment.objects.create(
        interaction=note,
        filename="intern.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF),
        sha256=store_bytes(PDF),
    )
    response = portal.get(reverse("portal:attachment", kwargs={"attachment_id": document.pk}))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "only these file types are accepted"),
        ("page.html", b"<script>alert(1)</script>", "only these file types are accepted"),
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "is not a PDF file"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_forbidden_files_are_refused_with_a_clear_message_and_nothing_is_written(
    portal, case, name, content, message
):
    response = reply(
        portal, case, text="With a file", files=[upload("ok.pdf", PDF), upload(name, content)]
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert "With a file" in response.content.decode()  # the text is kept for another try
    assert not Interaction.objects.filter(case=case).exists()
    assert not Attachment.objects.exists()


def test_a_file_over_the_limit_is_refused(portal, case, settings):
    settings.CASEWORK_PORTAL_MAX_UPLOAD_BYTES = 1000
    response = reply(portal, case, text="Big", files=[upload("big.pdf", PDF + b"0" * 1000)])
    assert response.status_code == 422
    assert "“big.pdf” is too large" in response.content.decode()
    assert "a file may have at most 1000\xa0bytes" in response.content.decode()
    assert not Interaction.objects.filter(case=case).exists()


def test_too_many_files_are_refused(portal, case, settings):
    settings.CASEWORK_PORTAL_MAX_FILES = 2
    response = reply(portal, case, text="Many", files=[upload(f"{n}.pdf", PDF) for n in range(3)])
    assert response.status_code == 422
    assert "at most 2 files" in response.content.decode()


def test_the_case_list_reads_a_fixed_number_of_queries(
    portal, customer, django_assert_max_num_queries
):
    for number in range(5):
        CaseFactory(customer=customer, subject=f"Case {number}")
    with django_assert_max_num_queries(12):
        portal.get(reverse("portal:cases"))

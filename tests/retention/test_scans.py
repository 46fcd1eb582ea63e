"""Scanned response cards from the mail room: printed from a campaign's letters, filled in,
scanned, read back and turned into orders — or into exceptions with the page attached."""

from __future__ import annotations

import shutil
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from casework.api.tokens import create_token
from casework.cases.models import Case, Task, TaskKind, TaskStatus
from casework.interactions.models import Attachment, Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.retention import campaigns, scanning, scans
from casework.retention.models import CampaignChannel, PendingResponse, Response
from tests.engine import run_jobs
from tests.factories import AgentFactory
from tests.retention.factories import CampaignFactory, RecipientFactory
from tests.retention.printing import (
    Scanner,
    encode,
    render_page,
    scan,
    tick,
    two_cards_on_one_page,
    write_remarks,
)
from tests.retention.test_responses import customer_ending_in

pytestmark = pytest.mark.django_db
MAILROOM = Actor.system("mailroom")
SCANNER = Scanner(rotate=-1.5, noise=5, blur=0.6, seed=3)


@pytest.fixture
def printed(international):  # noqa: ANN001, ANN201
    """Two letters of a letter campaign, printed: the pages as images."""
    campaign = CampaignFactory(offer=international, channel=CampaignChannel.LETTER)
    for _ in range(2):
        RecipientFactory(campaign=campaign, customer=customer_ending_in(45))
    pdf, count = campaigns.print_letters(campaign)
    assert count == 2
    return [render_page(pdf, page_index=index) for index in range(2)]


def read(image, name: str = "scan.png") -> list[scans.PageResult]:  # noqa: ANN001
    return scans.receive_scan(encode(image, "png"), filename=name, actor=MAILROOM)


def test_a_ticked_card_becomes_an_order_with_the_scan_attached(printed):
    results = read(scan(tick(printed[0], "accept"), SCANNER))
    run_jobs()

    response = results[0].response
    assert response.outcome == "ordered" and response.details["read_by"] == "qr"
    case = Case.objects.get(pk=response.case_id)
    assert case.stage == "offer-accepted"
    attachment = Attachment.objects.get(interaction__case=case)
    assert attachment.filename == "scan.png" and attachment.content_type == "image/png"


def test_a_declined_card_declines(printed):
    response = read(scan(tick(printed[0], "decline", style="check"), SCANNER))[0].response
    run_jobs()
    assert response.outcome == "declined"
    assert Case.objects.get(pk=response.case_id).stage == "offer-declined"


def test_a_handwritten_remark_goes_to_a_person(printed):
    page = write_remarks(tick(printed[0], "accept"), "Bitte rufen Sie mich vorher an")
    response = read(scan(page, SCANNER))[0].response
    run_jobs()

    assert response.reason == "remark"
    assert "anrufen" in response.details["remarks"].lower() or "rufen" in (
        response.details["remarks"].lower()
    )
    task = Task.objects.get(case=response.case, kind=TaskKind.EXCEPTION, status=TaskStatus.OPEN)
    assert task.details["reason"] == response.reason_text


def test_no_tick_two_cards_and_a_blank_page_are_exceptions(printed):
    unticked = read(scan(printed[0], SCANNER), "leer.png")[0].response
    both = read(scan(two_cards_on_one_page([tick(p, "accept") for p in printed]), SCANNER))
    blank = read(scan(printed[0].point(lambda _: 255), SCANNER))

    assert unticked.reason == "choice_unclear"
    assert both[0].response.reason == "two_codes"
    assert len(both[0].response.details["codes"]) == 2
    assert blank[0].response.reason == "no_code" and blank[0].response.customer_id is None
    assert Response.objects.filter(outcome="ordered").count() == 0


def test_the_same_file_twice_yields_nothing_new(printed):
    image = scan(tick(printed[1], "accept"), SCANNER)
    first = read(image)
    again = read(image)
    assert first[0].response is not None and again[0].response is None
    assert Response.objects.count() == 1


def test_a_file_that_is_no_scan_is_kept_as_an_exception(international):
    results = scans.receive_scan(b"%PDF-1.4 broken", filename="kaputt.pdf", actor=MAILROOM)
    response = results[0].response
    assert response.reason == "no_code" and "kaputt.pdf" in response.details["read_error"]
    assert Attachment.objects.filter(interaction__case=response.case).exists()


def test_an_oversized_file_is_refused(international, settings):
    settings.CASEWORK_MAX_SCAN_BYTES = 1000
    with pytest.raises(InvalidInput, match="MB"):
        scans.receive_scan(b"0" * 1001, filename="x.pdf", actor=MAILROOM)


def test_scan_uploads_may_be_larger_than_other_requests(international, settings):
    settings.CASEWORK_MAX_REQUEST_BYTES = 1000
    token = create_token(AgentFactory().user.username)
    big = SimpleUploadedFile("gross.pdf", b"%PDF-1.4 " + b"0" * 5000)
    answer = Client().post(
        "/api/v1/retention/scans", {"scan": big}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and answer.json()[0]["reason"] == "no_code"
    other = Client().post(
        "/api/v1/inbound",
        b"x" * 2000,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert other.status_code == 413


def test_the_api_and_the_desk_take_scans(printed):
    image = encode(scan(tick(printed[0], "accept"), SCANNER), "jpeg")
    token = create_token(AgentFactory().user.username)
    answer = Client().post(
        "/api/v1/retention/scans",
        {"scan": SimpleUploadedFile("karte.jpg", image, content_type="image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()[0]["outcome"] == "ordered"

    desk = Client()
    desk.force_login(AgentFactory().user)
    page = desk.post(
        "/retention/scans/",
        {"scan": SimpleUploadedFile("karte2.png", encode(printed[1], "png"))},
    )
    assert page.status_code == 200 and 'data-outcome="exception"' in page.content.decode()


def test_without_tesseract_the_answer_says_what_to_install(printed, monkeypatch):
    def no_ocr(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise scanning.OcrUnavailable("tesseract is not installed")

    monkeypatch.setattr(scanning, "read_scan", no_ocr)
    token = create_token(AgentFactory().user.username)
    answer = Client().post(
        "/api/v1/retention/scans",
        {"scan": SimpleUploadedFile("karte.png", encode(printed[0], "png"))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 503 and "tesseract-ocr-deu" in answer.json()["detail"]


def test_a_scan_folder_is_worked_through_once(printed, tmp_path, settings):
    settings.CASEWORK_MAX_SCAN_BYTES = 8 * 2**20
    (tmp_path / "karte.png").write_bytes(encode(scan(tick(printed[0], "accept"), SCANNER)))
    (tmp_path / "riesig.pdf").write_bytes(b"0" * (8 * 2**20 + 1))
    (tmp_path / "notiz.txt").write_text("kein Scan")

    call_command("scans", folder=str(tmp_path))
    # Delivered again before the worker came by: the queued page is not queued twice.
    shutil.copy(tmp_path / "done" / "karte.png", tmp_path / "karte.png")
    call_command("scans", folder=str(tmp_path))

    assert (tmp_path / "done" / "karte.png").exists()
    assert "MB" in (tmp_path / "failed" / "riesig.pdf.txt").read_text()
    assert (tmp_path / "notiz.txt").exists()
    # The folder's pages wait for the worker, which receives them in batches.
    assert not Response.objects.exists()
    assert PendingResponse.objects.get().attachments[0]["filename"] == "karte.png"
    run_jobs()
    response = Response.objects.get()
    assert response.outcome == "ordered"
    # The scan travels with the response: the person looking at the case sees the page.
    interaction = Interaction.objects.get(case=response.case, direction="inbound")
    assert interaction.attachments.get().filename == "karte.png"


def test_campaign_commands(international, tmp_path):
    campaign = CampaignFactory(offer=international, channel=CampaignChannel.LETTER)
    customer_ending_in(45).consents.create(
        purpose="marketing_letter", is_granted=True, recorded_at=timezone.now()
    )
    call_command("campaign", "select", campaign.code)
    out = tmp_path / "briefe.pdf"
    call_command("campaign", "letters", campaign.code, output=str(out))
    assert out.read_bytes().startswith(b"%PDF") and campaign.recipients.count() == 1
    with pytest.raises(CommandError):
        call_command("campaign", "select", "no-such-campaign")


def test_a_card_scanned_into_an_email_is_read_from_the_case_screen(printed):
    from casework.channels.email.services import receive_email
    from casework.interactions.models import Attachment as StoredAttachment

    image = encode(scan(tick(printed[0], "accept"), SCANNER), "jpeg")
    message = EmailMessage()
    message["From"], message["To"] = "poststelle@example.de", "service@demo.casework.test"
    message["Subject"], message["Message-ID"] = "Scan Antwortkarten", "<scan-1@example.de>"
    message.set_content("Anbei der Scan.")
    message.add_attachment(image, maintype="image", subtype="jpeg", filename="karte.jpg")
    received = receive_email(
        message.as_bytes(),
        envelope_from="poststelle@example.de",
        recipients=["service@demo.casework.test"],
    )
    case = Case.objects.get(reference=received.case_reference)
    attachment = StoredAttachment.objects.get(interaction__case=case, filename="karte.jpg")
    agent = AgentFactory(role="admin")
    desk = Client()
    desk.force_login(agent.user)

    screen = desk.get(f"/cases/{case.pk}/").content.decode()
    assert f"/attachments/{attachment.pk}/as-response-card/" in screen
    page = desk.post(f"/attachments/{attachment.pk}/as-response-card/")

    assert 'data-outcome="ordered"' in page.content.decode()
    assert Response.objects.get().details["source"] == "email"

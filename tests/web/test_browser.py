"""The agent desktop in real Chromium: Helmut's journey from sign-in to a resolved case,
and the language switch. One browser for the module; a fresh context per test."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect

from casework.cases.models import CaseStatus
from casework.channels.email.models import Mailbox, OutboundEmail
from casework.channels.email.services import receive_email
from casework.interactions.models import Interaction
from casework.routing.models import Agent
from tests.browser import sign_in
from tests.web.conftest import Helmut

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_takes_the_next_case_sees_every_channel_adds_a_note_and_resolves_it(
    page: Page, agent: Agent, helmut: Helmut
):
    sign_in(page, agent)
    expect(page.locator(".agent-name")).to_have_text(agent.user.get_full_name())

    page.get_by_role("button", name="Get next").click()

    expect(page).to_have_url(re.compile(rf"/cases/{helmut.case.pk}/$"))
    expect(page.get_by_role("heading", name="Frage zum Tarif")).to_be_visible()
    timeline = page.locator("#customer-360 .timeline")
    expect(timeline.locator(".channel-label")).to_have_text(["Chat", "Phone", "E-mail"])
    expect(page.locator("#customer-360")).to_contain_text("030 1234567")

    # htmx swaps the notes panel; a full page load would clear this marker.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Note", exact=True).fill("Kunde möchte nur noch Telefonie.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#case-notes .note")).to_contain_text("Kunde möchte nur noch Telefonie.")
    expect(page.locator("#flash")).to_contain_text("Note added.")
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_label("Resolution", exact=True).select_option("answered")
    page.get_by_label("Resolution note").fill("Tarif auf Sprache S umgestellt.")
    page.get_by_role("button", name="Resolve").click()

    expect(page.locator("#case-summary .case-status")).to_have_text("Resolved")
    expect(page.locator("#case-summary .resolution")).to_contain_text("Answered")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    page.reload()
    expect(page.locator("#case-summary .case-status")).to_have_text("Resolved")
    helmut.case.refresh_from_db()
    assert helmut.case.status == CaseStatus.RESOLVED
    assert Interaction.objects.filter(case=helmut.case, channel="note").count() == 1


def test_language_switch_changes_labels_and_formats(page: Page, agent: Agent, helmut: Helmut):
    sign_in(page, agent)
    page.goto(f"/cases/{helmut.case.pk}/")
    chat_time = page.locator("#customer-360 .channel-chat time")
    expect(chat_time).to_have_text("11/25/2026 2:30 p.m.")

    page.get_by_role("button", name="Deutsch").click()

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page).to_have_url(re.compile(rf"/cases/{helmut.case.pk}/$"))
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(chat_time).to_have_text("25.11.2026 14:30")
    expect(page.locator("#customer-360")).to_contain_text("19,99\xa0€")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(chat_time).to_have_text("11/25/2026 2:30 p.m.")


def test_slash_focuses_the_search_and_finds_the_customer(page: Page, agent: Agent, helmut: Helmut):
    sign_in(page, agent)

    page.keyboard.press("/")
    page.keyboard.type("Berger")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=Berger$"))
    page.get_by_role("link", name="Helmut Berger").click()
    expect(page.get_by_role("heading", name="Helmut Berger")).to_be_visible()


def test_a_forbidden_reassignment_shows_the_reason_in_the_banner(
    page: Page, agent: Agent, colleague: Agent, helmut: Helmut
):
    sign_in(page, agent)
    page.goto(f"/cases/{helmut.case.pk}/")

    page.get_by_label("Owner").select_option(label=colleague.display_name)
    page.get_by_role("button", name="Reassign").click()

    expect(page.locator("#flash .flash-error")).to_contain_text(
        "Only a supervisor may assign cases to other agents"
    )
    expect(page.locator("#case-summary .case-owner")).to_contain_text("nobody")


HOSTILE_MAIL_HTML = (
    "<p>Guten Tag, <b>anbei die Rechnung</b>.</p>"
    "<script>parent.document.title = 'pwned'; alert('script')</script>"
    "<img src=\"x\" onerror=\"parent.document.title = 'pwned'; alert('img')\">"
    "<a href=\"javascript:alert('link')\">Hier klicken</a>"
    "<svg onload=\"alert('svg')\"></svg>"
    "<iframe src=\"javascript:alert('frame')\"></iframe>"
)


def test_agent_reads_a_hostile_html_mail_safely_and_answers_it(
    page: Page, agent: Agent, helmut: Helmut
):
    mailbox = Mailbox.objects.create(
        address="kundenservice@demo.casework.test",
        display_name="Kundenservice",
        case_type=helmut.case.case_type,
        acknowledges=False,
    )
    message = EmailMessage()
    message["From"] = "Helmut Berger <helmut@example.de>"
    message["To"] = mailbox.address
    message["Subject"] = f"[{helmut.case.reference}] Rechnung"
    message["Message-ID"] = "<hostile-1@example.de>"
    message["X-Trace"] = "relay-7"
    message.set_content("Guten Tag, anbei die Rechnung.\n\n> Alte Nachricht\n> von gestern")
    message.add_alternative(HOSTILE_MAIL_HTML, subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="R.pdf")
    receive_email(bytes(message), envelope_from="", recipients=[mailbox.address])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, agent)
    page.goto(f"/cases/{helmut.case.pk}/")
    title = page.title()

    mail = page.locator(".entry", has_text="anbei die Rechnung").first
    mail.get_by_text("Original formatting").click()
    document = page.frame_locator("iframe.mail-document")
    expect(document.locator("b")).to_have_text("anbei die Rechnung")
    # The javascript: target is gone; what is left is text.
    expect(document.get_by_text("Hier klicken")).not_to_have_attribute("href", re.compile("."))
    document.get_by_text("Hier klicken").click()
    page.wait_for_timeout(300)  # give any script that slipped through the time to run
    assert dialogs == []
    assert page.title() == title
    assert document.locator("script, iframe, svg").count() == 0

    mail.get_by_text("All headers").click()
    expect(mail.locator(".mail-headers")).to_contain_text("X-Trace: relay-7")
    with page.expect_download() as download:
        mail.get_by_role("link", name="R.pdf").click()
    assert download.value.suggested_filename == "R.pdf"

    page.get_by_label("Reply by e-mail").fill("Vielen Dank, wir prüfen die Rechnung.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#flash")).to_contain_text("Your reply is on its way")
    reply = OutboundEmail.objects.get(kind="reply")
    assert reply.in_reply_to == "hostile-1@example.de"
    assert "wir prüfen die Rechnung" in reply.body_text


def test_the_admin_shows_a_case_types_life_cycle(page: Page, engine):
    from django.contrib.auth import get_user_model

    from casework.cases.models import PublishedCaseType

    get_user_model().objects.create_superuser("root", "root@example.org", "secret-password")
    published = PublishedCaseType.objects.get(key="collecting-society-request")
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("secret-password")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"/admin/cases/publishedcasetype/{published.pk}/change/")

    drawing = page.locator(".life-cycle svg")
    expect(drawing).to_be_visible()
    expect(drawing).to_contain_text("Intake")
    expect(drawing).to_contain_text("2nd level")
    expect(drawing).to_contain_text("Withdrawn")
    box = drawing.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    page.screenshot(path="/tmp/casework-life-cycle.png", full_page=True)

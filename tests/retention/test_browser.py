"""Retention in real Chromium: the customer answers through the campaign's link; the mail
room uploads a scanned card on the desk and follows it to the resolved order."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from casework.kernel.actors import Role
from casework.retention import campaigns, codes
from casework.retention.models import CampaignChannel, Response
from casework.routing.models import Queue
from tests.browser import sign_in
from tests.factories import AgentFactory
from tests.retention.factories import CampaignFactory, RecipientFactory, retention_worker
from tests.retention.printing import Scanner, encode, render_page, scan, tick
from tests.retention.test_responses import customer_ending_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_customer_accepts_through_the_link_in_her_language(page: Page, international, settings):
    settings.CASEWORK_RETENTION_PAGE_WAIT_SECONDS = 10  # the worker answers much sooner
    customer = customer_ending_in(45, language="en")
    customer.first_name = "Lisa"
    customer.save()
    recipient = RecipientFactory(campaign=CampaignFactory(offer=international), customer=customer)

    page.goto("/r/" + codes.compact(codes.code_for(recipient.token)))
    expect(page.get_by_role("heading", name="International option")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Hello Lisa, this is your personal offer.")
    with retention_worker():
        page.get_by_role("button", name="Yes, I accept the offer").click()
        result = page.locator("#response-result")
        expect(result).to_have_attribute("data-outcome", "ordered")
    reference = Response.objects.get().case.reference
    expect(result).to_contain_text(reference)


def test_the_mail_room_uploads_a_scan_and_follows_it_to_the_order(page: Page, international):
    campaign = CampaignFactory(offer=international, channel=CampaignChannel.LETTER)
    RecipientFactory(campaign=campaign, customer=customer_ending_in(45))
    pdf, _count = campaigns.print_letters(campaign)
    card = scan(tick(render_page(pdf), "accept"), Scanner(rotate=1.5, noise=4, seed=5))
    # The retention team's supervisor: the order lands in the retention queue.
    supervisor = AgentFactory(
        role=Role.SUPERVISOR, teams=[Queue.objects.get(code="retention").team]
    )
    sign_in(page, supervisor)

    page.get_by_role("link", name="Scans").click()
    page.get_by_label("Scanned response cards (PDF or image)").set_input_files(
        files=[{"name": "karte.png", "mimeType": "image/png", "buffer": encode(card)}]
    )
    page.get_by_role("button", name="Read the scans").click()

    row = page.locator("#scan-results tbody tr")
    expect(row).to_have_attribute("data-outcome", "ordered")
    row.get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("karte.png")
    assert Response.objects.get().case.stage == "offer-accepted"

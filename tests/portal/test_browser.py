"""The portal in real Chromium: Lisa asks for a link, reads it from the outgoing mail,
signs in, sees her case, replies, and accepts the offer an agent proposed, ticking the
confirmation. Script she writes is shown as text to her and to the agent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from casework.customers.models import Contract
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from casework.offers.models import OfferDecision
from casework.offers.services import propose_offer
from tests.browser import sign_in
from tests.factories import AgentFactory
from tests.portal.conftest import LISA_EMAIL, delivered_mails, events, mail_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = (
    "<img src=x onerror=\"document.body.dataset.pwned='yes'\">"
    "<script>document.body.dataset.pwned='yes'</script>"
)


def test_lisa_signs_in_by_link_replies_and_accepts_the_offer(
    page: Page, customer, case, offer, outbox
):
    propose_offer(customer, "loyalty-20", channel="chat", actor=Actor.system("chatbot"), case=case)

    page.goto("/portal/")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.get_by_label("E-mail address").first.fill(LISA_EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    (message,) = delivered_mails(outbox)
    link = re.search(r"https?://\S+/portal/sign-in/[\w-]{43}/", mail_body(message)).group(0)
    page.goto("/" + link.split("://", 1)[1].partition("/")[2])
    page.get_by_role("button", name="Continue to the portal").click()
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()

    page.get_by_role("link", name="My internet is slow").click()
    page.get_by_label("Your message").fill("Still slow in the evening. " + XSS)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("your message has been sent")).to_be_visible()
    expect(page.locator(".history")).to_contain_text("Still slow in the evening. <img src=x")
    assert page.evaluate("document.body.dataset.pwned") is None
    assert Interaction.objects.get(case=case, channel="portal").direction == "inbound"

    page.get_by_role("link", name="Offers").click()
    expect(page.get_by_text("Offered to you personally")).to_be_visible()
    page.get_by_role("link", name="Loyalty discount 20 %").click()
    page.get_by_role("button", name="Accept the offer").click()
    expect(page.get_by_role("alert")).to_contain_text("Please confirm")
    page.get_by_label("I accept the offer „Loyalty discount 20 %“").check()
    page.get_by_role("button", name="Accept the offer").click()
    expect(page.locator("#offer-result")).to_have_attribute("data-outcome", "accepted")
    decision = OfferDecision.objects.get()
    assert decision.channel == "portal"
    assert str(Contract.objects.get(customer=customer).monthly_fee) == "11.99"
    (evidence,) = events("portal.offer_accepted")
    assert (
        "HeadlessChrome" in evidence.payload["user_agent"]
        or "Chrome" in evidence.payload["user_agent"]
    )


def test_the_agent_sees_the_customers_script_as_text(page: Page, portal, case):
    portal.post(
        f"/portal/cases/{case.pk}/reply/", {"text": "Hello " + XSS, "submission_id": "f" * 32}
    )
    sign_in(page, AgentFactory(teams=[case.queue.team]))
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("main")).to_contain_text("Hello <img src=x")
    assert page.evaluate("document.body.dataset.pwned") is None


def test_the_portal_fits_a_phone_and_works_by_keyboard(browser, live_server, customer):
    context = browser.new_context(
        base_url=live_server.url, locale="de-DE", viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    page.goto("/portal/sign-in/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()  # past the header, into the form
    page.keyboard.type(LISA_EMAIL)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    context.close()

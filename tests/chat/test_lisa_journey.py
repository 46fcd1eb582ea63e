"""Lisa's journey end to end on the demo data, in real Chromium against a real ASGI server:
the link in her campaign mail → the chat knows her → the bot answers her tariff question
from the knowledge base and proposes the international offer → she asks for a person →
nobody is free, she asks for a callback → it is routed to an agent, who sees the transcript
and her profile and adds the option to her portal → she signs in to the portal and accepts
it → the acceptance and its evidence are in the event log."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, expect

from casework.channels.email.models import OutboundEmail
from casework.customers.models import Contract, Customer
from casework.demo import retention as demo_retention
from casework.demo.loading import load_demo
from casework.events.models import Event
from casework.kernel import jobs
from casework.offers.models import OfferDecision, OfferProposal
from casework.routing.models import Agent, WorkItem
from casework.routing.presence import set_presence
from tests.chat.conftest import SYSTEM
from tests.routing.conftest import eventually, router_process  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("router", ["embedded", "process"])
def test_lisas_journey(browser: Browser, asgi_server, settings, router, request) -> None:  # noqa: ANN001
    settings.CASEWORK_FEDERAL_STATE = "NW"
    settings.CASEWORK_CHAT_AGENT_WAIT_SECONDS = 1
    load_demo(generated_customers=40, progress=lambda line: None)
    lisa = Customer.objects.get(customer_number="K10000002")
    # The demo's history has this journey's end already (anna offered it after Lisa's
    # earlier chat); here it happens live.
    OfferProposal.objects.filter(customer=lisa).delete()
    for agent in Agent.objects.filter(user__username__in=["anna", "carla"]):
        set_presence(agent.pk, "break", actor=SYSTEM)  # nobody free when she asks
    if router == "process":  # the engine in `casework router`, asked over loopback
        request.getfixturevalue("router_process").start()

    context = browser.new_context(base_url=asgi_server.url, locale="de-DE")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(demo_retention.lisa_link().split("8000", 1)[1])
    chat = page.locator("[data-casework-chat]")
    chat.get_by_role("button", name="Chat öffnen").click()
    log = chat.get_by_role("log")
    expect(log).to_contain_text("Sie kommen von unserer Nachricht zu Ihrem Vertrag")

    chat.get_by_label("Ihre Nachricht").fill("Welche Tarife gibt es fürs Ausland?")
    chat.get_by_label("Ihre Nachricht").press("Enter")
    expect(chat.get_by_role("link", name="Auslandstarife und Option Welt")).to_have_attribute(
        "href", re.compile(r"/help/auslandstarife-option-welt/")
    )
    expect(log).to_contain_text("Ein passendes Angebot für Sie: Option Welt")
    expect(chat.get_by_role("link", name="Angebot ansehen und annehmen")).to_have_attribute(
        "href", re.compile(r"/portal/offers/international-option/$")
    )

    chat.get_by_label("Ihre Nachricht").fill("Ich möchte mit einem Menschen sprechen")
    chat.get_by_label("Ihre Nachricht").press("Enter")
    expect(log).to_contain_text("Ich verbinde Sie")
    time.sleep(1.2)
    jobs.run_due()  # the worker: the wait is over, nobody took the chat
    chat.get_by_role("button", name="Rückruf").click()
    expect(log).to_contain_text("Wir rufen Sie unter +4915234567890 zurück")
    callback_items = WorkItem.objects.filter(channel="callback", customer=lisa)
    assert eventually(callback_items.exists)  # a router process writes behind
    callback = callback_items.get()

    # Carla, who served Lisa before (the router prefers her), becomes available: the
    # callback is offered to her; she takes it and lands on the case with the chat's
    # transcript and Lisa's profile.
    desk = browser.new_context(base_url=asgi_server.url, locale="en-US").new_page()
    desk.set_default_timeout(20_000)
    desk.goto("/login/")
    desk.get_by_label("Username").fill("carla")
    desk.get_by_label("Password").fill("casework-demo")
    desk.get_by_role("button", name="Log in").click()
    desk.goto("/chat/console/")
    desk.get_by_role("button", name="Available").click()
    desk.get_by_role("button", name="Accept").click()
    expect(desk).to_have_url(re.compile(rf"/cases/{callback.case_id}/$"))
    main = desk.locator("main")
    expect(main).to_contain_text("Welche Tarife gibt es fürs Ausland?")
    expect(main).to_contain_text("Lisa Schneider")
    expect(main).to_contain_text("Im Chat um Rückruf gebeten, unter +4915234567890")
    option = desk.locator("#offer-international-option")
    option.get_by_role("button", name="Offer in the portal").click()
    expect(desk.locator("#offer-international-option")).to_contain_text("Offered in the portal")
    proposal = OfferProposal.objects.get(customer=lisa, offer__code="international-option")
    assert proposal.case_id == callback.case_id and "carla" in proposal.proposed_by

    # Lisa signs in to the portal with a mailed link and accepts, confirming explicitly.
    page.goto("/portal/sign-in/")
    page.locator("#email").fill("lisa.schneider@example.org")
    page.locator("#email").press("Enter")
    mail = OutboundEmail.objects.filter(to_address="lisa.schneider@example.org").latest("pk")
    link = re.search(r"/portal/sign-in/[\w-]{43}/", mail.body_text).group(0)
    page.goto(link)
    page.locator("form button[type=submit]").last.click()
    page.goto("/portal/offers/international-option/")
    page.get_by_role("checkbox").check()
    page.locator("button[name=answer][value=accept]").click()
    expect(page.locator("#offer-result")).to_have_attribute("data-outcome", "accepted")

    decision = OfferDecision.objects.get(customer=lisa, offer__code="international-option")
    assert decision.channel == "portal" and decision.is_accepted
    contract = Contract.objects.filter(customer=lisa, status="active").first()
    assert contract.options.filter(code="intl-welt").exists()
    evidence = Event.objects.get(code="portal.offer_accepted", object_id__isnull=False)
    assert len(evidence.payload["offer_text_sha256"]) == 64
    assert "Option Welt" in evidence.payload["offer_text"]
    assert evidence.payload["client_address"] == "127.0.0.1"
    codes = set(Event.objects.values_list("code", flat=True))
    assert {"chat.offer_proposed", "chat.handed_over", "chat.callback_requested"} <= codes
    context.close()

"""Helmut's journey end to end on the demo data, in real Chromium against a real ASGI server,
the telephone system played over HTTP with signed CTI events: his first call pops his
history on anna's desk, she opens a case and books Mobil M with a smartphone; his second call
(from his mobile) is routed straight to her although a colleague has waited longer, the pop
shows the order, and she switches it to the voice-only tariff and sends it by post."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import Browser, Page, expect

from casework.channels.phone.models import Call, CallOutcome
from casework.customers.models import Contract, ContractStatus, Customer
from casework.demo import phone as demo_phone
from casework.demo.loading import load_demo
from casework.events.models import Event
from casework.events.webhooks import sign
from casework.routing.models import Agent, AgentStatus, Offer
from casework.routing.port import get_router
from casework.routing.presence import set_presence
from tests.chat.conftest import SYSTEM, asgi_server  # noqa: F401  (fixture)
from tests.routing.conftest import eventually, router_process  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _pbx(server, event: dict) -> dict:  # noqa: ANN001
    """The telephone system posts one event, signed with the demo connection's secret."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    request = urllib.request.Request(
        f"{server.url}/api/v1/cti/generic/{demo_phone.CONNECTION}/events",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Casework-Signature": f"t={stamp},v1={sign(demo_phone.DEMO_SECRET, stamp, body)}",
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("casework-demo")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("router", ["embedded", "process"])
def test_helmuts_journey(browser: Browser, asgi_server, settings, router, request) -> None:  # noqa: ANN001, F811
    settings.CASEWORK_FEDERAL_STATE = "NW"
    load_demo(generated_customers=40, progress=lambda line: None)
    helmut = Customer.objects.get(customer_number="K10000001")
    anna = Agent.objects.get(user__username="anna")
    ben = Agent.objects.get(user__username="ben")
    # As before his first call: the demo's story has the brochure's order booked already.
    Contract.objects.filter(customer=helmut, status=ContractStatus.ORDERED).delete()
    for agent in Agent.objects.exclude(pk=anna.pk):
        set_presence(agent.pk, "offline", actor=SYSTEM)
    offers_of_the_demo_history = Offer.objects.count()
    if router == "process":  # the engine in `casework router`, asked over loopback
        router_process = request.getfixturevalue("router_process")
        router_process.start()

    context = browser.new_context(base_url=asgi_server.url, locale="en-US")
    context.set_default_timeout(20_000)
    desk = context.new_page()
    _sign_in(desk, "anna")
    bar = desk.locator("#phone-bar")
    expect(bar).to_contain_text("Available")

    # First call, from his landline: the pop arrives by itself.
    first = _pbx(
        asgi_server,
        {"event": "new_call", "call_id": "h-1", "caller": "030 2345 6789",
         "called": "+49 800 1234567"},
    )  # fmt: skip
    assert first["action"] == "connect" and first["agent"]["extension"] == "201"
    expect(bar).to_contain_text("Incoming call")
    expect(bar).to_contain_text("Helmut Berger")
    expect(bar).to_contain_text("Landline comfort")
    expect(bar).to_contain_text("Anruf: Angebot aus der Broschüre")  # his history

    _pbx(asgi_server, {"event": "answered", "call_id": "h-1", "agent": "201"})
    expect(bar).to_contain_text("In conversation")
    get_router().set_presence(ben.pk, "available", actor=SYSTEM)  # waits longer than anna

    bar.get_by_label("New case").select_option("tariff-advice")
    bar.get_by_placeholder("What is it about?").fill("Smartphone mit Tarif aus der Broschüre")
    bar.get_by_role("button", name="Open case").click()
    expect(desk).to_have_url(re.compile(r"/cases/\d+/$"))
    case_url = desk.url
    desk.get_by_role("link", name="Book a contract").click()
    desk.locator("#contract-panel").get_by_label("Tariff").select_option("mobil-m")
    desk.get_by_label("Smartphone A54").check()
    desk.get_by_role("button", name="Book the contract").click()
    expect(desk.locator("#flash")).to_contain_text("is booked (ordered)")

    _pbx(asgi_server, {"event": "hangup", "call_id": "h-1", "cause": "normal"})
    expect(bar).to_contain_text("Wrap up the call")
    bar.get_by_label("What was the call about?").select_option("order")
    bar.get_by_label("Note").fill("Mobil M mit Smartphone A54 gebucht.")
    bar.get_by_role("button", name="Wrap up").click()
    expect(bar).not_to_contain_text("Wrap up the call")
    assert eventually(lambda: AgentStatus.objects.get(agent=anna).presence_id == "available")

    # Second call, from his mobile: straight to anna, though ben has waited longer.
    second = _pbx(
        asgi_server,
        {"event": "new_call", "call_id": "h-2", "caller": "0171 2345678",
         "called": "+49 800 1234567"},
    )  # fmt: skip
    assert second["agent"]["extension"] == "201"
    expect(bar).to_contain_text("Incoming call")
    expect(bar).to_contain_text("Mobile M (20 GB)")
    expect(bar).to_contain_text("Ordered")
    _pbx(asgi_server, {"event": "answered", "call_id": "h-2", "agent": "201"})
    expect(bar).to_contain_text("In conversation")
    bar.get_by_role("button", name="File").click()
    expect(bar).to_contain_text("Filed under")

    desk.goto(case_url)
    desk.get_by_role("link", name="Change or cancel").click()
    desk.locator("#contract-panel").get_by_label("Tariff").select_option("sprache-basis")
    desk.get_by_label("Smartphone A54").uncheck()
    desk.get_by_role("button", name="Change the order").click()
    expect(desk.locator("#flash")).to_contain_text("is changed")
    ordered = desk.locator("#customer-360 table tr", has_text="Voice basic")
    ordered.get_by_role("button", name="Send by post").click()
    expect(desk.locator("#flash")).to_contain_text("goes to the customer by post")

    _pbx(asgi_server, {"event": "hangup", "call_id": "h-2", "cause": "normal"})
    expect(bar).to_contain_text("Wrap up the call")
    bar.get_by_label("What was the call about?").select_option("order")
    bar.get_by_role("button", name="Wrap up").click()
    expect(bar).not_to_contain_text("Wrap up the call")

    if router == "process":
        assert router_process.stop() == 0  # its last flush writes what it decided
    calls = list(Call.objects.filter(customer=helmut).order_by("started_at"))
    assert [call.agent for call in calls] == [anna, anna]
    assert all(call.outcome == CallOutcome.ANSWERED for call in calls)
    assert calls[0].case_id == calls[1].case_id is not None
    affinity = Offer.objects.get(item=calls[1].work_item)
    assert affinity.agent == anna and affinity.is_affinity
    journey_offers = Offer.objects.order_by("pk")[offers_of_the_demo_history:]
    assert ben.pk not in {offer.agent_id for offer in journey_offers}
    contract = Contract.objects.get(customer=helmut, status=ContractStatus.ORDERED)
    assert contract.product.code == "sprache-basis" and not contract.options.exists()
    assert calls[0].interaction.text == "Mobil M mit Smartphone A54 gebucht."
    assert calls[1].case.interactions.filter(channel="letter").count() == 1
    codes = set(Event.objects.values_list("code", flat=True))
    assert {"call.started", "call.answered", "call.ended", "call.wrapped_up"} <= codes
    assert {"contract.created", "contract.updated", "contract.sent_by_post"} <= codes
    context.close()

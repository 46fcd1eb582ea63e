"""The chat in real Chromium on a real ASGI server: the visitor's widget and the agent's
console talk live over WebSockets (and over HTTP when WebSockets are blocked); what either
side types is shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from casework.chat.intents import train_intents
from casework.chat.models import Conversation
from tests.browser import sign_in
from tests.chat.conftest import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)

XSS = '<img src=x onerror="window.__owned=1">'
AGENT_XSS = '<img src=y onerror="window.__owned=2">'


@pytest.fixture
def pages(browser: Browser, asgi_server) -> Iterator[tuple[Page, Page]]:  # noqa: ANN001
    train_intents(actor=SYSTEM, trained_by="test")
    visitor = browser.new_context(base_url=asgi_server.url, locale="de-DE")
    desk = browser.new_context(base_url=asgi_server.url, locale="en-US")
    for context in (visitor, desk):
        context.set_default_timeout(15_000)
    yield visitor.new_page(), desk.new_page()
    visitor.close()
    desk.close()


def widget(page: Page):  # noqa: ANN201
    return page.locator("[data-casework-chat]")


def test_visitor_and_agent_chat_live_and_nothing_runs(pages, chat_agent) -> None:  # noqa: ANN001
    visitor, desk = pages
    sign_in(desk, chat_agent)
    desk.goto("/chat/console/")

    visitor.goto("/chat/try/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Chat öffnen").click()
    expect(chat.get_by_role("log")).to_contain_text("digitale Assistent")
    chat.get_by_role("button", name="Mit einem Menschen sprechen").click()
    expect(chat.get_by_role("log")).to_contain_text("Kollegin oder einem Kollegen")

    # The offer reaches the console at once (the sidebar refreshes on the signal).
    desk.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("log")).to_contain_text("/person")

    chat.get_by_label("Ihre Nachricht").fill(XSS)
    chat.get_by_label("Ihre Nachricht").press("Enter")
    expect(desk.get_by_role("log")).to_contain_text(XSS)
    desk.get_by_label("Message").fill("Guten Tag, hier ist Ihr Kundenservice.")
    desk.get_by_label("Message").press("Enter")
    expect(chat.get_by_role("log")).to_contain_text("hier ist Ihr Kundenservice")
    desk.get_by_label("Message").fill(AGENT_XSS)
    desk.get_by_label("Message").press("Enter")
    expect(chat.get_by_role("log")).to_contain_text(AGENT_XSS)
    assert visitor.evaluate("window.__owned") is None
    assert desk.evaluate("window.__owned") is None
    messages = Conversation.objects.get().messages
    assert messages.filter(text=XSS, sender="customer").count() == 1
    assert messages.filter(text=AGENT_XSS, sender="agent").count() == 1


def test_without_websockets_the_widget_chats_over_http(pages) -> None:  # noqa: ANN001
    visitor, _desk = pages
    visitor.add_init_script("delete window.WebSocket;")
    visitor.goto("/chat/try/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Chat öffnen").click()
    expect(chat.get_by_role("log")).to_contain_text("digitale Assistent")
    chat.get_by_label("Ihre Nachricht").fill("Hallo")
    chat.get_by_label("Ihre Nachricht").press("Enter")
    expect(chat.get_by_role("log")).to_contain_text("Kann ich sonst noch etwas")
    # A reload resumes the same chat from the stored token, without doubles.
    visitor.reload()
    expect(widget(visitor).get_by_role("log")).to_contain_text("Kann ich sonst noch etwas")
    assert Conversation.objects.count() == 1
    assert widget(visitor).locator("li.msg.customer").count() == 1


def test_an_agent_on_another_page_is_told_of_an_offered_chat(pages, chat_agent) -> None:  # noqa: ANN001
    visitor, desk = pages
    sign_in(desk, chat_agent)  # lands on "My work"
    visitor.goto("/chat/try/")
    chat = widget(visitor)
    chat.get_by_role("button", name="Chat öffnen").click()
    chat.get_by_role("button", name="Mit einem Menschen sprechen").click()
    notice = desk.get_by_role("status").filter(has_text="offered to you")
    expect(notice).to_be_visible()
    notice.get_by_role("link", name="Open Chats").click()
    expect(desk.get_by_role("button", name="Accept")).to_be_visible()

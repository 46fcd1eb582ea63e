"""Suggested answers in real Chromium: the panel loads beside the case, one click puts an
article into the reply after what the agent wrote, and a rating is recorded in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from casework.knowledge.models import SuggestionRating
from casework.routing.models import Agent
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_agent_inserts_a_suggested_article_and_rates_it(
    page: Page, agent: Agent, case, articles
):  # noqa: ANN001
    sign_in(page, agent)
    page.goto(f"/cases/{case.pk}/")
    panel = page.locator("#case-suggestions")
    suggestion = panel.locator(f"#suggestion-article-{articles['welt'].pk}")
    expect(suggestion.locator(".suggestion-title")).to_have_text("Auslandstarife und Option Welt")
    reply = page.get_by_label("Reply by e-mail")
    reply.fill("Hallo Lisa,")

    suggestion.get_by_role("button", name="Insert into reply").click()

    text = reply.input_value()
    assert text.startswith("Hallo Lisa,\n\nMit der Option Welt telefonieren Sie in Japan")
    assert text.endswith("/help/option-welt/?lang=de")
    expect(reply).to_be_focused()

    suggestion.get_by_role("button", name="Helpful", exact=True).click()

    expect(suggestion.locator(".rating-thanks")).to_be_visible()
    expect(suggestion.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert reply.input_value() == text  # the page stayed; the reply is still there
    rating = SuggestionRating.objects.get()
    assert rating.is_helpful and rating.article_version == articles["welt"].current_version

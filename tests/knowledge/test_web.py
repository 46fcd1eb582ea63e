"""On screen: the suggestions panel of the case screen and its ratings, and the public help
pages, which show public articles only — whatever code or search is tried."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from casework.events.models import Event
from casework.knowledge.models import Article, ReplyTemplate, SuggestionRating, Visibility
from casework.routing.models import Agent
from tests.factories import CaseFactory, InteractionFactory
from tests.knowledge.factories import ArticleFactory, CategoryFactory, publish

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def signed_in(client: Client, agent: Agent) -> Client:
    client.force_login(agent.user)
    return client


def case_url(case: Case, name: str) -> str:
    return reverse(name, kwargs={"case_id": case.pk})


def test_the_case_screen_loads_the_suggestions_on_their_own_request(signed_in, case):
    page = signed_in.get(case_url(case, "web:case")).content.decode()

    assert 'id="case-suggestions"' in page
    assert f'hx-get="{case_url(case, "web:case_suggestions")}" hx-trigger="load"' in page


def test_the_panel_suggests_articles_and_templates_for_the_case_text(
    signed_in, case, articles, template
):
    response = signed_in.get(case_url(case, "web:case_suggestions"), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="suggestion-article-{articles["welt"].pk}"' in page
    assert f'id="suggestion-article-{articles["kulanz"].pk}"' in page
    assert f'id="suggestion-article-{articles["esim"].pk}"' not in page
    assert page.index("Auslandstarife und Option Welt") < page.index("Kulanz")
    assert "internal" in page and "public" in page
    assert f'id="suggestion-template-{template.pk}"' in page
    assert 'data-insert-into="id_text"' in page
    # The public article's text to insert ends with its absolute address.
    assert (
        "telefonieren Sie in Japan für 9 Cent pro Minute.\n\nhttp://testserver/help/option-welt/?lang=de</template>"
        in page
    )


def test_without_a_mail_to_answer_nothing_offers_to_insert(signed_in, email_intake, articles):
    phoned = CaseFactory(subject="Option Welt im Ausland", case_type=email_intake.case_type)
    InteractionFactory(case=phoned, channel="phone", direction="inbound", text="Japan")

    page = signed_in.get(case_url(phoned, "web:case_suggestions")).content.decode()

    assert "Auslandstarife und Option Welt" in page
    assert "data-insert-into" not in page


def test_an_agent_rates_a_suggested_article(signed_in, agent, case, articles):
    version = articles["welt"].current_version

    response = signed_in.post(
        case_url(case, "web:suggestion_rating"), {"version": version.pk, "helpful": "yes"}, **HTMX
    )

    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    rating = SuggestionRating.objects.get()
    assert (rating.case, rating.article_version, rating.is_helpful) == (case, version, True)
    assert rating.agent == agent
    assert Event.objects.filter(code="suggestion.rated", object_id=case.pk).count() == 1
    panel = signed_in.get(case_url(case, "web:case_suggestions")).content.decode()
    assert 'class="link-button rating-yes is-chosen" aria-pressed="true"' in panel


def test_an_agent_rates_a_template_without_htmx(signed_in, case, template):
    response = signed_in.post(
        case_url(case, "web:suggestion_rating"), {"template": template.pk, "helpful": "no"}
    )

    assert response.status_code == 302
    assert SuggestionRating.objects.get().reply_template == template


def test_a_rating_naming_nothing_or_both_is_refused(signed_in, case, articles, template):
    url = case_url(case, "web:suggestion_rating")
    version = articles["welt"].current_version.pk

    assert signed_in.post(url, {"helpful": "yes"}, **HTMX).status_code == 422
    both = {"version": version, "template": template.pk, "helpful": "yes"}
    assert signed_in.post(url, both, **HTMX).status_code == 422
    assert signed_in.post(url, {"version": 999999, "helpful": "yes"}).status_code == 404
    assert not SuggestionRating.objects.exists()


def test_another_teams_case_has_no_suggestions_for_this_agent(signed_in, articles):
    elsewhere = CaseFactory(subject="Option Welt")  # a new team's queue

    assert signed_in.get(case_url(elsewhere, "web:case_suggestions")).status_code == 404


# --- The public help pages ---


@pytest.fixture
def help_articles(db) -> dict[str, Article]:  # noqa: ANN001
    tariffs = CategoryFactory(code="tarife", name_de="Tarife", name_en="Tariffs")
    return {
        "public_de": ArticleFactory(
            code="roaming", category=tariffs, title="Roaming im Urlaub", body="Reisen im Urlaub."
        ),
        "public_en": ArticleFactory(
            code="roaming",
            language="en",
            category=tariffs,
            title="Roaming on holiday",
            body="Travel on holiday.",
        ),
        "internal": ArticleFactory(
            code="geheim",
            visibility=Visibility.INTERNAL,
            title="Urlaub Kulanz intern",
            body="Interne Regel für Reisen im Urlaub.",
        ),
        "internal_en": ArticleFactory(
            code="roaming-goodwill",
            language="en",
            visibility=Visibility.INTERNAL,
            title="Holiday goodwill internal",
            body="Internal rule for travel on holiday.",
        ),
    }


def test_the_help_start_page_lists_public_articles_by_category(client, help_articles):
    page = client.get("/help/?lang=de").content.decode()

    assert "<h2" in page and "Tarife" in page
    assert "Roaming im Urlaub" in page
    assert "Roaming on holiday" not in page
    assert "intern" not in page.lower().replace('lang="', "")


def test_the_help_search_finds_public_articles_only(client, help_articles):
    german = client.get("/help/", {"q": "Urlaub Reisen", "lang": "de"}).content.decode()
    english = client.get("/help/", {"q": "holiday travel", "lang": "en"}).content.decode()

    assert "Roaming im Urlaub" in german and "Kulanz" not in german
    assert "Roaming on holiday" in english and "goodwill" not in english


@pytest.mark.parametrize("lang", ["", "de", "en", "fr"])
@pytest.mark.parametrize("code", ["geheim", "roaming-goodwill", "gibt-es-nicht", "GEHEIM"])
def test_internal_and_unknown_codes_are_not_found_on_the_help_pages(
    client, help_articles, code, lang
):
    response = client.get(f"/help/{code}/", {"lang": lang} if lang else {})

    assert response.status_code == 404
    page = response.content.decode()
    assert "Interne Regel" not in page and "Internal rule" not in page


def test_an_article_page_shows_the_current_version_in_the_asked_language(client, help_articles):
    publish(help_articles["public_de"], body="Neu: Reisen im **Urlaub** mit Option.")

    german = client.get("/help/roaming/", {"lang": "de"})
    english = client.get("/help/roaming/", {"lang": "en"})

    assert german.status_code == english.status_code == 200
    assert "Neu: Reisen im <strong>Urlaub</strong> mit Option." in german.content.decode()
    assert 'lang="de"' in german.content.decode()
    assert "Travel on holiday." in english.content.decode()


def test_the_browser_language_chooses_when_lang_is_not_given(client, help_articles):
    page = client.get("/help/roaming/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Roaming on holiday" in page


def test_an_article_in_one_language_only_is_shown_in_that_language(client, help_articles):
    ArticleFactory(code="nur-deutsch", title="Nur auf Deutsch", body="Text.")

    response = client.get("/help/nur-deutsch/", {"lang": "en"})

    assert response.status_code == 200
    assert "Nur auf Deutsch" in response.content.decode()


def test_article_text_cannot_carry_markup_or_scripts(client, db):
    ArticleFactory(
        code="boese",
        title="<script>alert(1)</script>Titel",
        body="<img src=x onerror=alert(1)> [klick](javascript:alert(1)) <b>fett</b>",
    )

    page = client.get("/help/boese/").content.decode()

    # The help pages carry no script of their own: any would be the article's.
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert 'href="javascript' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Titel" in page


def test_help_pages_need_no_sign_in_and_suggestions_do(client, help_articles, case):
    assert client.get("/help/").status_code == 200
    assert client.get(case_url(case, "web:case_suggestions")).status_code == 302
    assert ReplyTemplate.objects.count() == 0

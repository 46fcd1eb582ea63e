"""The demo's knowledge base: both organisations, both languages, loaded idempotently."""

from __future__ import annotations

import pytest

from casework.demo.knowledge import load_knowledge
from casework.knowledge.models import Article, ArticleVersion, Visibility
from casework.knowledge.search import search_articles

pytestmark = pytest.mark.django_db


def test_the_demo_knowledge_base_loads_twice_without_change():
    first = load_knowledge()
    versions = ArticleVersion.objects.count()

    second = load_knowledge()

    assert first == second == Article.objects.count() >= 20
    assert ArticleVersion.objects.count() == versions


def test_the_international_article_has_two_versions_in_both_languages():
    load_knowledge()

    german = Article.objects.get(code="auslandstarife-option-welt", language="de")
    english = Article.objects.get(code="auslandstarife-option-welt", language="en")

    assert german.current_version.title == "Auslandstarife und Option Welt"
    assert english.current_version.title == "International tariffs and the Option Welt"
    assert german.versions.count() == english.versions.count() == 2


def test_the_demo_has_public_and_internal_articles_for_both_organisations():
    load_knowledge()

    assert Article.objects.filter(visibility=Visibility.INTERNAL).count() >= 4
    assert search_articles("Option Welt Japan", language="de")[0].code == (
        "auslandstarife-option-welt"
    )
    assert search_articles("royalty statement missing performance", language="en")[0].code == (
        "abrechnung-ausschuettung"
    )
    assert search_articles("Bankverbindung IBAN ändern", public_only=True)[0].code == (
        "bankverbindung-aendern"
    )

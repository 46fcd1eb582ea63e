"""Publishing versions and rating suggestions: the state, the search index and the events."""

from __future__ import annotations

import pytest

from casework.events.models import Event
from casework.kernel.errors import InvalidInput
from casework.knowledge.models import (
    Article,
    ArticleVersion,
    SearchDocument,
    SuggestionRating,
    Visibility,
)
from casework.knowledge.services import ArticleContent, rate_suggestion, save_article
from tests.factories import CaseFactory
from tests.knowledge.factories import ACTOR, ArticleFactory, publish

pytestmark = pytest.mark.django_db


def test_a_new_article_gets_version_one_and_is_indexed():
    article = ArticleFactory(code="sim", title="SIM-Karte", body="Text", visibility="public")

    assert article.current_version.number == 1
    document = SearchDocument.objects.get(article=article)
    assert (document.title, document.version, document.is_public) == ("SIM-Karte", 1, True)
    (event,) = Event.objects.filter(code="article.published")
    assert event.payload["version"] == 1 and event.payload["previous_version"] is None


def test_changed_words_publish_a_new_version_and_keep_the_old_one():
    article = ArticleFactory(title="Alt", body="Erster Text")

    publish(article, title="Neu", body="Zweiter Text")

    assert [(v.number, v.title) for v in article.versions.order_by("number")] == [
        (1, "Alt"),
        (2, "Neu"),
    ]
    assert article.current_version.title == "Neu"
    assert SearchDocument.objects.get(article=article).text == "Zweiter Text"
    assert Event.objects.filter(code="article.published").count() == 2


def test_saving_the_same_words_again_publishes_nothing():
    article = ArticleFactory(title="Gleich", body="Text")

    result = save_article(article, ArticleContent.of(article.current_version), actor=ACTOR)

    assert result.is_new_version is False
    assert ArticleVersion.objects.count() == 1
    assert Event.objects.filter(code="article.published").count() == 1


def test_a_changed_visibility_is_recorded_and_reindexed_without_a_new_version():
    article = ArticleFactory(visibility=Visibility.INTERNAL)
    article.visibility = Visibility.PUBLIC

    save_article(article, ArticleContent.of(article.current_version), actor=ACTOR)

    assert SearchDocument.objects.get(article=article).is_public is True
    (event,) = Event.objects.filter(code="article.updated")
    assert event.payload == {
        "before": {"visibility": "internal"},
        "after": {"visibility": "public"},
    }


def test_an_article_without_title_or_text_is_refused_whole():
    with pytest.raises(InvalidInput):
        save_article(Article(code="leer", language="de"), ArticleContent("", "x"), actor=ACTOR)
    with pytest.raises(InvalidInput):
        save_article(Article(code="leer", language="de"), ArticleContent("T", " "), actor=ACTOR)

    assert not Article.objects.exists()


def test_deleting_an_article_removes_it_from_the_index():
    article = ArticleFactory(title="Weg damit")

    article.delete()

    assert not SearchDocument.objects.exists()
    assert not ArticleVersion.objects.exists()


def test_a_rating_is_stored_once_per_agent_and_a_change_of_mind_replaces_it(agent_actor):
    case = CaseFactory()
    version = ArticleFactory().current_version

    rate_suggestion(case, article_version=version, is_helpful=True, actor=agent_actor)
    rate_suggestion(case, article_version=version, is_helpful=True, actor=agent_actor)
    rate_suggestion(case, article_version=version, is_helpful=False, actor=agent_actor)

    rating = SuggestionRating.objects.get()
    assert (rating.case, rating.article_version, rating.is_helpful) == (case, version, False)
    assert (rating.rated_by, rating.agent_id) == (agent_actor.label, agent_actor.id)
    events = Event.objects.filter(code="suggestion.rated").order_by("seq")
    assert [(e.object_id, e.payload["is_helpful"], e.payload["before"]) for e in events] == [
        (case.pk, True, None),
        (case.pk, False, True),
    ]
    assert events[0].payload["version"] == 1


def test_a_rating_names_exactly_one_suggestion(agent_actor):
    with pytest.raises(InvalidInput):
        rate_suggestion(CaseFactory(), is_helpful=True, actor=agent_actor)

    assert not SuggestionRating.objects.exists()

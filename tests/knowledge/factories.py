"""Articles for the tests, written through `save_article()` (the one write path), so each
has its version and its place in the search index like in the product."""

from __future__ import annotations

from typing import Any

import factory

from casework.kernel.actors import Actor
from casework.knowledge.models import Article, Category, Visibility
from casework.knowledge.services import ArticleContent, save_article

ACTOR = Actor.system("test")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"category-{n}")
    name_de = factory.LazyAttribute(lambda o: f"Kategorie {o.code}")
    name_en = factory.LazyAttribute(lambda o: f"Category {o.code}")


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    code = factory.Sequence(lambda n: f"article-{n}")
    language = "de"
    visibility = Visibility.PUBLIC
    category = None
    title = factory.Sequence(lambda n: f"Artikel {n}")
    summary = ""
    keywords = ""
    body = "Ein Text ohne besondere Wörter."
    body_format = "markdown"

    @classmethod
    def _create(cls, model_class: type[Article], *args: Any, **kwargs: Any) -> Article:
        content = ArticleContent(
            title=kwargs.pop("title"),
            summary=kwargs.pop("summary"),
            keywords=kwargs.pop("keywords"),
            body=kwargs.pop("body"),
            body_format=kwargs.pop("body_format"),
        )
        article = model_class(**kwargs)
        save_article(article, content, actor=ACTOR)
        return article


def publish(article: Article, **changes: str) -> Article:
    """A new version of `article` with some of its words changed."""
    content = ArticleContent.of(article.current_version)
    save_article(article, ArticleContent(**{**vars(content), **changes}), actor=ACTOR)
    article.refresh_from_db()
    return article

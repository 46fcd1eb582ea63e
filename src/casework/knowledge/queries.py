"""Reads for the screens: reply templates filled for a case, the suggestions for a case
(articles and templates matching its text, with the agent's own ratings), and the public
articles of the help pages — which never include an internal one."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from casework.cases.models import Case
from casework.interactions.models import Direction
from casework.interactions.queries import list_for_case
from casework.kernel.actors import Actor
from casework.knowledge import terms as terms_
from casework.knowledge.models import (
    Article,
    Category,
    ReplyTemplate,
    SearchDocument,
    SuggestionRating,
    Visibility,
)
from casework.knowledge.search import ArticleHit, search_articles
from casework.knowledge.templating import fill
from casework.routing.models import Agent

# Suggestions in the customer's language come first unless another language's article
# matches much better: other-language scores count this much.
OTHER_LANGUAGE_WEIGHT = 0.6
TEMPLATE_SUGGESTIONS = 3
# Templates are matched by the share of the case's terms they contain: one common word of a
# long message is not a match.
MIN_TEMPLATE_COVERAGE = 0.15


@dataclass(frozen=True)
class FilledTemplate:
    code: str
    name: str
    language: str
    text: str


def list_filled_templates(case: Case, actor: Actor) -> list[FilledTemplate]:
    """Active templates in the customer's language first, then the other language."""
    return [filled for _, filled in _filled_templates(case, actor)]


def _filled_templates(case: Case, actor: Actor) -> list[tuple[ReplyTemplate, FilledTemplate]]:
    customer = case.customer
    language = customer.language if customer else "de"
    agent = Agent.objects.select_related("user").filter(pk=actor.id).first()
    values = {
        "customer.salutation": customer.salutation if customer else "",
        "customer.first_name": customer.first_name if customer else "",
        "customer.last_name": customer.last_name if customer else "",
        "customer.name": customer.display_name if customer else "",
        "customer.number": customer.customer_number if customer else "",
        "case.reference": case.reference,
        "case.subject": case.subject,
        "agent.name": agent.display_name if agent else "",
        "agent.first_name": agent.user.first_name if agent else "",
    }
    templates = sorted(
        ReplyTemplate.objects.filter(is_active=True),
        key=lambda t: (t.language != language, t.name.lower()),
    )
    return [
        (t, FilledTemplate(t.code, t.name, t.language, fill(t.body, values))) for t in templates
    ]


@dataclass(frozen=True)
class ArticleSuggestion:
    hit: ArticleHit
    version_id: int
    is_public: bool
    # What "Insert" puts into the reply: the text, and the public page's address.
    text: str
    my_rating: bool | None


@dataclass(frozen=True)
class TemplateSuggestion:
    template_id: int
    template: FilledTemplate
    score: float
    my_rating: bool | None


@dataclass(frozen=True)
class CaseSuggestions:
    query: str
    articles: list[ArticleSuggestion]
    templates: list[TemplateSuggestion]


def case_text(case: Case) -> str:
    """What the case is about: its subject and the customer's latest message."""
    latest = next(
        (
            entry
            for entry in list_for_case(case.pk)
            if entry.direction == Direction.INBOUND and (entry.text or entry.subject)
        ),
        None,
    )
    parts = [case.subject]
    if latest is not None:
        parts += [latest.subject, latest.text]
    return "\n".join(part for part in parts if part)


def list_case_suggestions(
    case: Case, actor: Actor, *, limit: int = 5, site_url: str = ""
) -> CaseSuggestions:
    """Articles (internal and public) and reply templates that match the case's text.
    `site_url` ("https://help.example.com") makes the public pages' addresses absolute in
    the text to insert."""
    query = case_text(case)
    language = case.customer.language if case.customer else None
    hits = search_articles(query, limit=limit * 2)
    weighted = sorted(
        hits,
        key=lambda hit: -hit.score * (1.0 if hit.language == language else OTHER_LANGUAGE_WEIGHT),
    )[:limit]
    documents = SearchDocument.objects.select_related("article").in_bulk(
        [hit.article_id for hit in weighted]
    )
    ratings = _my_ratings(case, actor)
    articles = []
    for hit in weighted:
        document = documents.get(hit.article_id)
        if document is None:
            continue
        version_id = document.article.current_version_id
        text = document.text
        if document.is_public:
            text += f"\n\n{site_url}{hit.url}"
        articles.append(
            ArticleSuggestion(
                hit=hit,
                version_id=version_id,  # type: ignore[arg-type]  # indexed: it has a version
                is_public=document.is_public,
                text=text,
                my_rating=ratings.get(("article", version_id)),
            )
        )
    return CaseSuggestions(query, articles, _matching_templates(case, actor, query, ratings))


def _matching_templates(
    case: Case, actor: Actor, query: str, ratings: dict[tuple[str, int | None], bool]
) -> list[TemplateSuggestion]:
    terms = terms_.search_terms(query)
    if not terms:
        return []
    scored = []
    for template, filled in _filled_templates(case, actor):
        score = terms_.coverage(terms, f"{filled.name} {filled.text}")
        if score >= MIN_TEMPLATE_COVERAGE:
            scored.append(
                TemplateSuggestion(
                    template.pk, filled, round(score, 3), ratings.get(("template", template.pk))
                )
            )
    # Stable: equal scores keep the customer's language first.
    scored.sort(key=lambda suggestion: -suggestion.score)
    return scored[:TEMPLATE_SUGGESTIONS]


def _my_ratings(case: Case, actor: Actor) -> dict[tuple[str, int | None], bool]:
    ratings: dict[tuple[str, int | None], bool] = {}
    for rating in SuggestionRating.objects.filter(case=case, rated_by=actor.label):
        if rating.article_version_id is not None:
            ratings[("article", rating.article_version_id)] = rating.is_helpful
        else:
            ratings[("template", rating.reply_template_id)] = rating.is_helpful
    return ratings


def _public_articles() -> QuerySet[Article]:
    return Article.objects.filter(
        visibility=Visibility.PUBLIC, is_active=True, current_version__isnull=False
    ).select_related("current_version", "category")


def find_public_article(code: str, language: str) -> Article | None:
    """The public article with this code in `language`, else in the other language; None
    for an internal, inactive or unknown code alike."""
    found = {article.language: article for article in _public_articles().filter(code=code)}
    return found.get(language) or next(iter(found.values()), None)


def list_public_languages(code: str) -> list[str]:
    return sorted(_public_articles().filter(code=code).values_list("language", flat=True))


@dataclass(frozen=True)
class HelpCategory:
    category: Category | None
    articles: list[Article]


def list_public_articles_by_category(language: str) -> list[HelpCategory]:
    articles = _public_articles().filter(language=language).order_by("current_version__title")
    groups: dict[int | None, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.category_id, []).append(article)
    categories = Category.objects.in_bulk([pk for pk in groups if pk is not None])
    ordered = sorted(
        groups,
        key=lambda pk: (pk is None, categories[pk].position if pk else 0, pk or 0),
    )
    return [HelpCategory(categories.get(pk) if pk else None, groups[pk]) for pk in ordered]

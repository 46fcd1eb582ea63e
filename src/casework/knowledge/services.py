"""The only code that changes articles and records ratings.

`save_article()` is the one write path for the administration, the demo and imports: it
saves the article's settings, publishes a new version when the words changed, updates the
search index and records the events, all in one transaction. `rate_suggestion()` records an
agent's verdict on a suggestion shown for a case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db.models import Max
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.events.services import record, recording_transaction
from casework.kernel import clock
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import InvalidInput
from casework.knowledge.indexing import index_article
from casework.knowledge.models import (
    Article,
    ArticleVersion,
    BodyFormat,
    ReplyTemplate,
    SuggestionRating,
)

# The article's own fields whose change is recorded as `article.updated`.
SETTINGS = ("code", "language", "category_id", "visibility", "is_active")


@dataclass(frozen=True)
class ArticleContent:
    """The words of one version."""

    title: str
    body: str
    summary: str = ""
    keywords: str = ""
    body_format: str = BodyFormat.MARKDOWN

    @classmethod
    def of(cls, version: ArticleVersion) -> ArticleContent:
        return cls(
            title=version.title,
            body=version.body,
            summary=version.summary,
            keywords=version.keywords,
            body_format=version.body_format,
        )


@dataclass(frozen=True)
class SaveResult:
    article: Article
    version: ArticleVersion
    # False when the words were those of the current version: nothing was published.
    is_new_version: bool


@recording_transaction()
def save_article(article: Article, content: ArticleContent, *, actor: Actor) -> SaveResult:
    """Save `article` (new or changed, not yet saved) and make `content` its current
    version: a new version when the words differ from the current one, none otherwise."""
    _check(content)
    before: dict[str, object] | None = None
    if article.pk is not None:
        stored = Article.objects.select_for_update().get(pk=article.pk)
        before = {name: getattr(stored, name) for name in SETTINGS}
        article.current_version_id = stored.current_version_id
    article.save()
    current = article.current_version
    if current is not None and ArticleContent.of(current) == content:
        version, is_new_version = current, False
    else:
        number = (article.versions.aggregate(last=Max("number"))["last"] or 0) + 1
        version = ArticleVersion.objects.create(
            article=article, number=number, published_by=actor.label, **asdict(content)
        )
        article.current_version = version
        article.save(update_fields=["current_version", "updated_at"])
        is_new_version = True
        record(
            "article.published",
            actor=actor,
            object_type="article",
            object_id=article.pk,
            payload={
                "code": article.code,
                "language": article.language,
                "version": number,
                "previous_version": current.number if current else None,
                "visibility": article.visibility,
            },
        )
    if before is not None:
        changed = [name for name in SETTINGS if before[name] != getattr(article, name)]
        if changed:
            record(
                "article.updated",
                actor=actor,
                object_type="article",
                object_id=article.pk,
                payload={
                    "before": {name: before[name] for name in changed},
                    "after": {name: getattr(article, name) for name in changed},
                },
            )
    index_article(article)
    return SaveResult(article, version, is_new_version)


def _check(content: ArticleContent) -> None:
    if not content.title.strip():
        raise InvalidInput(_("an article needs a title"), field="title")
    if not content.body.strip():
        raise InvalidInput(_("an article needs a text"), field="body")
    if content.body_format not in BodyFormat.values:
        raise InvalidInput(
            _("unknown text format %(format)s") % {"format": content.body_format},
            field="body_format",
        )


@recording_transaction()
def rate_suggestion(
    case: Case,
    *,
    is_helpful: bool,
    actor: Actor,
    article_version: ArticleVersion | None = None,
    reply_template: ReplyTemplate | None = None,
) -> SuggestionRating:
    """Record that the suggestion (an article version or a reply template) helped with
    `case`, or not. The agent's earlier rating of the same suggestion is replaced."""
    if (article_version is None) == (reply_template is None):
        raise InvalidInput(_("rate either an article or a reply template"), field="suggestion")
    rating = (
        SuggestionRating.objects.select_for_update()
        .filter(
            case=case,
            rated_by=actor.label,
            article_version=article_version,
            reply_template=reply_template,
        )
        .first()
    )
    before = None if rating is None else rating.is_helpful
    if rating is None:
        rating = SuggestionRating(
            case=case,
            article_version=article_version,
            reply_template=reply_template,
            rated_by=actor.label,
            agent_id=actor.id if actor.kind == ActorKind.AGENT else None,
        )
    elif before == is_helpful:
        return rating
    rating.is_helpful = is_helpful
    rating.rated_at = clock.now()
    rating.save()
    payload: dict[str, object] = {"is_helpful": is_helpful, "before": before}
    if article_version is not None:
        payload |= {
            "article": article_version.article_id,
            "code": article_version.article.code,
            "language": article_version.article.language,
            "version": article_version.number,
        }
    else:
        payload |= {"reply_template": reply_template.code}  # type: ignore[union-attr]  # checked above
    record("suggestion.rated", actor=actor, object_type="case", object_id=case.pk, payload=payload)
    return rating

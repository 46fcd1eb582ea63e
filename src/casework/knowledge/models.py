"""What agents reuse when they answer: reply templates and knowledge articles with their
versions, the search index's source rows, and the agents' ratings of suggestions.

An article is one text in one language; its German and English texts are two articles that
share a `code` (the stable slug of the public page `/help/<code>/`). Its words live in
versions: editing publishes a new `ArticleVersion` and moves `current_version` to it; older
versions are kept unchanged. Only the current version is searched and shown to customers.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.fields import ClockDateTimeField
from casework.kernel.models import BilingualName, Timestamped

LANGUAGES = [("de", _("German")), ("en", _("English"))]


class ReplyTemplate(models.Model):
    """A prepared answer with placeholders (`{{ customer.first_name }}`), one per language;
    the agent picks it in the reply form and edits the text before sending."""

    code = models.SlugField(_("code"), max_length=80)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES)
    name = models.CharField(_("name"), max_length=200)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language"], name="replytemplate_code_lang")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("internal (agents only)")
    PUBLIC = "public", _("public (customers and the chat bot too)")


class BodyFormat(models.TextChoices):
    MARKDOWN = "markdown", _("Markdown")
    PLAIN = "plain", _("plain text")


class Category(BilingualName):
    """A topic the help pages group articles by ("Tarife und Optionen")."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("article category")
        verbose_name_plural = _("article categories")
        ordering = ["position", "code"]


class Article(Timestamped):
    code = models.SlugField(_("code"), max_length=80)
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    # An inactive article is kept with its versions but neither searched nor shown.
    is_active = models.BooleanField(_("active"), default=True)
    current_version = models.ForeignKey(
        "ArticleVersion",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        # Deleting an article deletes its versions; the pointer must not stand in the way.
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["code", "language"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language"], name="article_code_lang")
        ]

    def __str__(self) -> str:
        title = self.current_version.title if self.current_version_id else ""
        return f"{title or self.code} ({self.language})"

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC


class ArticleVersion(models.Model):
    """One published text of an article; never changed once written."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("text"))
    body_format = models.CharField(
        _("format"), max_length=10, choices=BodyFormat.choices, default=BodyFormat.MARKDOWN
    )
    # Words customers use that the text may not contain ("Roaming, Ausland, Urlaub").
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    published_at = ClockDateTimeField(_("published at"), auto_now_add=True)
    published_by = models.CharField(_("published by"), max_length=200)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="articleversion_number")
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"


class SearchDocument(models.Model):
    """The search index's source: one row per searchable article (active, with a current
    version), holding that version's words as plain text. `knowledge.indexing` writes it in
    the transaction that publishes the version; the database derives the index from it.

    SQLite: triggers copy each row into the FTS5 table `knowledge_search_fts` (rowid =
    article id). PostgreSQL: a trigger fills the column `document` (tsvector, weighted
    title A, keywords B, summary C, text D; German or English configuration by `language`),
    which a GIN index covers. Neither is a model field; migration 0003 creates them. A later
    migration that makes SQLite rebuild this table drops its triggers: run `casework
    knowledge reindex` after it (it recreates them)."""

    article = models.OneToOneField(
        Article,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="search_document",
        verbose_name=_("article"),
    )
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES)
    is_public = models.BooleanField(_("public"))
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("search index entry")
        verbose_name_plural = _("search index entries")


class SuggestionRating(models.Model):
    """An agent's verdict on one suggestion shown for a case: an article version or a reply
    template was helpful, or not. One per agent, case and suggestion; a change of mind
    overwrites it (the event log keeps both)."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+"
    )
    article_version = models.ForeignKey(
        ArticleVersion,
        verbose_name=_("article version"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ratings",
    )
    reply_template = models.ForeignKey(
        ReplyTemplate,
        verbose_name=_("reply template"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ratings",
    )
    is_helpful = models.BooleanField(_("helpful"))
    rated_at = ClockDateTimeField(_("rated at"))
    rated_by = models.CharField(_("rated by"), max_length=200)
    agent = models.ForeignKey(
        "routing.Agent",
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("suggestion rating")
        verbose_name_plural = _("suggestion ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(article_version__isnull=False, reply_template__isnull=True)
                | models.Q(article_version__isnull=True, reply_template__isnull=False),
                name="suggestionrating_one_target",
            ),
            models.UniqueConstraint(
                fields=["case", "rated_by", "article_version"],
                condition=models.Q(article_version__isnull=False),
                name="suggestionrating_article_once",
            ),
            models.UniqueConstraint(
                fields=["case", "rated_by", "reply_template"],
                condition=models.Q(reply_template__isnull=False),
                name="suggestionrating_template_once",
            ),
        ]

    def __str__(self) -> str:
        target = self.article_version or self.reply_template
        return f"{target}: {'+' if self.is_helpful else '-'}"

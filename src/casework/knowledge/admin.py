from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import InvalidInput
from casework.knowledge.models import (
    Article,
    ArticleVersion,
    BodyFormat,
    Category,
    ReplyTemplate,
    SuggestionRating,
)
from casework.knowledge.rendering import render_html
from casework.knowledge.services import ArticleContent, save_article
from casework.knowledge.templating import PLACEHOLDERS, check_template
from casework.routing.queries import actor_for_user


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["code", "language", "name", "body", "is_active"]
        help_texts = {
            "body": format_lazy(
                _("Placeholders: {names}"),
                names=", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS),
            )
        }

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        try:
            check_template(body)
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from error
        return body


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    form = ReplyTemplateForm
    list_display = ["name", "code", "language", "is_active"]
    list_filter = ["language", "is_active"]
    search_fields = ["name", "code", "body"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_de", "name_en", "position"]
    search_fields = ["code", "name_de", "name_en"]


class ArticleForm(forms.ModelForm):
    """The article's settings and the words of its next version: saving with changed words
    publishes a new version; the earlier ones stay as they were."""

    title = forms.CharField(label=_("title"), max_length=200)
    summary = forms.CharField(
        label=_("summary"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One or two sentences; shown in search results and suggestions."),
    )
    body = forms.CharField(
        label=_("text"),
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_(
            "Paragraphs separated by a blank line. Markdown: # heading, - list, **bold**, "
            "*italic*, [link](https://…)."
        ),
    )
    body_format = forms.ChoiceField(
        label=_("format"), choices=BodyFormat.choices, initial=BodyFormat.MARKDOWN
    )
    keywords = forms.CharField(
        label=_("keywords"),
        max_length=500,
        required=False,
        help_text=_("Words customers use that the text may not contain, separated by commas."),
    )

    class Meta:
        model = Article
        fields = ["code", "language", "category", "visibility", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None:
            for name, value in vars(ArticleContent.of(version)).items():
                self.initial.setdefault(name, value)

    def content(self) -> ArticleContent:
        data = self.cleaned_data
        return ArticleContent(
            title=data["title"],
            summary=data["summary"],
            body=data["body"],
            body_format=data["body_format"],
            keywords=data["keywords"],
        )


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    fields = ["number", "title", "published_at", "published_by", "open"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-number"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("text"))
    def open(self, version: ArticleVersion) -> SafeString:
        url = reverse("admin:knowledge_articleversion_change", args=[version.pk])
        return format_html('<a href="{}">{}</a>', url, _("show"))


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = ["code", "language", "title", "category", "visibility", "version", "is_active"]
    list_filter = ["language", "visibility", "is_active", "category"]
    search_fields = ["code", "current_version__title", "current_version__keywords"]
    list_select_related = ["current_version", "category"]
    inlines = [ArticleVersionInline]
    fieldsets = [
        (None, {"fields": ["code", "language", "category", "visibility", "is_active"]}),
        (
            _("Current text (saving changed words publishes a new version)"),
            {"fields": ["title", "summary", "body", "body_format", "keywords"]},
        ),
    ]

    @admin.display(description=_("title"), ordering="current_version__title")
    def title(self, article: Article) -> str:
        return article.current_version.title if article.current_version else ""

    @admin.display(description=_("version"))
    def version(self, article: Article) -> int | None:
        return article.current_version.number if article.current_version else None

    def save_model(
        self, request: HttpRequest, obj: Article, form: forms.Form, change: bool
    ) -> None:
        # Staff without an agent account still publish under their own name.
        actor = actor_for_user(request.user) or Actor(
            kind=ActorKind.AGENT, id=None, label=f"user:{request.user.get_username()}"
        )
        save_article(obj, form.content(), actor=actor)  # type: ignore[attr-defined]  # ArticleForm


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    """Versions are history: viewable, never edited."""

    list_display = ["article", "number", "title", "published_at", "published_by"]
    list_filter = ["article__language"]
    search_fields = ["title", "article__code"]
    list_select_related = ["article__current_version"]
    fields = [
        "article",
        "number",
        "title",
        "summary",
        "keywords",
        "body_format",
        "body",
        "rendered",
        "published_at",
        "published_by",
    ]
    readonly_fields = fields

    @admin.display(description=_("as customers see it"))
    def rendered(self, version: ArticleVersion) -> SafeString:
        return mark_safe(render_html(version.body, version.body_format))  # noqa: S308  # sanitised by nh3

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SuggestionRating)
class SuggestionRatingAdmin(admin.ModelAdmin):
    list_display = ["rated_at", "case", "suggestion", "is_helpful", "rated_by"]
    list_filter = ["is_helpful", "article_version__article__language"]
    search_fields = ["rated_by", "case__reference", "article_version__article__code"]
    list_select_related = ["case", "article_version__article", "reply_template"]
    readonly_fields = [
        "case",
        "article_version",
        "reply_template",
        "is_helpful",
        "rated_at",
        "rated_by",
        "agent",
    ]
    fields = readonly_fields

    @admin.display(description=_("suggestion"))
    def suggestion(self, rating: SuggestionRating) -> str:
        return str(rating.article_version or rating.reply_template)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

"""The knowledge base on screen: the help pages customers and the chat bot's links reach
(`/help/`, `/help/<code>/`; public articles only, no sign-in), and on the case screen the
suggested answers with their Insert and Helpful / Not helpful buttons.

Thin: `knowledge.search` finds, `knowledge.queries` reads, `knowledge.services` records.
The suggestions panel loads on its own request after the case screen (`hx-trigger="load"`),
like the next-best-offer panel, so searching never slows the case down. A rating swaps in
only that suggestion's buttons; without htmx it redirects back to the case screen.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from casework.cases.queries import access_case
from casework.channels.email.outbound import find_mail_to_answer
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.knowledge.models import ArticleVersion, ReplyTemplate
from casework.knowledge.queries import (
    find_public_article,
    list_case_suggestions,
    list_public_articles_by_category,
    list_public_languages,
)
from casework.knowledge.rendering import render_html
from casework.knowledge.search import search_articles
from casework.knowledge.services import rate_suggestion
from casework.web.desk import desk_view, is_htmx

PANEL = "web/cases/_suggestions.html"
RATING = "web/cases/_suggestions_rating.html"
HELP_LANGUAGES = ("de", "en")
HELP_RESULTS = 20
# The reply form's text field on the case screen (EmailReplyForm "text").
REPLY_FIELD = "id_text"


class HelpSearchForm(forms.Form):
    q = forms.CharField(max_length=500, required=False)


class RatingForm(forms.Form):
    version = forms.IntegerField(required=False, min_value=1)
    template = forms.IntegerField(required=False, min_value=1)
    helpful = forms.ChoiceField(choices=[("yes", "yes"), ("no", "no")])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("version")) == bool(data.get("template")):
            raise forms.ValidationError("one of version and template")
        return data


def help_language(request: HttpRequest) -> str:
    """`?lang=de|en`, else the request's language (browser, cookie), else German."""
    asked = request.GET.get("lang", "")
    if asked in HELP_LANGUAGES:
        return asked
    current = (translation.get_language() or "de")[:2]
    return current if current in HELP_LANGUAGES else "de"


@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    language = help_language(request)
    form = HelpSearchForm(request.GET)
    text = form.cleaned_data["q"].strip() if form.is_valid() else ""
    with translation.override(language):
        context = {
            "language": language,
            "form": form,
            "q": text,
            "hits": search_articles(text, language=language, public_only=True, limit=HELP_RESULTS)
            if text
            else None,
            "groups": [] if text else list_public_articles_by_category(language),
        }
        return render(request, "help/index.html", context)


@require_GET
def help_article(request: HttpRequest, code: str) -> HttpResponse:
    language = help_language(request)
    article = find_public_article(code, language)
    with translation.override(language):
        if article is None:
            return render(request, "help/not_found.html", {"language": language}, status=404)
        version = article.current_version
        context = {
            "language": language,
            "article": article,
            "version": version,
            "body": mark_safe(render_html(version.body, version.body_format)),  # noqa: S308  # nh3
            "languages": list_public_languages(article.code),
        }
        return render(request, "help/article.html", context)


@require_GET
@desk_view
def case_suggestions(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    return render(request, PANEL, panel_context(request, actor, case))


@require_POST
@desk_view
def suggestion_rating(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("say which suggestion helped or did not help"))
    version = template = None
    if form.cleaned_data["version"]:
        version = get_object_or_404(
            ArticleVersion.objects.select_related("article"), pk=form.cleaned_data["version"]
        )
    else:
        template = get_object_or_404(ReplyTemplate, pk=form.cleaned_data["template"])
    rating = rate_suggestion(
        case,
        is_helpful=form.cleaned_data["helpful"] == "yes",
        actor=actor,
        article_version=version,
        reply_template=template,
    )
    if not is_htmx(request):
        return redirect(reverse("web:case", kwargs={"case_id": case.pk}) + "#case-suggestions")
    return render(
        request,
        RATING,
        {
            "case": case,
            "kind": "version" if version else "template",
            "target_id": (version or template).pk,  # type: ignore[union-attr]  # one is set
            "my_rating": rating.is_helpful,
            "just_rated": True,
        },
    )


def panel_context(request: HttpRequest, actor: Actor, case: Any) -> dict[str, Any]:
    site_url = request.build_absolute_uri("/").rstrip("/")
    suggestions = list_case_suggestions(case, actor, site_url=site_url)
    return {
        "case": case,
        "suggestions": suggestions,
        # Insert needs the reply form, which the screen shows for cases with a mail to answer.
        "reply_field": REPLY_FIELD
        if case.is_open and find_mail_to_answer(case) is not None
        else "",
    }

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from casework.cases.definitions.graph import render_svg
from casework.cases.models import CaseType, PublishedCaseType, ResolutionCode
from casework.cases.process import registry


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "service_type", "default_queue", "is_active")
    list_filter = ("service_type", "is_active")


@admin.register(ResolutionCode)
class ResolutionCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "is_active")


XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@admin.register(PublishedCaseType)
class PublishedCaseTypeAdmin(admin.ModelAdmin):
    """Published case type versions (`casework casetype publish`), with their life cycle."""

    list_display = ("key", "version", "published_at", "published_by")
    list_filter = ("key",)
    readonly_fields = ("key", "version", "published_at", "published_by", "life_cycle", "text")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("definition"))
    def text(self, published: PublishedCaseType) -> SafeString:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', published.source)

    @admin.display(description=_("life cycle"))
    def life_cycle(self, published: PublishedCaseType) -> SafeString | str:
        definition = registry().find(published.key, published.version)
        if definition is None:
            return _("The definition file of this version is not installed.")
        # The drawing escapes every label it takes from the definition.
        language = "de" if (get_language() or "de").startswith("de") else "en"
        svg = render_svg(definition, language=language).removeprefix(XML_DECLARATION).strip()
        return mark_safe(f'<div class="life-cycle" style="overflow:auto">{svg}</div>')  # noqa: S308

"""Portal forms are configured here: which case types customers may start in the portal,
with which fields. A form whose case type does not accept the channel `portal`, or that
names a field the case type does not have, is refused at saving."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from casework.cases.process import published_definition
from casework.portal.models import PortalForm
from casework.portal.request_forms import portal_form_problems


class PortalFormForm(forms.ModelForm):
    class Meta:
        model = PortalForm
        fields = (
            "code",
            "case_type",
            "title_de",
            "title_en",
            "intro_de",
            "intro_en",
            "fields",
            "required",
            "preset",
            "labels",
            "service_type",
            "position",
            "is_active",
        )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        candidate = PortalForm(
            case_type=cleaned.get("case_type", ""),
            fields=cleaned.get("fields") or [],
            required=cleaned.get("required") or [],
        )
        problems = portal_form_problems(candidate, published_definition(candidate.case_type))
        if problems:
            raise forms.ValidationError(problems)
        return cleaned


@admin.register(PortalForm)
class PortalFormAdmin(admin.ModelAdmin):
    form = PortalFormForm
    list_display = ("code", "title_de", "title_en", "case_type", "position", "is_active")
    list_filter = ("is_active", "case_type")
    search_fields = ("code", "title_de", "title_en")

"""Forms for a case's process steps, generated from the case type's JSON Schema: a field
per data field the step collects (texts, choices, numbers, yes/no). The form only parses
input; the case engine validates the data against the schema and says what is wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms

# Longer texts get a text area.
_TEXTAREA_FROM = 300


def field_for(name: str, schema: Mapping[str, Any], *, required: bool) -> forms.Field:
    kind = schema.get("type")
    label = schema.get("title") or name.replace("_", " ").capitalize()
    if "enum" in schema:
        choices = [("", "—")] + [(str(value), str(value)) for value in schema["enum"]]
        return forms.ChoiceField(label=label, choices=choices, required=required)
    if kind == "boolean":
        return forms.NullBooleanField(label=label, required=False)
    if kind in ("number", "integer"):
        return forms.DecimalField(
            label=label,
            required=required,
            min_value=schema.get("minimum"),
            max_value=schema.get("maximum"),
            decimal_places=0 if kind == "integer" else None,
        )
    max_length = schema.get("maxLength")
    widget = forms.Textarea(attrs={"rows": 3}) if (max_length or 0) > _TEXTAREA_FROM else None
    return forms.CharField(label=label, required=required, max_length=max_length, widget=widget)


def step_form(
    data_schema: Mapping[str, Any],
    fields: Sequence[str],
    required: Sequence[str],
    *,
    initial: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    prefix: str = "",
) -> forms.Form:
    properties = data_schema.get("properties", {})
    form = forms.Form(data=data, initial=dict(initial), prefix=prefix or None)
    for name in fields:
        form.fields[name] = field_for(name, properties.get(name, {}), required=name in required)
    return form


def form_values(form: forms.Form) -> dict[str, Any]:
    """The cleaned values as JSON data: decimals as int or float, empty fields left out."""
    values: dict[str, Any] = {}
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        values[name] = value
    return values

"""{% chart spec empty_text=... %}: the placeholder that static/web/charts.js draws a chart
into. The spec (see casework.web.charts) goes into a <script type="application/json">
child, escaped by json_script so that no text in it can end the script element."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

register = template.Library()

DEFAULT_EMPTY_TEXT = _("No data to show for this selection.")


@register.simple_tag
def chart(
    spec: Mapping[str, Any] | None, empty_text: str | None = None, css_class: str = ""
) -> SafeString:
    """``{% chart spec empty_text=_("No cases in this period") %}``; ``css_class`` adds
    classes to the container, e.g. ``chart-tall``."""
    spec = spec or {}
    classes = " ".join(["chart", *css_class.split()])
    return format_html(
        '<div class="{}" data-chart data-chart-kind="{}" data-empty-text="{}">{}</div>',
        classes,
        spec.get("kind", ""),
        DEFAULT_EMPTY_TEXT if empty_text is None else empty_text,
        json_script(spec),
    )

"""Display helpers for the agent desktop templates: phone numbers, masked IBANs, money,
channel icons and the labels of codes that carry no display text of their own."""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
from django import template
from django.template.defaultfilters import floatformat
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from casework.customers.iban import mask_iban
from casework.customers.identifiers import IdentifierKind, format_phone_national
from casework.routing.models import Skill

register = template.Library()

# Symbols present in common system fonts (DejaVu), so no icon font or emoji is needed.
_CHANNEL_ICONS = {
    "phone": "☎",
    "email": "✉",
    "chat": "✆",
    "portal": "⌂",
    "letter": "✍",
    "partner": "⚑",
    "sms": "✎",
    "api": "⚙",
    "note": "✐",
}

_DUPLICATE_REASONS = {
    "name_and_birth_date": _("same name and date of birth"),
    "address": _("same last name and address"),
    "bank_account": _("same bank account"),
}


@register.filter
def channel_icon(channel: str) -> str:
    return _CHANNEL_ICONS.get(channel, "•")


@register.filter
def identifier_label(kind: str) -> str:
    try:
        return capfirst(IdentifierKind(kind).label)
    except ValueError:
        return kind


@register.filter
def identifier_display(value: str, kind: str) -> str:
    """Phone numbers in national format; everything else as stored."""
    if kind != "phone":
        return value
    try:
        return format_phone_national(value)
    except phonenumbers.NumberParseException:
        return value


@register.filter
def masked_iban(iban: str) -> str:
    return mask_iban(iban) if iban else ""


@register.filter
def euro(amount: Decimal | None) -> str:
    """19,99 € in German, 19.99 € in English: the number follows the active language."""
    if amount is None:
        return ""
    return f"{floatformat(amount, '2g')}\N{NO-BREAK SPACE}€"


@register.filter
def duplicate_reason(reason: str) -> str:
    return str(_DUPLICATE_REASONS.get(reason, reason))


_TASK_LABELS = {
    "service_type": _("service type"),
    "topic": _("topic"),
    "language": _("language"),
    "urgency": _("urgency"),
    "sentiment": _("sentiment"),
}
_LABEL_NAMES = {
    "advice": _("advice"),
    "support": _("support"),
    "complaint": _("complaint"),
    "de": _("German"),
    "en": _("English"),
    "other": _("other"),
    "negative": _("negative"),
    "neutral": _("neutral"),
    "positive": _("positive"),
    "low": _("low"),
    "normal": _("normal"),
    "high": _("high"),
}


@register.filter
def task_label(task: str) -> str:
    """A classifier task's name for the agent: "service type" for service_type."""
    return capfirst(_TASK_LABELS.get(task, task.replace("_", " ")))


@register.filter
def label_name(label: str) -> str:
    """A classifier's label in the reader's language where it is a known code: the fixed
    ones above, or a skill's name (topics are the installation's topic skills)."""
    known = _LABEL_NAMES.get(label)
    if known is None:
        skill = Skill.objects.filter(code=label).first()
        known = skill.name if skill is not None else label
    return capfirst(str(known))

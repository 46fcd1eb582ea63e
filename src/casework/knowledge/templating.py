"""Placeholders in reply templates: `{{ customer.first_name }}` and the like, filled from a
fixed list of values — no template language, so a template cannot reach anything else."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.translation import gettext as _

from casework.kernel.errors import InvalidInput

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")

# Every name a template may use, with what it means (shown to whoever writes templates).
PLACEHOLDERS = {
    "customer.salutation": "Herr / Frau / …",
    "customer.first_name": "Helmut",
    "customer.last_name": "Berger",
    "customer.name": "Helmut Berger",
    "customer.number": "K10000001",
    "case.reference": "CW-2026-000123",
    "case.subject": "Frage zum Tarif",
    "agent.name": "Anna Schmidt",
    "agent.first_name": "Anna",
}


def unknown_placeholders(body: str, known: Mapping[str, str] = PLACEHOLDERS) -> list[str]:
    return [name for name in PLACEHOLDER.findall(body) if name not in known]


def check_template(
    body: str, known: Mapping[str, str] = PLACEHOLDERS, *, field: str = "body"
) -> None:
    unknown = unknown_placeholders(body, known)
    if unknown:
        raise InvalidInput(
            _("unknown placeholder %(names)s (known: %(known)s)")
            % {
                "names": ", ".join(f"{{{{ {name} }}}}" for name in unknown),
                "known": ", ".join(known),
            },
            field=field,
        )


def fill(body: str, values: Mapping[str, str], known: Mapping[str, str] = PLACEHOLDERS) -> str:
    """Replace every known placeholder; an unknown one stays visible for the agent to fix."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, match.group(0)) if name in known else match.group(0)

    return PLACEHOLDER.sub(value, body)

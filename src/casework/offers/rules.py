"""An offer's rules: who is eligible, and why it suits the customer, in plain words.

Eligibility and reason conditions are expressions of the rules' language
(`rules.expressions`) over the names in `facts.FACT_NAMES`, so a typo is an error when the
offer is saved, not a silent "never". A reason's text may quote facts with placeholders:
`Vertrag endet in {contract.ends_in_days} Tagen`. A placeholder holds a fact path and
nothing else (no attribute access, no index, no format specification); the text is never
handed to `str.format`, so an administrator's text cannot reach into Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from casework.kernel.errors import InvalidInput
from casework.offers.facts import FACT_NAMES
from casework.rules.expressions import Expression, compile_expression

# Anything between braces is meant as a placeholder; it must then be a known fact path.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_FACT_PATH = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")


class InvalidReasonText(InvalidInput):
    code = "offer_reason_invalid"


@lru_cache(maxsize=2048)
def compile_rule(source: str) -> Expression | None:
    """The rule as a compiled expression; None for an empty rule, which holds for everyone.
    Raises ExpressionSyntaxError (with the column and, for a typo, a suggestion). Compiled
    rules are kept: every ranking evaluates the whole catalogue's rules again."""
    if not source.strip():
        return None
    return compile_expression(source, FACT_NAMES)


def placeholders(text: str) -> list[str]:
    """The fact paths a reason text quotes. Raises InvalidReasonText for a placeholder that
    is not a known fact, and for a brace without its partner."""
    paths = []
    for match in _PLACEHOLDER.finditer(text):
        path = match.group(1).strip()
        if not _is_fact(path):
            suggestion = FACT_NAMES.suggest(path)
            message = _("unknown fact %(name)s in braces") % {"name": f"{{{match.group(1)}}}"}
            if suggestion:
                message += " " + _("(did you mean %(name)s?)") % {"name": f"{{{suggestion}}}"}
            raise InvalidReasonText(message)
        paths.append(path)
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise InvalidReasonText(
            _("a brace without its partner: facts are quoted as {contract.ends_in_days}")
        )
    return paths


def _is_fact(path: str) -> bool:
    """A single fact: `{customer}` names the whole mapping and would print its insides."""
    if not _FACT_PATH.fullmatch(path) or not FACT_NAMES.admits(path):
        return False
    return not any(known.startswith(f"{path}.") for known in FACT_NAMES.paths)


def fill(text: str, facts: Mapping[str, object]) -> str:
    """The text with each placeholder replaced by the fact's value as the reader writes it
    (German or English numbers and dates, per the active language)."""
    return _PLACEHOLDER.sub(lambda match: show(lookup(facts, match.group(1).strip())), text)


def lookup(facts: Mapping[str, object], path: str) -> object:
    current: object = facts
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def show(value: object) -> str:
    """A fact value in words: 23, 12,5, 31.12.2026, "gold", "a, b"; a missing one as –."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        # 12.50 GB reads as 12,5 and 23.00 days as 23 (normalize() alone would write 1E+2).
        if number == number.to_integral_value():
            number = number.quantize(Decimal(1))
        else:
            number = number.normalize()
        return number_format(number, use_l10n=True)
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, list | tuple):
        return ", ".join(show(item) for item in value) or "–"
    return str(value)

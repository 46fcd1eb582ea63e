"""Recognising a customer from what a contact tells us. Exact identifier matches only:
when identifiers point at two different customers we report the ambiguity and let a person
decide, rather than guess."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Q

from casework.customers.identifiers import Identifier
from casework.customers.models import Customer, CustomerIdentifier


class MatchOutcome(StrEnum):
    MATCHED = "matched"
    UNKNOWN = "unknown"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class IdentifyResult:
    outcome: MatchOutcome
    customer: Customer | None = None
    candidates: tuple[Customer, ...] = field(default_factory=tuple)


def identify(identifiers: Iterable[Identifier]) -> IdentifyResult:
    """Identifiers must already be normalised (see `identifiers.normalise`)."""
    wanted = list(dict.fromkeys(identifiers))
    if not wanted:
        return IdentifyResult(MatchOutcome.UNKNOWN)
    by_kind: dict[str, list[str]] = {}
    for identifier in wanted:
        by_kind.setdefault(identifier.kind.value, []).append(identifier.value)
    condition = Q()
    for kind, values in by_kind.items():
        condition |= Q(kind=kind, value__in=values)
    rows = CustomerIdentifier.objects.filter(condition).select_related("customer")
    customers = {row.customer_id: row.customer for row in rows}
    if not customers:
        return IdentifyResult(MatchOutcome.UNKNOWN)
    if len(customers) == 1:
        return IdentifyResult(MatchOutcome.MATCHED, customer=next(iter(customers.values())))
    ordered = tuple(customers[key] for key in sorted(customers))
    return IdentifyResult(MatchOutcome.AMBIGUOUS, candidates=ordered)

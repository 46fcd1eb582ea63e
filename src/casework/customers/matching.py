"""Recognising a customer from what a contact tells us. Exact identifier matches only:
when identifiers point at two different customers we report the ambiguity and let a person
decide, rather than guess."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from casework.customers.identifiers import Identifier
from casework.customers.models import Customer, CustomerIdentifier
from casework.kernel import sql


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
    condition = " OR ".join(["(i.kind = %s AND i.value = %s)"] * len(wanted))
    params = [part for identifier in wanted for part in (identifier.kind.value, identifier.value)]
    found = sql.select(Customer, _CUSTOMERS_BY_IDENTIFIER + condition, params, alias="c")
    customers = {customer.pk: customer for customer in found}
    if not customers:
        return IdentifyResult(MatchOutcome.UNKNOWN)
    if len(customers) == 1:
        return IdentifyResult(MatchOutcome.MATCHED, customer=next(iter(customers.values())))
    ordered = tuple(customers[key] for key in sorted(customers))
    return IdentifyResult(MatchOutcome.AMBIGUOUS, candidates=ordered)


# Every contact asks this; one indexed join, without the ORM's query building.
_CUSTOMERS_BY_IDENTIFIER = (
    f"SELECT DISTINCT {{columns}} FROM {Customer._meta.db_table} c "
    f"JOIN {CustomerIdentifier._meta.db_table} i ON i.customer_id = c.id WHERE "
)

"""Recognising a customer from what a contact tells us. Exact identifier matches only:
when identifiers point at two different customers we report the ambiguity and let a person
decide, rather than guess."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from casework.customers.identifiers import Identifier, IdentifierKind
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
    return _result({customer.pk: customer for customer in found})


def identify_many(senders: Sequence[Iterable[Identifier]]) -> list[IdentifyResult]:
    """`identify()` for each of many contacts (a batch), with two queries per identifier
    kind for all of them instead of one per contact."""
    senders = [list(identifiers) for identifiers in senders]
    values_by_kind: dict[IdentifierKind, set[str]] = {}
    for identifiers in senders:
        for identifier in identifiers:
            values_by_kind.setdefault(identifier.kind, set()).add(identifier.value)
    owners: dict[Identifier, Customer] = {}
    for kind, values in values_by_kind.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), _VALUES_PER_QUERY):
            owners.update(_owners(kind, ordered[start : start + _VALUES_PER_QUERY]))
    results = []
    for identifiers in senders:
        found = [owners[i] for i in identifiers if i in owners]
        results.append(_result({customer.pk: customer for customer in found}))
    return results


def _owners(kind: IdentifierKind, values: list[str]) -> dict[Identifier, Customer]:
    placeholders = ", ".join(["%s"] * len(values))
    owner_ids = dict(
        sql.fetch_all(_OWNERS_BY_VALUE.format(values=placeholders), [kind.value, *values])
    )
    if not owner_ids:
        return {}
    ids = sorted(set(owner_ids.values()))
    query = _CUSTOMERS_BY_ID.format(ids=", ".join(["%s"] * len(ids)))
    customers = {c.pk: c for c in sql.select(Customer, query, ids, alias="c")}
    return {Identifier(kind, value): customers[owner] for value, owner in owner_ids.items()}


def _result(customers: dict[int, Customer]) -> IdentifyResult:
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
_VALUES_PER_QUERY = 400
_OWNERS_BY_VALUE = (
    f"SELECT value, customer_id FROM {CustomerIdentifier._meta.db_table} "
    "WHERE kind = %s AND value IN ({values})"
)
_CUSTOMERS_BY_ID = "SELECT {{columns}} FROM " + Customer._meta.db_table + " c WHERE c.id IN ({ids})"

"""What rules may know about a customer: the facts campaign audiences, offer eligibility
and next-best-offer reasons are written over.

Facts are built for many customers at once with a fixed number of queries (a campaign's
audience is tens of thousands of customers), as plain mappings the rules' expression
language reads: `contract.ends_in_days <= 90 and consent.marketing_email`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max

from casework.customers import bulk
from casework.customers.models import Consent, Contract, Customer
from casework.interactions.models import Interaction
from casework.rules.expressions import KnownNames

# The names a rule over facts may use; a typo is an error when the rule is saved.
FACT_NAMES = KnownNames(
    [
        "customer.number",
        "customer.kind",
        "customer.language",
        "customer.segment",
        "customer.age",
        "customer.interests",
        "customer.is_provisional",
        "contract.number",
        "contract.product",
        "contract.options",
        "contract.status",
        "contract.ends_in_days",
        "contract.tenure_months",
        "contract.monthly_fee",
        "contract.data_usage_gb",
        "consent.marketing_email",
        "consent.marketing_letter",
        "consent.marketing_phone",
        "consent.profiling",
        "contact.days_since_last",
        "today",
    ]
)


def facts_for(customers: Sequence[Customer], today: date) -> dict[int, dict[str, Any]]:
    """Facts per customer id; the contract is the newest active one (none: empty)."""
    ids = [customer.pk for customer in customers]
    interests = bulk.interest_tags(ids)
    consents: dict[int, dict[str, bool]] = defaultdict(dict)
    # Newest first: the first decision seen per purpose is the one that counts.
    for customer_id, purpose, granted in (
        Consent.objects.filter(customer_id__in=ids)
        .order_by("customer_id", "-recorded_at", "-pk")
        .values_list("customer_id", "purpose", "is_granted")
    ):
        consents[customer_id].setdefault(purpose, granted)
    contracts = bulk.newest_active_contracts(ids)
    last_contact = dict(
        Interaction.objects.filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "last")
    )
    facts = {}
    for customer in customers:
        last = last_contact.get(customer.pk)
        customer_consents = consents.get(customer.pk, {})
        facts[customer.pk] = {
            "customer": {
                "number": customer.customer_number,
                "kind": customer.kind,
                "language": customer.language,
                "segment": customer.segment or None,
                "age": _age(customer.birth_date, today),
                "interests": interests.get(customer.pk, []),
                "is_provisional": customer.is_provisional,
            },
            "contract": contract_facts(contracts.get(customer.pk), today),
            "consent": {
                purpose: customer_consents.get(purpose, False)
                for purpose in ("marketing_email", "marketing_letter", "marketing_phone")
            }
            | {"profiling": customer_consents.get("profiling", False)},
            "contact": {"days_since_last": (today - last.date()).days if last else None},
            "today": today,
        }
    return facts


# Facts already read within `facts_read_once()`, per (customer id, day).
_read_once: ContextVar[dict[tuple[int, date], dict[str, Any]] | None] = ContextVar(
    "casework_facts_read_once", default=None
)


@contextmanager
def facts_read_once() -> Iterator[None]:
    """Within the block `facts_of()` reads a customer's facts once and answers the same
    again. Only around work that reads the facts before it changes what they are made of:
    a retention order checks eligibility, then its process keeps the same facts for
    learning before it changes the contract (five statements fewer per order)."""
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)


def read_facts_ahead(customers: Sequence[Customer], today: date) -> None:
    """Within `facts_read_once()`: read the facts of many customers in one go (a batch of
    retention orders), so that `facts_of()` answers each of them without a query."""
    read = _read_once.get()
    if read is None:
        return
    missing = [customer for customer in customers if (customer.pk, today) not in read]
    for customer_id, facts in facts_for(missing, today).items():
        read[(customer_id, today)] = facts


def forget_facts_read(customer_id: int) -> None:
    """Within `facts_read_once()`: what the customer's facts are made of has changed (an
    order changed the contract); `facts_of()` reads them again."""
    read = _read_once.get()
    if read is not None:
        for key in [key for key in read if key[0] == customer_id]:
            del read[key]


def facts_of(customer: Customer, today: date) -> dict[str, Any]:
    read = _read_once.get()
    if read is None:
        return facts_for([customer], today)[customer.pk]
    key = (customer.pk, today)
    if key not in read:
        read[key] = facts_for([customer], today)[customer.pk]
    return read[key]


def contract_facts(contract: Contract | None, today: date) -> dict[str, Any]:
    if contract is None:
        return {"options": []}
    ends = contract.end_date
    return {
        "number": contract.contract_number,
        "product": contract.product.code,
        "options": sorted(option.code for option in contract.options.all()),
        "status": contract.status,
        "ends_in_days": (ends - today).days if ends else None,
        "tenure_months": (today.year - contract.start_date.year) * 12
        + today.month
        - contract.start_date.month,
        "monthly_fee": Decimal(contract.monthly_fee),
        # None when billing has not reported it: a rule over it is then false, not zero.
        "data_usage_gb": None
        if contract.data_usage_gb is None
        else Decimal(contract.data_usage_gb),
    }


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def customers_in_batches(
    queryset: Iterable[Customer], size: int = 2000
) -> Iterable[list[Customer]]:
    batch: list[Customer] = []
    for customer in queryset:
        batch.append(customer)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

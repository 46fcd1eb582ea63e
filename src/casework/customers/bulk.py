"""Reads of many customers at once, with a fixed number of queries: what campaign facts
and a batch of cases' process contexts need of their customers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from casework.customers.models import Contract, Interest


def interest_tags(customer_ids: Iterable[int]) -> dict[int, list[str]]:
    """The interest tags of each customer, sorted, without repeats (absent: none)."""
    tags: dict[int, set[str]] = defaultdict(set)
    for customer_id, tag in Interest.objects.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "tag"
    ):
        tags[customer_id].add(tag)
    return {customer_id: sorted(found) for customer_id, found in tags.items()}


def newest_active_contracts(customer_ids: Iterable[int]) -> dict[int, Contract]:
    """Each customer's newest active contract (latest start, then the latest created), with
    its product and options read along (absent: none)."""
    contracts: dict[int, Contract] = {}
    for contract in (
        Contract.objects.filter(customer_id__in=customer_ids, status="active")
        .select_related("product")
        .prefetch_related("options")
        .order_by("customer_id", "-start_date", "-pk")
    ):
        contracts.setdefault(contract.customer_id, contract)
    return contracts

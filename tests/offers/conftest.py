"""A customer whose contract ends in 23 days and who uses no mobile data, on a pinned day
(Wednesday, 25 November 2026)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from casework.customers.models import Contract, Customer
from casework.kernel import clock
from tests.factories import ContractFactory, CustomerFactory, ProductFactory

TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def pinned() -> Iterator[clock.PinnedTime]:
    with clock.running_at(NOW) as pinned:
        yield pinned


@pytest.fixture
def customer(db, pinned) -> Customer:  # noqa: ANN001
    customer = CustomerFactory(segment="gold", first_name="Greta")
    ContractFactory(
        customer=customer,
        product=ProductFactory(code="mobil-m", monthly_fee="19.99"),
        start_date=dt.date(2024, 5, 1),  # 30 months
        end_date=TODAY + dt.timedelta(days=23),
        monthly_fee=Decimal("19.99"),
        data_usage_gb=Decimal("0.00"),
    )
    return customer


def contract_of(customer: Customer) -> Contract:
    return Contract.objects.get(customer=customer)

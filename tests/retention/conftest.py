"""Fixtures shared by the retention tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.retention.factories import OfferFactory


@pytest.fixture
def international(engine):  # noqa: ANN001, ANN201
    """The offer Lisa gets: an international option, for contracts ending within 90 days."""
    return OfferFactory(
        code="international-option",
        name_de="Auslandsoption",
        name_en="International option",
        extend_months=24,
        discount_percent=Decimal("10"),
        interest_tag="international-tariffs",
        eligibility="contract.ends_in_days <= 90",
    )

"""The next-best-offer panel in real Chromium: it loads beside the case, Decline swaps it in
place, Accept changes the contract the 360 view shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from casework.customers.models import Contract
from casework.offers.models import OfferDecision
from casework.routing.models import Agent
from tests.browser import sign_in
from tests.factories import CaseFactory, ContractFactory, CustomerFactory, InteractionFactory
from tests.offers.factories import OfferFactory, OfferReasonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_agent_declines_one_offer_and_the_customer_accepts_another(
    page: Page, agent: Agent, email_intake
):  # noqa: ANN001
    # The live server runs on the real clock: the contract ends 23 days from today.
    customer = CustomerFactory(first_name="Greta", last_name="Gold", segment="gold")
    ContractFactory(
        customer=customer,
        start_date=dt.date(2020, 1, 1),
        end_date=timezone.localdate() + dt.timedelta(days=23),
        monthly_fee=Decimal("19.99"),
        data_usage_gb=Decimal("0"),
    )
    case = CaseFactory(customer=customer, case_type=email_intake.case_type)
    InteractionFactory(customer=customer, case=case, channel="phone")
    discount = OfferFactory(
        code="discount-10",
        name_en="10 % discount",
        discount_percent=Decimal("10"),
        value=Decimal("150"),
    )
    OfferReasonFactory(
        offer=discount,
        text_en="contract ends in {contract.ends_in_days} days",
        condition="contract.ends_in_days <= 90",
    )
    OfferReasonFactory(
        offer=discount,
        position=2,
        text_en="uses no data volume",
        condition="contract.data_usage_gb == 0",
    )
    OfferFactory(
        code="warranty-extension",
        kind="action",
        name_en="Extend the warranty by a year",
        value=Decimal("40"),
    )
    sign_in(page, agent)

    page.goto(f"/cases/{case.pk}/")

    panel = page.locator("#case-offers")
    expect(panel.locator(".offer-name")).to_have_text(
        ["10 % discount", "Extend the warranty by a year"]
    )
    expect(panel.locator("#offer-discount-10 .offer-reasons")).to_have_text(
        "contract ends in 23 days; uses no data volume"
    )
    page.evaluate("window.stillTheSamePage = true")
    panel.locator("#offer-warranty-extension").get_by_role("button", name="Decline").click()
    expect(page.locator("#flash")).to_contain_text(
        "Extend the warranty by a year declined; it is not proposed again for 30 days."
    )
    expect(panel.locator(".offer-name")).to_have_text(["10 % discount"])
    expect(panel.locator(".offer-decisions")).to_contain_text("Declined")
    assert page.evaluate("window.stillTheSamePage") is True

    panel.locator("#offer-discount-10").get_by_role("button", name="Accept").click()

    expect(page.locator("#customer-360")).to_contain_text("17.99\xa0€")
    expect(page.locator("#case-offers .offer-decisions li")).to_have_count(2)
    expect(page.locator("#case-notes .note")).to_contain_text("Offer accepted: 10 % discount.")
    assert Contract.objects.get(customer=customer).monthly_fee == Decimal("17.99")
    assert OfferDecision.objects.filter(customer=customer).count() == 2

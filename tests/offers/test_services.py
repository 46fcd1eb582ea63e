"""Recording decisions: an accepted offer changes the contract once, in one transaction
with its events; an action leaves a note on the case; a decline is recorded once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput
from casework.offers.models import OfferDecision
from casework.offers.queries import UnknownOffer
from casework.offers.services import (
    OfferNotAvailable,
    add_months,
    discounted,
    record_offer_decision,
)
from tests.factories import CaseFactory, ContractFactory, CustomerFactory, ProductFactory
from tests.offers.conftest import TODAY, contract_of
from tests.offers.factories import OfferFactory

AGENT = Actor.system("test")


def events(code: str) -> list[Event]:
    return list(Event.objects.filter(code=code).order_by("seq"))


def test_accepting_an_offer_changes_the_contract_once(customer):  # noqa: ANN001
    ProductFactory(code="intl-eu", kind="option", monthly_fee="4.99")
    OfferFactory(
        code="discount-20",
        discount_percent=Decimal("20"),
        extend_months=24,
        add_option="intl-eu",
        eligibility="contract.ends_in_days <= 90",
    )

    first = record_offer_decision(
        customer, "discount-20", is_accepted=True, channel="phone", actor=AGENT
    )
    again = record_offer_decision(
        customer, "discount-20", is_accepted=True, channel="phone", actor=AGENT
    )

    assert first.is_new and not again.is_new
    assert again.decision.pk == first.decision.pk
    contract = contract_of(customer)
    assert contract.monthly_fee == Decimal("15.99")  # 19.99 less 20 %: 15.992
    assert contract.end_date == dt.date(2028, 12, 18)  # 18.12.2026 + 24 months
    assert [option.code for option in contract.options.all()] == ["intl-eu"]
    assert sorted(first.contract_changes) == ["end_date", "monthly_fee", "options"]
    (changed,) = events("contract.updated")
    assert changed.payload["before"]["monthly_fee"] == "19.99"
    assert changed.payload["after"]["monthly_fee"] == "15.99"
    assert changed.payload["after"]["end_date"] == "2028-12-18"
    assert changed.payload["offer"] == "discount-20"
    (accepted,) = events("offer.accepted")
    assert accepted.object_type == "customer" and accepted.object_id == customer.pk
    assert accepted.payload["offer"] == "discount-20"
    assert accepted.payload["contract_id"] == contract.pk
    decision = OfferDecision.objects.get()
    assert decision.facts["contract"]["ends_in_days"] == 23
    assert decision.facts["contract"]["data_usage_gb"] == "0.00"
    assert decision.propensity == 0.5 and decision.contract_id == contract.pk


def test_a_tariff_switch_comes_before_the_discount(customer):  # noqa: ANN001
    ProductFactory(code="sprache-basis", monthly_fee="7.99")
    OfferFactory(code="voice-only", switch_to="sprache-basis", discount_percent=Decimal("10"))

    result = record_offer_decision(
        customer, "voice-only", is_accepted=True, channel="chat", actor=AGENT
    )

    contract = contract_of(customer)
    assert contract.product.code == "sprache-basis"
    assert contract.monthly_fee == Decimal("7.19")  # 7.99 less 10 %
    assert result.contract_changes["monthly_fee"] == (Decimal("19.99"), Decimal("7.19"))
    assert result.contract_changes["product"] == ("mobil-m", "sprache-basis")


def test_an_open_ended_contract_gets_a_term_from_today(db, pinned):  # noqa: ANN001
    customer = CustomerFactory()
    ContractFactory(customer=customer, end_date=None)
    OfferFactory(code="loyalty", extend_months=12)

    record_offer_decision(customer, "loyalty", is_accepted=True, channel="phone", actor=AGENT)

    assert contract_of(customer).end_date == dt.date(2027, 11, 25)


def test_an_option_no_longer_sold_is_left_out_and_the_rest_applies(customer):  # noqa: ANN001
    OfferFactory(code="option-gone", add_option="retired-option", extend_months=1)

    result = record_offer_decision(
        customer, "option-gone", is_accepted=True, channel="phone", actor=AGENT
    )

    assert sorted(result.contract_changes) == ["end_date"]
    assert not contract_of(customer).options.exists()


def test_an_action_records_the_decision_and_a_note_on_the_case(customer):  # noqa: ANN001
    case = CaseFactory(customer=customer)
    OfferFactory(
        code="goodwill-10-percent",
        kind="action",
        name_en="Grant this customer 10 % now",
        value=0,
        discount_percent=Decimal("10"),  # an action never changes the contract
    )

    result = record_offer_decision(
        customer,
        "goodwill-10-percent",
        is_accepted=True,
        channel="phone",
        actor=AGENT,
        case=case,
    )

    assert result.is_new and result.contract_changes == {}
    assert contract_of(customer).monthly_fee == Decimal("19.99")
    assert not events("contract.updated")
    note = Interaction.objects.get(case=case, channel="note")
    assert note.text == "Action taken: Grant this customer 10 % now."
    assert [event.code for event in events("case.note_added")] == ["case.note_added"]
    assert result.decision.case_id == case.pk


def test_an_accepted_offer_on_a_case_notes_what_changed(customer):  # noqa: ANN001
    case = CaseFactory(customer=customer)
    OfferFactory(code="discount-10", name_en="10 % discount", discount_percent=Decimal("10"))

    record_offer_decision(
        customer, "discount-10", is_accepted=True, channel="phone", actor=AGENT, case=case
    )

    note = Interaction.objects.get(case=case, channel="note")
    number = contract_of(customer).contract_number
    assert note.text == (
        f"Offer accepted: 10 % discount. Contract {number}: monthly fee 19.99 € → 17.99 €."
    )


def test_an_offer_the_customer_may_not_have_now_is_refused(customer):  # noqa: ANN001
    OfferFactory(code="silver-only", eligibility='customer.segment == "silver"')
    OfferFactory(code="expired", valid_until=TODAY - dt.timedelta(days=1), extend_months=3)

    for code in ("silver-only", "expired"):
        with pytest.raises(OfferNotAvailable):
            record_offer_decision(customer, code, is_accepted=True, channel="phone", actor=AGENT)

    assert not OfferDecision.objects.exists()
    assert not events("offer.accepted")
    assert contract_of(customer).end_date == dt.date(2026, 12, 18)


def test_an_offer_that_changes_a_contract_needs_an_active_one(db, pinned):  # noqa: ANN001
    customer = CustomerFactory()
    OfferFactory(code="discount", discount_percent=Decimal("5"))

    with pytest.raises(OfferNotAvailable, match="no active one"):
        record_offer_decision(customer, "discount", is_accepted=True, channel="phone", actor=AGENT)
    assert not OfferDecision.objects.exists()


def test_a_second_decline_in_the_pause_finds_the_first(customer):  # noqa: ANN001
    OfferFactory(code="discount-10")

    first = record_offer_decision(
        customer, "discount-10", is_accepted=False, channel="letter", actor=AGENT
    )
    again = record_offer_decision(
        customer, "discount-10", is_accepted=False, channel="phone", actor=AGENT
    )

    assert first.is_new and not again.is_new
    assert OfferDecision.objects.count() == 1
    assert [event.payload["channel"] for event in events("offer.declined")] == ["letter"]


def test_the_customer_may_accept_what_they_declined_before(customer):  # noqa: ANN001
    OfferFactory(code="discount-10", discount_percent=Decimal("10"))

    record_offer_decision(customer, "discount-10", is_accepted=False, channel="chat", actor=AGENT)
    result = record_offer_decision(
        customer, "discount-10", is_accepted=True, channel="chat", actor=AGENT
    )

    assert result.is_new
    assert contract_of(customer).monthly_fee == Decimal("17.99")


def test_declining_an_accepted_offer_is_a_conflict(customer):  # noqa: ANN001
    OfferFactory(code="warranty-extension", kind="action")
    record_offer_decision(
        customer, "warranty-extension", is_accepted=True, channel="phone", actor=AGENT
    )

    with pytest.raises(Conflict):
        record_offer_decision(
            customer, "warranty-extension", is_accepted=False, channel="phone", actor=AGENT
        )


def test_unknown_offers_channels_and_foreign_cases_are_refused(customer):  # noqa: ANN001
    OfferFactory(code="discount-10")
    with pytest.raises(UnknownOffer, match="there is no offer “nope”"):
        record_offer_decision(customer, "nope", is_accepted=True, channel="phone", actor=AGENT)
    with pytest.raises(InvalidInput, match="unknown channel “pigeon”"):
        record_offer_decision(
            customer, "discount-10", is_accepted=True, channel="pigeon", actor=AGENT
        )
    with pytest.raises(InvalidInput, match="the case belongs to another customer"):
        record_offer_decision(
            customer,
            "discount-10",
            is_accepted=True,
            channel="phone",
            actor=AGENT,
            case=CaseFactory(),
        )
    assert not OfferDecision.objects.exists()


def test_a_failure_halfway_leaves_neither_decision_nor_contract_change(customer, monkeypatch):  # noqa: ANN001
    OfferFactory(code="discount-10", discount_percent=Decimal("10"))

    def broken_note(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the note could not be written")

    monkeypatch.setattr("casework.offers.services.add_note", broken_note)
    with pytest.raises(RuntimeError):
        record_offer_decision(
            customer,
            "discount-10",
            is_accepted=True,
            channel="phone",
            actor=AGENT,
            case=CaseFactory(customer=customer),
        )

    assert not OfferDecision.objects.exists()
    assert contract_of(customer).monthly_fee == Decimal("19.99")
    assert not events("contract.updated") and not events("offer.accepted")


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 12, 18), 24, dt.date(2028, 12, 18)),
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2026, 12, 31), 12, dt.date(2027, 12, 31)),
    ],
)
def test_months_are_added_calendar_wise(day, months, expected):  # noqa: ANN001
    assert add_months(day, months) == expected


def test_a_discount_is_rounded_to_the_cent_half_up():
    assert discounted(Decimal("19.99"), Decimal("20")) == Decimal("15.99")
    assert discounted(Decimal("10.05"), Decimal("10")) == Decimal("9.05")  # 9.045
    assert discounted(Decimal("9.99"), Decimal("100")) == Decimal("0.00")

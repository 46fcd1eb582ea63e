"""Agents book orders and change them before they start: switch the tariff or the options,
cancel the order, send the contract by post. Each change records its event (and a note on
the case the agent works); a refused change writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from casework.customers.models import Contract, ContractStatus, Customer, Product
from casework.customers.services import (
    ChangeContract,
    ContractNotChangeable,
    ContractOrder,
    InvalidProduct,
    book_contract,
    cancel_contract,
    change_contract,
    send_contract_by_post,
)
from casework.events.models import Event
from casework.events.services import verify_chain
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, DomainError, InvalidInput
from tests.factories import CaseFactory, ContractFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return clock.localtime(clock.now()).date()


@pytest.fixture
def catalogue() -> None:
    ProductFactory(code="mobil-m", name_de="Mobil M", name_en="Mobile M", monthly_fee="19.99")
    ProductFactory(
        code="sprache-basis",
        name_de="Sprache Basis",
        name_en="Voice basic",
        monthly_fee="7.99",
    )
    ProductFactory(code="mobil-alt", name_en="Mobile old", monthly_fee="14.99", is_active=False)
    ProductFactory(code="intl-eu", kind="option", name_en="Abroad EU+", monthly_fee="4.99")
    ProductFactory(code="daten-alt", kind="option", name_en="Data old", is_active=False)
    ProductFactory(
        code="smartphone-a", kind="device", name_de="Smartphone A54", monthly_fee="12.50"
    )
    ProductFactory(code="mitglied", kind="membership", name_en="Membership", monthly_fee="0")


@pytest.fixture
def helmut(catalogue) -> Customer:  # noqa: ANN001
    return CustomerFactory(
        first_name="Helmut",
        last_name="Berger",
        street="Lindenstraße 3",
        postal_code="10969",
        city="Berlin",
        language="de",
    )


@pytest.fixture
def order(helmut: Customer, agent_actor: Actor) -> Contract:
    """Helmut's first call: Mobil M with the smartphone, ordered."""
    return book_contract(
        helmut,
        ContractOrder("mobil-m", start_date=today(), option_codes=["smartphone-a"]),
        actor=agent_actor,
    )


def events(code: str, contract: Contract) -> list[Event]:
    return list(Event.objects.filter(code=code, object_id=contract.pk).order_by("seq"))


def notes_on(case) -> list[str]:  # noqa: ANN001
    return list(case.interactions.filter(channel="note").values_list("text", flat=True))


def test_booking_orders_the_tariff_with_its_options_and_notes_it_on_the_case(
    helmut: Customer, agent_actor: Actor
):
    case = CaseFactory(customer=helmut)

    contract = book_contract(
        helmut,
        ContractOrder("mobil-m", start_date=today(), option_codes=["smartphone-a", "intl-eu"]),
        actor=agent_actor,
        case=case,
    )

    contract.refresh_from_db()
    assert contract.status == ContractStatus.ORDERED
    assert contract.product.code == "mobil-m" and contract.monthly_fee == Decimal("19.99")
    assert sorted(contract.options.values_list("code", flat=True)) == ["intl-eu", "smartphone-a"]
    [created] = events("contract.created", contract)
    assert created.payload["status"] == "ordered"
    assert created.payload["options"] == ["intl-eu", "smartphone-a"]
    [note] = notes_on(case)
    assert contract.contract_number in note and "Mobile M" in note and "19.99" in note
    assert verify_chain().is_intact


@pytest.mark.parametrize(
    ("product", "options", "error"),
    [
        ("gibt-es-nicht", [], InvalidProduct),  # unknown tariff
        ("intl-eu", [], InvalidProduct),  # an option is no tariff
        ("mitglied", [], InvalidProduct),  # nor is a membership
        ("mobil-alt", [], InvalidProduct),  # no longer on sale
        ("mobil-m", ["sprache-basis"], InvalidProduct),  # a tariff is no option
        ("mobil-m", ["daten-alt"], InvalidProduct),  # option no longer on sale
        ("mobil-m", ["gibt-es-nicht"], InvalidProduct),  # unknown option
    ],
)
def test_booking_refuses_products_that_make_no_order_and_writes_nothing(
    helmut: Customer, agent_actor: Actor, product: str, options: list[str], error: type
):
    events_before = Event.objects.count()

    with pytest.raises(error) as refused:
        book_contract(
            helmut,
            ContractOrder(product, start_date=today(), option_codes=options),
            actor=agent_actor,
        )

    assert refused.value.message  # a sentence for the banner, naming the product
    assert not Contract.objects.filter(customer=helmut).exists()
    assert Event.objects.count() == events_before


def test_booking_refuses_a_start_in_the_past_a_foreign_case_and_a_merged_record(
    helmut: Customer, agent_actor: Actor
):
    yesterday = today() - dt.timedelta(days=1)
    with pytest.raises(InvalidInput):
        book_contract(helmut, ContractOrder("mobil-m", start_date=yesterday), actor=agent_actor)
    with pytest.raises(InvalidInput):
        book_contract(
            helmut,
            ContractOrder("mobil-m", start_date=today()),
            actor=agent_actor,
            case=CaseFactory(),  # another customer's case
        )
    duplicate = CustomerFactory(merged_into=helmut)
    with pytest.raises(Conflict):
        book_contract(duplicate, ContractOrder("mobil-m", start_date=today()), actor=agent_actor)

    assert not Contract.objects.exists()
    assert not Event.objects.filter(code="contract.created").exists()


def test_changing_an_order_switches_tariff_fee_and_options_with_before_and_after(
    helmut: Customer, order: Contract, agent_actor: Actor
):
    """Helmut's second call: no data volume needed, the voice-only tariff instead."""
    case = CaseFactory(customer=helmut)

    result = change_contract(
        order,
        ChangeContract("sprache-basis", option_codes=["intl-eu"]),
        actor=agent_actor,
        case=case,
    )

    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED
    assert order.product.code == "sprache-basis" and order.monthly_fee == Decimal("7.99")
    assert list(order.options.values_list("code", flat=True)) == ["intl-eu"]
    assert result.changes == {
        "product": ("mobil-m", "sprache-basis"),
        "monthly_fee": (Decimal("19.99"), Decimal("7.99")),
        "options": (["smartphone-a"], ["intl-eu"]),
    }
    [updated] = events("contract.updated", order)
    assert updated.payload["before"] == {
        "product": "mobil-m",
        "monthly_fee": "19.99",
        "options": ["smartphone-a"],
    }
    assert updated.payload["after"] == {
        "product": "sprache-basis",
        "monthly_fee": "7.99",
        "options": ["intl-eu"],
    }
    assert updated.actor_label == agent_actor.label
    [note] = notes_on(case)
    assert order.contract_number in note and "Mobile M → Voice basic" in note


def test_changing_only_the_options_keeps_the_fee(order: Contract, agent_actor: Actor):
    order.monthly_fee = Decimal("17.99")  # a price agreed at booking
    order.save(update_fields=["monthly_fee"])

    result = change_contract(order, ChangeContract("mobil-m"), actor=agent_actor)

    order.refresh_from_db()
    assert result.changes == {"options": (["smartphone-a"], [])}
    assert order.monthly_fee == Decimal("17.99") and not order.options.exists()


def test_changing_to_what_the_order_has_records_nothing(order: Contract, agent_actor: Actor):
    result = change_contract(
        order, ChangeContract("mobil-m", option_codes=["smartphone-a"]), actor=agent_actor
    )

    assert result.changes == {}
    assert events("contract.updated", order) == []


def test_a_product_no_longer_on_sale_may_stay_but_not_be_added(
    helmut: Customer, agent_actor: Actor
):
    contract = ContractFactory(
        customer=helmut, product__code="mobil-alt", status=ContractStatus.ORDERED
    )
    contract.options.add(Product.objects.get(code="daten-alt"))

    change_contract(
        contract,
        ChangeContract("mobil-alt", option_codes=["daten-alt", "intl-eu"]),
        actor=agent_actor,
    )
    with pytest.raises(InvalidProduct):
        change_contract(
            ContractFactory(customer=helmut, status=ContractStatus.ORDERED),
            ChangeContract("mobil-alt"),
            actor=agent_actor,
        )

    assert sorted(contract.options.values_list("code", flat=True)) == ["daten-alt", "intl-eu"]


@pytest.mark.parametrize(
    "status", [ContractStatus.ACTIVE, ContractStatus.CANCELLED, ContractStatus.ENDED]
)
def test_only_an_order_is_changed_or_cancelled(helmut: Customer, agent_actor: Actor, status: str):
    contract = ContractFactory(customer=helmut, product__code="mobil-m", status=status)
    events_before = Event.objects.count()

    with pytest.raises(ContractNotChangeable) as refused:
        change_contract(contract, ChangeContract("sprache-basis"), actor=agent_actor)
    with pytest.raises(ContractNotChangeable):
        cancel_contract(contract, reason="Kunde möchte nicht", actor=agent_actor)

    assert contract.contract_number in refused.value.message
    contract.refresh_from_db()
    assert contract.status == status and contract.product.code == "mobil-m"
    assert Event.objects.count() == events_before


@pytest.mark.parametrize(
    "change",
    [
        ChangeContract("intl-eu"),  # an option as tariff
        ChangeContract("gibt-es-nicht"),
        ChangeContract("sprache-basis", option_codes=["mobil-m"]),  # a tariff as option
        ChangeContract("sprache-basis", option_codes=["daten-alt"]),  # not on sale
    ],
)
def test_a_refused_change_leaves_the_order_as_it_was(
    order: Contract, agent_actor: Actor, change: ChangeContract
):
    events_before = Event.objects.count()

    with pytest.raises(InvalidProduct):
        change_contract(order, change, actor=agent_actor)

    order.refresh_from_db()
    assert order.product.code == "mobil-m" and order.monthly_fee == Decimal("19.99")
    assert list(order.options.values_list("code", flat=True)) == ["smartphone-a"]
    assert Event.objects.count() == events_before


def test_a_change_with_another_customers_case_writes_nothing(order: Contract, agent_actor: Actor):
    with pytest.raises(InvalidInput):
        change_contract(
            order, ChangeContract("sprache-basis"), actor=agent_actor, case=CaseFactory()
        )

    order.refresh_from_db()
    assert order.product.code == "mobil-m"


def test_cancelling_an_order_records_the_reason(
    helmut: Customer, order: Contract, agent_actor: Actor
):
    case = CaseFactory(customer=helmut)

    cancel_contract(order, reason="  Kein Datenvolumen nötig ", actor=agent_actor, case=case)

    order.refresh_from_db()
    assert order.status == ContractStatus.CANCELLED
    [cancelled] = events("contract.cancelled", order)
    assert cancelled.payload["reason"] == "Kein Datenvolumen nötig"
    assert cancelled.payload["before"] == {"status": "ordered"}
    assert cancelled.payload["after"] == {"status": "cancelled"}
    assert notes_on(case) == [f"Order {order.contract_number} cancelled: Kein Datenvolumen nötig"]
    with pytest.raises(ContractNotChangeable):
        cancel_contract(order, reason="noch einmal", actor=agent_actor)
    with pytest.raises(ContractNotChangeable):
        change_contract(order, ChangeContract("sprache-basis"), actor=agent_actor)


def test_cancelling_needs_a_reason(order: Contract, agent_actor: Actor):
    with pytest.raises(InvalidInput):
        cancel_contract(order, reason="   ", actor=agent_actor)

    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED
    assert events("contract.cancelled", order) == []


def test_sending_by_post_records_a_letter_in_the_customers_language(
    helmut: Customer, order: Contract, agent_actor: Actor
):
    case = CaseFactory(customer=helmut)

    letter = send_contract_by_post(order, actor=agent_actor, case=case)

    letter = Interaction.objects.get(pk=letter.pk)
    assert (letter.channel, letter.direction) == ("letter", "outbound")
    assert letter.customer_id == helmut.pk and letter.case_id == case.pk
    assert letter.agent_id == agent_actor.id
    # German: the tariff's German name and the fee as 19,99 €.
    assert order.contract_number in letter.subject
    assert "Mobil M" in letter.text and "Smartphone A54" in letter.text
    assert "19,99\N{NO-BREAK SPACE}€" in letter.text
    [sent] = events("contract.sent_by_post", order)
    assert sent.payload["interaction_id"] == letter.pk and sent.payload["case_id"] == case.pk
    assert sent.payload["options"] == ["smartphone-a"]
    assert Event.objects.filter(code="interaction.recorded", object_id=letter.pk).exists()
    case.refresh_from_db()
    assert case.last_activity_at == letter.occurred_at


def test_sending_by_post_needs_a_running_contract_and_an_address(
    helmut: Customer, order: Contract, agent_actor: Actor
):
    cancel_contract(order, reason="storniert", actor=agent_actor)
    with pytest.raises(ContractNotChangeable):
        send_contract_by_post(order, actor=agent_actor)

    homeless = ContractFactory(customer=CustomerFactory(street="", postal_code=""))
    with pytest.raises(InvalidInput):
        send_contract_by_post(homeless, actor=agent_actor)

    assert not Interaction.objects.filter(channel="letter").exists()
    assert not Event.objects.filter(code="contract.sent_by_post").exists()


def test_every_refusal_is_a_domain_error_with_a_stable_code(order: Contract, agent_actor: Actor):
    with pytest.raises(DomainError) as refused:
        change_contract(order, ChangeContract("intl-eu"), actor=agent_actor)

    assert refused.value.code == "invalid_product" and refused.value.status == 422
    assert ContractNotChangeable.code == "contract_not_changeable"
    assert ContractNotChangeable.status == 409

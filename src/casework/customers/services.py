"""The only code that changes customer data. Each function owns its transaction and
records its event; views, the API, imports and the intake pipeline all call these."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.services import add_note, touch_case
from casework.customers.iban import normalise_iban
from casework.customers.identifiers import Identifier, IdentifierKind, normalise
from casework.customers.models import (
    Channel,
    Consent,
    Contract,
    ContractStatus,
    Customer,
    CustomerIdentifier,
    CustomerKind,
    CustomerNumberSequence,
    Interest,
    PaymentMethod,
    PaymentMethodKind,
    Product,
    build_search_name,
)
from casework.events.services import record, recording_transaction
from casework.interactions.models import Direction, Interaction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import Conflict, InvalidInput

CUSTOMER_NUMBER_PREFIX = "K"

# Fields an agent or the API may change directly on a customer.
EDITABLE_FIELDS = (
    "kind", "salutation", "first_name", "last_name", "organisation_name", "birth_date",
    "street", "postal_code", "city", "country", "language", "preferred_channel",
)  # fmt: skip


# Checked for every new customer: sets, not the enums' `values` (a new list each time).
_KINDS = frozenset(CustomerKind.values)
_CHANNELS = frozenset(Channel.values)


class IdentifierTaken(Conflict):
    code = "identifier_taken"


@dataclass(frozen=True)
class RawIdentifier:
    """An identifier as the outside world spelled it, before normalising."""

    kind: str
    value: str

    def normalised(self) -> Identifier:
        return normalise(self.kind, self.value)


@dataclass
class NewCustomer:
    kind: str = CustomerKind.PERSON
    first_name: str = ""
    last_name: str = ""
    organisation_name: str = ""
    salutation: str = ""
    birth_date: date | None = None
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "DE"
    language: str = "de"
    preferred_channel: str = ""
    customer_number: str = ""
    identifiers: Sequence[RawIdentifier] = field(default_factory=tuple)
    is_provisional: bool = False
    # A code the organisation groups its customers by ("senior", "business"), for the figures.
    segment: str = ""


def validate_new_customer(data: NewCustomer) -> list[tuple[RawIdentifier, Identifier]]:
    """Check everything that can be checked without the database; returns the normalised
    identifiers. Raises InvalidInput naming the field."""
    if data.kind not in _KINDS:
        raise InvalidInput(
            _("unknown customer kind “%(kind)s”") % {"kind": data.kind}, field="kind"
        )
    if data.kind == CustomerKind.PERSON and not data.last_name.strip() and not data.identifiers:
        raise InvalidInput(_("a person needs a last name or an identifier"), field="last_name")
    if data.kind == CustomerKind.ORGANISATION and not data.organisation_name.strip():
        raise InvalidInput(_("an organisation needs a name"), field="organisation_name")
    if data.segment and not re.fullmatch(r"[-a-z0-9_]{1,40}", data.segment):
        raise InvalidInput(
            _("a segment is a code of lower-case letters, digits and dashes: “%(segment)s”")
            % {"segment": data.segment},
            field="segment",
        )
    if data.preferred_channel and data.preferred_channel not in _CHANNELS:
        raise InvalidInput(
            _("unknown channel “%(preferred_channel)s”")
            % {"preferred_channel": data.preferred_channel},
            field="preferred_channel",
        )
    if data.language not in ("de", "en"):
        raise InvalidInput(
            _("unsupported language “%(language)s”") % {"language": data.language}, field="language"
        )
    normalised = [(raw, raw.normalised()) for raw in data.identifiers]
    seen: set[Identifier] = set()
    for raw, identifier in normalised:
        if identifier in seen:
            raise InvalidInput(
                _("identifier “%(raw)s” is given twice") % {"raw": raw.value},
                field="identifiers",
                value=raw.value,
            )
        seen.add(identifier)
    return normalised


@recording_transaction()
def create_customer(data: NewCustomer, *, actor: Actor) -> Customer:
    return create_customers([data], actor=actor)[0]


@recording_transaction()
def create_customers(datas: Sequence[NewCustomer], *, actor: Actor) -> list[Customer]:
    """`create_customer()` for several new customers, with one statement per table for all
    of them (a batch of the intake). Raises as `create_customer()` would for the first that
    cannot be created, and creates none then."""
    checked = [validate_new_customer(data) for data in datas]
    wanted = [identifier for identifiers in checked for _, identifier in identifiers]
    if len(set(wanted)) < len(wanted):
        raise IdentifierTaken(_("two of the new customers have the same identifier"))
    _ensure_identifiers_free(wanted)
    given = [data.customer_number.strip() for data in datas]
    generated = iter(next_customer_numbers(sum(1 for number in given if not number)))
    numbers = [number or next(generated) for number in given]
    taken = set(
        Customer.objects.filter(customer_number__in=numbers).values_list(
            "customer_number", flat=True
        )
    )
    for number in numbers:
        if number in taken:
            raise Conflict(
                _("customer number %(number)s exists already") % {"number": number},
                field="customer_number",
            )
    customers = []
    for data, number in zip(datas, numbers, strict=True):
        first_name, last_name = data.first_name.strip(), data.last_name.strip()
        organisation_name = data.organisation_name.strip()
        customers.append(
            sql.new_row(
                Customer,
                kind=data.kind,
                customer_number=number,
                salutation=data.salutation.strip(),
                first_name=first_name,
                last_name=last_name,
                organisation_name=organisation_name,
                # What `Customer.save()` sets; these rows are inserted without it.
                search_name=build_search_name(first_name, last_name, organisation_name),
                birth_date=data.birth_date,
                street=data.street.strip(),
                postal_code=data.postal_code.strip(),
                city=data.city.strip(),
                country=data.country.strip().upper() or "DE",
                language=data.language,
                preferred_channel=data.preferred_channel,
                is_provisional=data.is_provisional,
                segment=data.segment,
            )
        )
    sql.insert_returning(customers)
    rows_of = []
    for customer, identifiers in zip(customers, checked, strict=True):
        number = customer.customer_number
        rows = [
            sql.new_row(
                CustomerIdentifier,
                customer_id=customer.pk,
                kind=identifier.kind,
                value=identifier.value,
                raw_value=raw.value.strip(),
            )
            for raw, identifier in identifiers
        ]
        rows.append(
            sql.new_row(
                CustomerIdentifier,
                customer_id=customer.pk,
                kind=IdentifierKind.CUSTOMER_NUMBER,
                value=number,
                raw_value=number,
            )
        )
        rows_of.append(rows)
    try:
        with transaction.atomic():
            sql.insert_many([row for rows in rows_of for row in rows])
    except IntegrityError as error:
        # Lost a race with another writer between the check above and this insert.
        raise IdentifierTaken(_("an identifier belongs to another customer already")) from error
    for customer, data, rows in zip(customers, datas, rows_of, strict=True):
        record(
            "customer.created",
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            payload={
                "customer_number": customer.customer_number,
                "identifiers": [f"{row.kind}:{row.value}" for row in rows],
                "is_provisional": data.is_provisional,
                "segment": data.segment,
            },
        )
    return customers


def _ensure_identifiers_free(identifiers: Sequence[Identifier]) -> None:
    if not identifiers:
        return
    condition = " OR ".join(["(kind = %s AND value = %s)"] * len(identifiers))
    params = [
        part for identifier in identifiers for part in (identifier.kind.value, identifier.value)
    ]
    taken = sql.fetch_one(
        f"SELECT kind, value FROM {CustomerIdentifier._meta.db_table} WHERE {condition}", params
    )
    if taken is not None:
        raise IdentifierTaken(
            _("%(kind)s %(identifier)s belongs to another customer already")
            % {"kind": IdentifierKind(taken[0]).label, "identifier": taken[1]},
            field="identifiers",
            value=taken[1],
        )


def next_customer_number() -> str:
    """Must run inside a transaction: the sequence row stays locked until commit."""
    return next_customer_numbers(1)[0]


def next_customer_numbers(count: int) -> list[str]:
    """`count` consecutive customer numbers with one counter update."""
    if count == 0:
        return []
    row = sql.fetch_one(_NEXT_CUSTOMER_NUMBER, [count, CUSTOMER_NUMBER_PREFIX])
    if row is None:
        CustomerNumberSequence.objects.create(prefix=CUSTOMER_NUMBER_PREFIX, last_number=count)
        row = (count,)
    return [f"{CUSTOMER_NUMBER_PREFIX}{n:08d}" for n in range(row[0] - count + 1, row[0] + 1)]


_NEXT_CUSTOMER_NUMBER = (
    f"UPDATE {CustomerNumberSequence._meta.db_table} SET last_number = last_number + %s "
    "WHERE prefix = %s RETURNING last_number"
)


@recording_transaction()
def update_customer(customer: Customer, changes: dict[str, Any], *, actor: Actor) -> Customer:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(
            _("these fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before, after = {}, {}
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(customer, name) != value:
            before[name], after[name] = getattr(customer, name), value
            setattr(customer, name, value)
    if "preferred_channel" in after and after["preferred_channel"] not in ("", *Channel.values):
        raise InvalidInput(_("unknown channel"), field="preferred_channel")
    if "language" in after and after["language"] not in ("de", "en"):
        raise InvalidInput(_("unsupported language"), field="language")
    if not after:
        return customer
    customer.save(update_fields=[*after, "updated_at"])
    record(
        "customer.updated",
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        payload={"before": before, "after": after},
    )
    return customer


@recording_transaction()
def add_identifier(customer: Customer, raw: RawIdentifier, *, actor: Actor) -> CustomerIdentifier:
    identifier = raw.normalised()
    existing = CustomerIdentifier.objects.filter(
        kind=identifier.kind, value=identifier.value
    ).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise IdentifierTaken(
            _("%(kind)s %(identifier)s belongs to another customer already")
            % {"kind": identifier.kind.label, "identifier": identifier.value},
            field="value",
        )
    row = CustomerIdentifier.objects.create(
        customer=customer, kind=identifier.kind, value=identifier.value, raw_value=raw.value.strip()
    )
    record(
        "customer.identifier_added",
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        payload={"kind": identifier.kind.value, "value": identifier.value},
    )
    return row


def add_identifiers_if_free(
    customer: Customer, identifiers: Sequence[tuple[str, str]], *, actor: Actor
) -> list[tuple[str, str]]:
    """Give the customer those of the (kind, value) identifiers nobody has yet — an agent
    has just said who an unknown sender is. Returns the ones added. In the caller's
    transaction."""
    added: list[tuple[str, str]] = []
    for kind, value in dict.fromkeys(identifiers):
        identifier = RawIdentifier(kind, value).normalised()
        if CustomerIdentifier.objects.filter(kind=identifier.kind, value=identifier.value).exists():
            continue
        add_identifier(customer, RawIdentifier(kind, value), actor=actor)
        added.append((identifier.kind.value, identifier.value))
    return added


@dataclass
class NewContract:
    product_code: str
    start_date: date
    contract_number: str = ""
    end_date: date | None = None
    status: str = ContractStatus.ACTIVE
    monthly_fee: Decimal | None = None
    option_codes: Sequence[str] = field(default_factory=tuple)


@recording_transaction()
def add_contract(customer: Customer, data: NewContract, *, actor: Actor) -> Contract:
    product = Product.objects.filter(code=data.product_code).first()
    if product is None:
        raise InvalidInput(
            _("unknown product “%(product_code)s”") % {"product_code": data.product_code},
            field="product",
        )
    options = list(Product.objects.filter(code__in=data.option_codes))
    missing = set(data.option_codes) - {option.code for option in options}
    if missing:
        raise InvalidInput(
            _("unknown options: %(options)s") % {"options": ", ".join(sorted(missing))},
            field="options",
        )
    if data.status not in ContractStatus.values:
        raise InvalidInput(
            _("unknown contract status “%(status)s”") % {"status": data.status}, field="status"
        )
    if data.end_date and data.end_date < data.start_date:
        raise InvalidInput(_("the contract ends before it starts"), field="end_date")
    number = data.contract_number.strip() or f"V{customer.pk:08d}-{customer.contracts.count() + 1}"
    if Contract.objects.filter(contract_number=number).exists():
        raise Conflict(
            _("contract number %(number)s exists already") % {"number": number},
            field="contract_number",
        )
    contract = Contract.objects.create(
        customer=customer,
        contract_number=number,
        product=product,
        status=data.status,
        start_date=data.start_date,
        end_date=data.end_date,
        monthly_fee=data.monthly_fee if data.monthly_fee is not None else product.monthly_fee,
    )
    contract.options.set(options)
    record(
        "contract.created",
        actor=actor,
        object_type="contract",
        object_id=contract.pk,
        payload={
            "customer_id": customer.pk,
            "contract_number": number,
            "product": product.code,
            "options": sorted(option.code for option in options),
            "status": data.status,
        },
    )
    return contract


# -- contracts booked and changed by agents ---------------------------------------------------
#
# An order (status "ordered") has not started yet: the agent may still switch its tariff and
# its options or cancel it. An active contract's tariff changes through an offer
# (`offers.services.apply_offer_to_contract`); ending one is a termination, not handled here.

# What a contract carries besides its tariff: options and devices (a phone bought with it).
ADD_ON_KINDS = (Product.Kind.OPTION, Product.Kind.DEVICE)
# The contract document is only sent for a contract that runs or is about to.
SENDABLE_STATUSES = (ContractStatus.ORDERED, ContractStatus.ACTIVE)


class InvalidProduct(InvalidInput):
    """A product code that is unknown, of the wrong kind, or no longer on sale."""

    code = "invalid_product"


class ContractNotChangeable(Conflict):
    """The contract's status does not allow what was asked (a cancelled order changed)."""

    code = "contract_not_changeable"


@dataclass(frozen=True)
class ContractOrder:
    """What an agent books for a customer: a tariff with options, from a start date."""

    product_code: str
    start_date: date
    option_codes: Sequence[str] = ()


@dataclass(frozen=True)
class ChangeContract:
    """The tariff and the options the contract has afterwards (options not named are
    removed)."""

    product_code: str
    option_codes: Sequence[str] = ()


@dataclass(frozen=True)
class ContractChange:
    contract: Contract
    # field → (before, after) of what changed: product and options as codes; empty when
    # the contract had this tariff and these options already.
    changes: dict[str, tuple[Any, Any]]


@recording_transaction()
def book_contract(
    customer: Customer, order: ContractOrder, *, actor: Actor, case: Case | None = None
) -> Contract:
    """An order for a tariff on sale (status "ordered"); `case`, when the agent works
    one of the customer's cases, gets a note."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.merged_into_id is not None:
        raise Conflict(
            _("customer %(number)s was merged into another record; book the contract there")
            % {"number": customer.customer_number},
            field="customer",
        )
    _check_case(case, customer.pk)
    if order.start_date < clock.localtime(clock.now()).date():
        raise InvalidInput(_("an order cannot start in the past"), field="start_date")
    tariff = _tariff(order.product_code, current=None)
    add_ons = _add_ons(order.option_codes, current=())
    contract = add_contract(
        customer,
        NewContract(
            product_code=tariff.code,
            start_date=order.start_date,
            status=ContractStatus.ORDERED,
            option_codes=[add_on.code for add_on in add_ons],
        ),
        actor=actor,
    )
    if case is not None:
        add_note(case, _booking_note(contract, tariff, add_ons), actor=actor)
    return contract


@recording_transaction()
def change_contract(
    contract: Contract, data: ChangeContract, *, actor: Actor, case: Case | None = None
) -> ContractChange:
    """Switch an ordered contract's tariff and options. The monthly fee follows a new
    tariff; products the contract has already may stay even when no longer on sale."""
    contract = _lock_contract(contract)
    _check_case(case, contract.customer_id)
    if contract.status != ContractStatus.ORDERED:
        raise ContractNotChangeable(
            _("contract %(number)s is %(status)s; only an ordered contract can be changed")
            % {"number": contract.contract_number, "status": _status_label(contract.status)},
            field="status",
        )
    old_tariff = contract.product
    tariff = _tariff(data.product_code, current=old_tariff)
    held = list(contract.options.order_by("code"))
    add_ons = _add_ons(data.option_codes, current=held)
    changes: dict[str, tuple[Any, Any]] = {}
    if tariff.pk != contract.product_id:
        changes["product"] = (contract.product.code, tariff.code)
        changes["monthly_fee"] = (contract.monthly_fee, tariff.monthly_fee)
        contract.product, contract.monthly_fee = tariff, tariff.monthly_fee
        contract.save(update_fields=["product", "monthly_fee", "updated_at"])
    before_codes = [option.code for option in held]
    after_codes = sorted(add_on.code for add_on in add_ons)
    if before_codes != after_codes:
        changes["options"] = (before_codes, after_codes)
        contract.options.set(add_ons)
    if not changes:
        return ContractChange(contract, changes)
    record(
        "contract.updated",
        actor=actor,
        object_type="contract",
        object_id=contract.pk,
        payload={
            "customer_id": contract.customer_id,
            "contract_number": contract.contract_number,
            "before": {name: before for name, (before, _after) in changes.items()},
            "after": {name: after for name, (_before, after) in changes.items()},
        },
    )
    if case is not None:
        note = _change_note(contract, changes, [old_tariff, tariff, *held, *add_ons])
        add_note(case, note, actor=actor)
    return ContractChange(contract, changes)


@recording_transaction()
def cancel_contract(
    contract: Contract, *, reason: str, actor: Actor, case: Case | None = None
) -> Contract:
    """Stop an order before it starts (status "cancelled")."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("say why the order is cancelled"), field="reason")
    contract = _lock_contract(contract)
    _check_case(case, contract.customer_id)
    if contract.status != ContractStatus.ORDERED:
        raise ContractNotChangeable(
            _("contract %(number)s is %(status)s; only an ordered contract can be cancelled")
            % {"number": contract.contract_number, "status": _status_label(contract.status)},
            field="status",
        )
    contract.status = ContractStatus.CANCELLED
    contract.save(update_fields=["status", "updated_at"])
    record(
        "contract.cancelled",
        actor=actor,
        object_type="contract",
        object_id=contract.pk,
        payload={
            "customer_id": contract.customer_id,
            "contract_number": contract.contract_number,
            "reason": reason,
            "before": {"status": ContractStatus.ORDERED.value},
            "after": {"status": ContractStatus.CANCELLED.value},
        },
    )
    if case is not None:
        add_note(
            case,
            _("Order %(number)s cancelled: %(reason)s")
            % {"number": contract.contract_number, "reason": reason},
            actor=actor,
        )
    return contract


@recording_transaction()
def send_contract_by_post(
    contract: Contract, *, actor: Actor, case: Case | None = None
) -> Interaction:
    """Record that the contract document goes to the customer by letter: an outgoing
    letter on the customer (and on `case`), worded in the customer's language."""
    contract = _lock_contract(contract)
    _check_case(case, contract.customer_id)
    if contract.status not in SENDABLE_STATUSES:
        raise ContractNotChangeable(
            _("contract %(number)s is %(status)s; only an ordered or active contract is sent")
            % {"number": contract.contract_number, "status": _status_label(contract.status)},
            field="status",
        )
    customer = contract.customer
    if not (customer.street.strip() and customer.postal_code.strip() and customer.city.strip()):
        raise InvalidInput(
            _("the customer has no postal address to send the contract to"), field="address"
        )
    now = clock.now()
    options = list(contract.options.order_by("code"))
    with translation.override(customer.language):
        subject, text = _contract_letter(contract, options)
    interaction = record_interaction(
        NewInteraction(
            channel=Channel.LETTER,
            direction=Direction.OUTBOUND,
            occurred_at=now,
            customer_id=customer.pk,
            case_id=case.pk if case is not None else None,
            agent_id=actor.id if actor.kind == ActorKind.AGENT else None,
            subject=subject,
            text=text,
            payload={"document": "contract", "contract_number": contract.contract_number},
        ),
        actor=actor,
    )
    if case is not None:
        touch_case(case, now)
    record(
        "contract.sent_by_post",
        actor=actor,
        object_type="contract",
        object_id=contract.pk,
        payload={
            "customer_id": customer.pk,
            "contract_number": contract.contract_number,
            "interaction_id": interaction.pk,
            "case_id": case.pk if case is not None else None,
            "product": contract.product.code,
            "options": [option.code for option in options],
            "monthly_fee": contract.monthly_fee,
        },
    )
    return interaction


def _lock_contract(contract: Contract) -> Contract:
    # of=("self",): the contract row only; the product and customer rows stay unlocked.
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related("product", "customer")
        .get(pk=contract.pk)
    )


def _check_case(case: Case | None, customer_id: int) -> None:
    if case is not None and case.customer_id != customer_id:
        raise InvalidInput(_("the case belongs to another customer"), field="case_id")


def _tariff(code: str, *, current: Product | None) -> Product:
    """The tariff with this code; one not on sale only when the contract has it already."""
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise InvalidProduct(
            _("unknown product “%(product_code)s”") % {"product_code": code}, field="product"
        )
    if product.kind != Product.Kind.TARIFF:
        raise InvalidProduct(
            _("“%(code)s” is not a tariff") % {"code": product.code}, field="product"
        )
    if not product.is_active and product != current:
        raise InvalidProduct(
            _("“%(code)s” is no longer on sale") % {"code": product.code}, field="product"
        )
    return product


def _add_ons(codes: Sequence[str], *, current: Sequence[Product]) -> list[Product]:
    """The options and devices with these codes, sorted by code; one not on sale only when
    the contract has it already."""
    wanted = set(codes)
    products = list(Product.objects.filter(code__in=wanted).order_by("code"))
    missing = wanted - {product.code for product in products}
    if missing:
        raise InvalidProduct(
            _("unknown options: %(options)s") % {"options": ", ".join(sorted(missing))},
            field="options",
        )
    held = {product.pk for product in current}
    for product in products:
        if product.kind not in ADD_ON_KINDS:
            raise InvalidProduct(
                _("“%(code)s” is not an option or a device") % {"code": product.code},
                field="options",
            )
        if not product.is_active and product.pk not in held:
            raise InvalidProduct(
                _("“%(code)s” is no longer on sale") % {"code": product.code}, field="options"
            )
    return products


def _status_label(status: str) -> str:
    return str(ContractStatus(status).label)


def _money(amount: Decimal) -> str:
    return f"{floatformat(amount, '2g')}\N{NO-BREAK SPACE}€"


def _names(products: Sequence[Product]) -> str:
    return ", ".join(product.name for product in products) or _("none")


def _booking_note(contract: Contract, tariff: Product, add_ons: Sequence[Product]) -> str:
    return _(
        "Contract %(number)s booked (ordered): %(tariff)s, options: %(options)s, "
        "from %(start)s, %(fee)s a month."
    ) % {
        "number": contract.contract_number,
        "tariff": tariff.name,
        "options": _names(add_ons),
        "start": date_format(contract.start_date, "SHORT_DATE_FORMAT"),
        "fee": _money(contract.monthly_fee),
    }


def _change_note(
    contract: Contract, changes: dict[str, tuple[Any, Any]], products: Sequence[Product]
) -> str:
    by_code = {product.code: product for product in products}

    def named(codes: Sequence[str]) -> str:
        return _names([by_code[code] for code in codes])

    parts = []
    if "product" in changes:
        before, after = changes["product"]
        parts.append(
            _("tariff %(before)s → %(after)s")
            % {"before": by_code[before].name, "after": by_code[after].name}
        )
    if "monthly_fee" in changes:
        before, after = changes["monthly_fee"]
        parts.append(
            _("monthly fee %(before)s → %(after)s")
            % {"before": _money(before), "after": _money(after)}
        )
    if "options" in changes:
        before, after = changes["options"]
        parts.append(
            _("options %(before)s → %(after)s") % {"before": named(before), "after": named(after)}
        )
    return _("Contract %(number)s changed: %(changes)s.") % {
        "number": contract.contract_number,
        "changes": "; ".join(parts),
    }


def _contract_letter(contract: Contract, options: Sequence[Product]) -> tuple[str, str]:
    """Subject and text of the letter, in the active language."""
    subject = _("Your contract %(number)s") % {"number": contract.contract_number}
    lines = [
        _("The contract %(number)s is sent to the customer by post.")
        % {"number": contract.contract_number},
        _("Tariff: %(tariff)s") % {"tariff": contract.product.name},
        _("Options: %(options)s") % {"options": _names(options)},
        _("Monthly fee: %(fee)s") % {"fee": _money(contract.monthly_fee)},
        _("Start: %(date)s") % {"date": date_format(contract.start_date, "SHORT_DATE_FORMAT")},
    ]
    return subject, "\n".join(lines)


@dataclass
class NewPaymentMethod:
    kind: str
    is_default: bool = True
    account_holder: str = ""
    iban: str = ""
    bic: str = ""
    mandate_reference: str = ""
    card_brand: str = ""
    card_last4: str = ""
    card_expiry: str = ""
    paypal_email: str = ""


def validate_payment_method(data: NewPaymentMethod) -> NewPaymentMethod:
    if data.kind not in PaymentMethodKind.values:
        raise InvalidInput(
            _("unknown payment method “%(kind)s”") % {"kind": data.kind}, field="kind"
        )
    if data.kind in (PaymentMethodKind.DIRECT_DEBIT, PaymentMethodKind.STANDING_ORDER) or data.iban:
        if not data.iban and data.kind == PaymentMethodKind.DIRECT_DEBIT:
            raise InvalidInput(_("direct debit needs an IBAN"), field="iban")
        if data.iban:
            data.iban = normalise_iban(data.iban)
    if data.kind == PaymentMethodKind.CARD and not (
        len(data.card_last4) == 4 and data.card_last4.isdigit()
    ):
        raise InvalidInput(_("a card needs its last four digits"), field="card_last4")
    if data.kind == PaymentMethodKind.PAYPAL:
        data.paypal_email = normalise(IdentifierKind.EMAIL, data.paypal_email).value
    return data


@recording_transaction()
def add_payment_method(
    customer: Customer, data: NewPaymentMethod, *, actor: Actor
) -> PaymentMethod:
    data = validate_payment_method(data)
    if data.is_default:
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)
    method = PaymentMethod.objects.create(customer=customer, **data.__dict__)
    record(
        "payment_method.added",
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        payload={"payment_method_id": method.pk, "kind": data.kind, "is_default": data.is_default},
    )
    return method


def record_consent(
    customer: Customer,
    purpose: str,
    *,
    is_granted: bool,
    source: str,
    actor: Actor,
    recorded_at: datetime | None = None,
) -> Consent:
    with recording_transaction():
        consent = Consent.objects.create(
            customer=customer,
            purpose=purpose,
            is_granted=is_granted,
            source=source,
            recorded_at=recorded_at or clock.now(),
        )
        record(
            "customer.updated",
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            payload={"consent": {"purpose": purpose, "is_granted": is_granted, "source": source}},
        )
    return consent


def record_interest(
    customer: Customer, tag: str, *, source: str, actor: Actor, recorded_at: datetime | None = None
) -> Interest:
    with recording_transaction():
        interest = Interest.objects.create(
            customer=customer, tag=tag, source=source, recorded_at=recorded_at or clock.now()
        )
        record(
            "customer.updated",
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            payload={"interest": {"tag": tag, "source": source}},
        )
    return interest

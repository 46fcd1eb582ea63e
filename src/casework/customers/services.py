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
from django.utils.translation import gettext as _

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
)
from casework.events.services import record, recording_transaction
from casework.kernel import clock, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput

CUSTOMER_NUMBER_PREFIX = "K"

# Fields an agent or the API may change directly on a customer.
EDITABLE_FIELDS = (
    "kind", "salutation", "first_name", "last_name", "organisation_name", "birth_date",
    "street", "postal_code", "city", "country", "language", "preferred_channel",
)  # fmt: skip


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
    if data.kind not in CustomerKind.values:
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
    if data.preferred_channel and data.preferred_channel not in Channel.values:
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
    identifiers = validate_new_customer(data)
    _ensure_identifiers_free([identifier for _, identifier in identifiers])
    number = data.customer_number.strip() or next_customer_number()
    if Customer.objects.filter(customer_number=number).exists():
        raise Conflict(
            _("customer number %(number)s exists already") % {"number": number},
            field="customer_number",
        )
    customer = Customer.objects.create(
        kind=data.kind,
        customer_number=number,
        salutation=data.salutation.strip(),
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        organisation_name=data.organisation_name.strip(),
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
    rows = [
        CustomerIdentifier(
            customer=customer,
            kind=identifier.kind,
            value=identifier.value,
            raw_value=raw.value.strip(),
        )
        for raw, identifier in identifiers
    ]
    rows.append(
        CustomerIdentifier(
            customer=customer, kind=IdentifierKind.CUSTOMER_NUMBER, value=number, raw_value=number
        )
    )
    try:
        with transaction.atomic():
            CustomerIdentifier.objects.bulk_create(rows)
    except IntegrityError as error:
        # Lost a race with another writer between the check above and this insert.
        raise IdentifierTaken(_("an identifier belongs to another customer already")) from error
    record(
        "customer.created",
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        payload={
            "customer_number": number,
            "identifiers": [f"{row.kind}:{row.value}" for row in rows],
            "is_provisional": data.is_provisional,
            "segment": data.segment,
        },
    )
    return customer


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
    row = sql.fetch_one(_NEXT_CUSTOMER_NUMBER, [CUSTOMER_NUMBER_PREFIX])
    if row is None:
        CustomerNumberSequence.objects.create(prefix=CUSTOMER_NUMBER_PREFIX, last_number=1)
        row = (1,)
    return f"{CUSTOMER_NUMBER_PREFIX}{row[0]:08d}"


_NEXT_CUSTOMER_NUMBER = (
    f"UPDATE {CustomerNumberSequence._meta.db_table} SET last_number = last_number + 1 "
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

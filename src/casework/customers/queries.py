"""Reads of customers: lookup, search and the 360° view.

Every read of a customer's 360 view by an agent is itself recorded (data protection:
who looked at whose data, when)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.queries import list_open_cases_of_customer, visible_cases
from casework.customers.identifiers import Identifier, InvalidIdentifier, normalise
from casework.customers.matching import IdentifyResult, identify
from casework.customers.models import (
    Consent,
    Contract,
    Customer,
    CustomerIdentifier,
    CustomerMerge,
    Interest,
    PaymentMethod,
    Product,
)
from casework.events.services import record, recording_transaction
from casework.interactions.queries import TimelinePage, timeline_for_customer
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import NotFound


def access_customer(actor: Actor, customer_id: int) -> Customer:
    """Every agent may look customers up (a caller must be recognised by whoever answers);
    what they may do with the customer's cases is checked per case."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or (actor.kind != ActorKind.AGENT and not actor.is_admin):
        raise NotFound(
            _("customer %(customer_id)s not found") % {"customer_id": customer_id},
            customer_id=customer_id,
        )
    return customer


def lookup_customer(kind: str, value: str) -> IdentifyResult:
    """Find the customer behind one identifier as a user typed it."""
    return identify([normalise(kind, value)])


def search_customers(text: str, *, limit: int = 20) -> list[Customer]:
    """By customer number, e-mail, phone number or name (prefix of the last name, or
    "last first")."""
    text = " ".join(text.split())
    if not text:
        return []
    exact = _identifier_candidates(text)
    found: dict[int, Customer] = {}
    if exact:
        by_identifier = identify(exact)
        for customer in (by_identifier.customer, *by_identifier.candidates):
            if customer is not None:
                found[customer.pk] = customer
    by_name = Customer.objects.filter(
        search_name__startswith=text.casefold(), merged_into__isnull=True
    ).order_by("search_name", "pk")[:limit]
    for customer in by_name:
        found.setdefault(customer.pk, customer)
    return list(found.values())[:limit]


def _identifier_candidates(text: str) -> list[Identifier]:
    candidates = []
    for kind in ("customer_number", "email", "phone", "portal_account"):
        try:
            candidates.append(normalise(kind, text))
        except InvalidIdentifier:
            continue
    if "@" not in text:
        candidates = [c for c in candidates if c.kind.value != "email"]
    return candidates


@dataclass(frozen=True)
class Customer360:
    customer: Customer
    identifiers: list[CustomerIdentifier]
    contracts: list[Contract]
    payment_methods: list[PaymentMethod]
    consents: list[Consent]
    interests: list[Interest]
    open_cases: list[Case]
    hidden_open_cases: int
    # The customer's cases this actor may open: the timeline shows every contact (full
    # history), but links only into cases of the actor's own departments.
    visible_case_ids: frozenset[int]
    timeline: TimelinePage
    merged_into: Customer | None


def customer_360(actor: Actor, customer_id: int, *, page: int = 1) -> Customer360:
    customer = access_customer(actor, customer_id)
    open_cases, hidden = list_open_cases_of_customer(actor, customer.pk)
    view = Customer360(
        customer=customer,
        identifiers=list(customer.identifiers.order_by("kind", "value")),
        contracts=list(
            Contract.objects.filter(customer=customer)
            .select_related("product")
            .prefetch_related("options")
            .order_by("-start_date")
        ),
        payment_methods=list(customer.payment_methods.all()),
        consents=_latest_consents(customer),
        interests=list(customer.interests.all()[:20]),
        open_cases=open_cases,
        hidden_open_cases=hidden,
        visible_case_ids=frozenset(
            visible_cases(actor).filter(customer_id=customer.pk).values_list("pk", flat=True)
        ),
        timeline=timeline_for_customer(
            customer.pk, page=page, page_size=settings.CASEWORK_TIMELINE_PAGE_SIZE
        ),
        merged_into=customer.merged_into,
    )
    with recording_transaction():
        record(
            "customer.viewed",
            actor=actor,
            object_type="customer",
            object_id=customer.pk,
            payload={"page": page},
        )
    return view


def _latest_consents(customer: Customer) -> list[Consent]:
    latest: dict[str, Consent] = {}
    for consent in customer.consents.order_by("-recorded_at"):
        latest.setdefault(consent.purpose, consent)
    return list(latest.values())


def _may_read_customers(actor: Actor) -> bool:
    return actor.kind == ActorKind.AGENT or actor.is_admin


def list_customers_by_ids(actor: Actor, customer_ids: Sequence[int]) -> list[Customer]:
    """The customers with these ids, in the order given; ids that do not exist are left out
    (same permission as `access_customer`)."""
    if not _may_read_customers(actor):
        return []
    found = Customer.objects.in_bulk(list(customer_ids))
    return [found[pk] for pk in dict.fromkeys(customer_ids) if pk in found]


def list_undoable_merges(customer: Customer) -> list[CustomerMerge]:
    """Merges into this customer that have not been undone, newest first."""
    return list(
        CustomerMerge.objects.filter(survivor=customer, undone_at__isnull=True)
        .select_related("merged")
        .order_by("-merged_at", "-id")
    )


def access_merge(actor: Actor, merge_id: int) -> CustomerMerge:
    merge = CustomerMerge.objects.select_related("survivor", "merged").filter(pk=merge_id).first()
    if merge is None or not _may_read_customers(actor):
        raise NotFound(
            _("merge %(merge_id)s not found") % {"merge_id": merge_id}, merge_id=merge_id
        )
    return merge


def products_on_sale(kind: Q, held: Q) -> QuerySet[Product]:
    """Products of `kind` still sold, and those `held` (a contract keeps what it has)."""
    return Product.objects.filter(kind, Q(is_active=True) | held).order_by("kind", "code")


def access_contract(actor: Actor, contract_id: int) -> Contract:
    """A contract of a customer the actor may look up; `NotFound` alike for missing and
    forbidden."""
    contract = Contract.objects.select_related("customer", "product").filter(pk=contract_id).first()
    if contract is not None:
        try:
            access_customer(actor, contract.customer_id)
        except NotFound:
            pass
        else:
            return contract
    raise NotFound(
        _("contract %(contract_id)s not found") % {"contract_id": contract_id},
        contract_id=contract_id,
    )

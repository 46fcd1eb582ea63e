"""Customers, their 360 view, identifiers, contracts, payment methods, merges."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from casework.api.auth import actor_of
from casework.api.schemas import (
    ContractIn,
    ContractOut,
    Customer360Out,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerSummaryOut,
    DuplicateSuspectOut,
    ErrorOut,
    IdentifierIn,
    IdentifierKindName,
    IdentifierOut,
    MergeIn,
    MergeOut,
    PaymentMethodIn,
    PaymentMethodOut,
    TimelineOut,
)
from casework.customers import merging, services
from casework.customers.identifiers import IdentifierKind
from casework.customers.matching import MatchOutcome
from casework.customers.queries import (
    access_customer,
    customer_360,
    lookup_customer,
    search_customers,
)
from casework.interactions.queries import timeline_for_customer
from casework.kernel.errors import Conflict, NotFound

router = Router(tags=["customers"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post("/customers", response={201: CustomerOut, **ERRORS})
def create_customer(request: HttpRequest, body: CustomerIn):  # noqa: ANN201
    data = body.dict()
    identifiers = [services.RawIdentifier(i["kind"], i["value"]) for i in data.pop("identifiers")]
    customer = services.create_customer(
        services.NewCustomer(**data, identifiers=identifiers), actor=actor_of(request)
    )
    return Status(201, customer)


@router.get("/customers", response={200: list[CustomerSummaryOut], **ERRORS})
def search(request: HttpRequest, q: str, limit: int = Query(20, ge=1, le=100)):  # noqa: ANN201
    """By name (last name prefix, or "last first"), customer number, e-mail or phone."""
    actor_of(request)
    return search_customers(q, limit=limit)


@router.get("/customers/lookup", response={200: CustomerOut, **ERRORS})
def lookup(request: HttpRequest, kind: IdentifierKindName, value: str):  # noqa: ANN201
    """Exactly one customer for one identifier, 404 if none."""
    actor_of(request)
    result = lookup_customer(kind, value)
    if result.outcome == MatchOutcome.AMBIGUOUS:
        raise Conflict(_("the identifier matches several customers"))
    if result.customer is None:
        raise NotFound(
            _("no customer with %(kind)s %(value)s")
            % {"kind": IdentifierKind(kind).label, "value": value}
        )
    return result.customer


@router.get("/customers/duplicates", response={200: list[DuplicateSuspectOut], **ERRORS})
def duplicate_suspects(request: HttpRequest, limit: int = Query(100, ge=1, le=500)):  # noqa: ANN201
    actor_of(request)
    suspects = merging.list_duplicate_suspects(limit)
    return [{"first": s.first, "second": s.second, "reason": s.reason} for s in suspects]


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def get_customer(request: HttpRequest, customer_id: int):  # noqa: ANN201
    return access_customer(actor_of(request), customer_id)


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def update_customer(request: HttpRequest, customer_id: int, body: CustomerPatch):  # noqa: ANN201
    actor = actor_of(request)
    customer = access_customer(actor, customer_id)
    return services.update_customer(customer, body.dict(exclude_unset=True), actor=actor)


@router.get("/customers/{customer_id}/360", response={200: Customer360Out, **ERRORS})
def view_360(request: HttpRequest, customer_id: int, page: int = Query(1, ge=1)):  # noqa: ANN201
    """Profile, contracts, payment methods, open cases and the cross-channel timeline
    (newest first). Each call is recorded in the audit trail."""
    view = customer_360(actor_of(request), customer_id, page=page)
    return {
        "customer": view.customer,
        "contracts": view.contracts,
        "payment_methods": view.payment_methods,
        "consents": view.consents,
        "interests": view.interests,
        "open_cases": view.open_cases,
        "hidden_open_cases": view.hidden_open_cases,
        "timeline": view.timeline,
    }


@router.get("/customers/{customer_id}/interactions", response={200: TimelineOut, **ERRORS})
def interactions(
    request: HttpRequest,
    customer_id: int,
    page: int = Query(1, ge=1),
    page_size: int = Query(25, ge=1, le=200),
):  # noqa: ANN201
    customer = access_customer(actor_of(request), customer_id)
    return timeline_for_customer(customer.pk, page=page, page_size=page_size)


@router.post("/customers/{customer_id}/identifiers", response={201: IdentifierOut, **ERRORS})
def add_identifier(request: HttpRequest, customer_id: int, body: IdentifierIn):  # noqa: ANN201
    actor = actor_of(request)
    customer = access_customer(actor, customer_id)
    raw = services.RawIdentifier(body.kind, body.value)
    return Status(201, services.add_identifier(customer, raw, actor=actor))


@router.post("/customers/{customer_id}/contracts", response={201: ContractOut, **ERRORS})
def add_contract(request: HttpRequest, customer_id: int, body: ContractIn):  # noqa: ANN201
    actor = actor_of(request)
    customer = access_customer(actor, customer_id)
    new = services.NewContract(
        product_code=body.product,
        start_date=body.start_date,
        contract_number=body.contract_number,
        end_date=body.end_date,
        status=body.status,
        monthly_fee=body.monthly_fee,
        option_codes=body.options,
    )
    return Status(201, services.add_contract(customer, new, actor=actor))


@router.post("/customers/{customer_id}/payment-methods", response={201: PaymentMethodOut, **ERRORS})
def add_payment_method(request: HttpRequest, customer_id: int, body: PaymentMethodIn):  # noqa: ANN201
    actor = actor_of(request)
    customer = access_customer(actor, customer_id)
    method = services.NewPaymentMethod(**body.dict())
    return Status(201, services.add_payment_method(customer, method, actor=actor))


@router.post("/customers/{customer_id}/merge", response={201: MergeOut, **ERRORS})
def merge(request: HttpRequest, customer_id: int, body: MergeIn):  # noqa: ANN201
    """Merge the customer `duplicate_id` into this one (the survivor)."""
    actor = actor_of(request)
    survivor = access_customer(actor, customer_id)
    duplicate = access_customer(actor, body.duplicate_id)
    return Status(201, merging.merge_customers(survivor, duplicate, actor=actor))


@router.post("/merges/{merge_id}/undo", response={200: MergeOut, **ERRORS})
def undo_merge(request: HttpRequest, merge_id: int):  # noqa: ANN201
    actor = actor_of(request)
    return merging.undo_merge(merging.get_merge(merge_id), actor=actor)

"""Retention orders from sales partners, one by one or as a CSV batch, and scanned
response cards from the mail room.

Partners authenticate with their own users' tokens (scope `orders`). Every order carries
the partner's order number; `Idempotency-Key` (optional) makes a retried request safe
even when the number is reused by mistake. A repeated order answers what the first one
became (200 instead of 201), never a second order or commission. `Casework-Sandbox: true`
(or a sandbox partner) checks an order and answers as if it had been placed, but places
nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Header, Router, Schema, Status
from ninja.files import UploadedFile

from casework.api.auth import actor_of
from casework.api.inbound import prefers_async
from casework.api.partners import PARTNER_AUTH, own_partner
from casework.api.schemas import ErrorOut
from casework.customers.models import Customer
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from casework.partners.models import Partner, PartnerScope
from casework.retention import queue, scans
from casework.retention.models import PendingResponse, PendingStatus, Response, ResponseChannel
from casework.retention.responses import IncomingResponse, receive, receive_batch

router = Router(tags=["retention"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_BATCH_LINES = 10_000
# The answer to an order the worker refused, by its error's code (as if sent at once).
REFUSAL_STATUS = {"conflict": 409, "not_found": 404, "permission_denied": 403}


class OrderIn(Schema):
    order: str = Field(..., min_length=1, max_length=100, description="Your order number.")
    customer_number: str | None = Field(
        None, max_length=40, description="The customer; or give the response code."
    )
    offer: str | None = Field(
        None, max_length=50, description="The offer's code; a response code brings its own."
    )
    response_code: str | None = Field(
        None, max_length=40, description="The code from the customer's letter, if they had one."
    )
    choice: Literal["accept", "decline"] = "accept"


class OrderOut(Schema):
    order: str
    outcome: Literal["ordered", "declined", "exception"] = Field(
        ...,
        description="ordered: processed automatically; exception: a person decides "
        "(see reason); declined: the customer said no.",
    )
    reason: str = Field(..., description="Why a person decides, as a stable code; empty if none.")
    reason_text: str
    case_reference: str | None
    sandbox: bool
    received_at: datetime


class OrderPendingOut(Schema):
    """An order accepted with `Prefer: respond-async`: it is placed moments later."""

    order: str
    status: Literal["pending"] = "pending"
    status_url: str = Field(..., description="Where the order's outcome can be read.")
    sandbox: bool
    received_at: datetime


class BatchLineOut(Schema):
    line: int
    order: str
    result: OrderOut | None
    error: str | None


class BatchOut(Schema):
    lines: list[BatchLineOut]
    ordered: int
    exceptions: int
    errors: int


def _order_out(response: Response) -> OrderOut:
    return OrderOut(
        order=response.partner_reference,
        outcome=response.outcome,
        reason=response.reason,
        reason_text=response.reason_text,
        case_reference=response.case.reference if response.case_id else None,
        sandbox=response.is_sandbox,
        received_at=response.received_at,
    )


def _order_url(order: str) -> str:
    return f"/api/v1/partner/orders/{quote(order, safe='')}"


def _pending_out(entry: PendingResponse) -> OrderPendingOut:
    return OrderPendingOut(
        order=entry.partner_reference,
        status_url=_order_url(entry.partner_reference),
        sandbox=entry.is_sandbox,
        received_at=entry.received_at,
    )


def _incoming(
    partner: Partner, payload: OrderIn, *, idempotency_key: str, sandbox: bool
) -> IncomingResponse:
    customer = None
    if payload.customer_number:
        customer = Customer.objects.filter(
            customer_number=payload.customer_number.strip(), merged_into__isnull=True
        ).first()
        if customer is None:
            raise InvalidInput(
                _("no customer has the number “%(number)s”") % {"number": payload.customer_number},
                field="customer_number",
            )
    if customer is None and not payload.response_code:
        raise InvalidInput(
            _("an order names the customer_number or a response_code"), field="customer_number"
        )
    if not payload.offer and not payload.response_code:
        raise InvalidInput(_("an order names the offer or a response_code"), field="offer")
    return IncomingResponse(
        channel=ResponseChannel.PARTNER,
        code=payload.response_code or "",
        choice=payload.choice,
        customer=customer,
        offer_code=payload.offer or "",
        partner=partner,
        partner_reference=payload.order.strip(),
        idempotency_key=idempotency_key,
        is_sandbox=sandbox or partner.is_sandbox,
        details={"submitted": payload.model_dump()},
    )


def _partner_actor(request: HttpRequest, partner: Partner) -> Actor:
    return Actor.system(f"partner:{partner.code}:{request.user.pk}")


@router.post(
    "/partner/orders",
    response={200: OrderOut, 201: OrderOut, 202: OrderPendingOut, **ERRORS},
    auth=PARTNER_AUTH,
)
def submit_order(  # noqa: ANN201
    request: HttpRequest,
    payload: OrderIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=200),
    sandbox: bool = Header(False, alias="Casework-Sandbox"),
    prefer: str = Header("", alias="Prefer", example="respond-async"),
):
    """Place a retention order. 201 when it is new; 200 with the first answer when the same
    order (number or idempotency key) came before; 409 when an earlier order under the same
    number had other content.

    With `Prefer: respond-async` the order is checked as far as it can be without placing
    it (422 for what could never be placed), stored and answered with 202 and the URL of
    its outcome (`Location`, `status_url`); the worker places it with others moments later.
    A repeat of an order placed before still answers 200 (or 409) at once, one still
    waiting 202 again. Sandbox orders are always answered at once."""
    partner = own_partner(request, PartnerScope.ORDERS)
    incoming = _incoming(partner, payload, idempotency_key=idempotency_key, sandbox=sandbox)
    actor = _partner_actor(request, partner)
    if prefers_async(prefer) and not incoming.is_sandbox:
        accepted = queue.accept(incoming, actor=actor)
        if accepted.earlier is not None:
            return Status(200, _order_out(accepted.earlier.response))
        assert accepted.entry is not None
        response["Preference-Applied"] = "respond-async"
        response["Location"] = _order_url(accepted.entry.partner_reference)
        return Status(202, _pending_out(accepted.entry))
    received = receive(incoming, actor=actor)
    return Status(200 if received.is_repeat else 201, _order_out(received.response))


@router.get(
    "/partner/orders/{order}",
    response={200: OrderOut, 202: OrderPendingOut, **ERRORS},
    auth=PARTNER_AUTH,
)
def get_order(request: HttpRequest, order: str):  # noqa: ANN201
    """What became of one of your orders: 200 once it is placed; 202 while an order sent
    with `Prefer: respond-async` waits to be placed; the error (409, 422) that refused it
    if it could not be placed. Another partner's order is refused (403)."""
    partner = own_partner(request, PartnerScope.ORDERS)
    response = (
        Response.objects.select_related("case")
        .filter(partner=partner, partner_reference=order, is_sandbox=False)
        .first()
    )
    if response is not None:
        return _order_out(response)
    entry = (
        PendingResponse.objects.filter(partner=partner, partner_reference=order, is_sandbox=False)
        .order_by("-pk")
        .first()
    )
    if entry is not None and entry.status == PendingStatus.REFUSED:
        return Status(REFUSAL_STATUS.get(entry.error.get("code"), 422), entry.error)
    if entry is not None:
        return Status(202, _pending_out(entry))
    if Response.objects.filter(partner_reference=order).exclude(partner=partner).exists():
        raise PermissionDenied(_("this order belongs to another partner"), field="order")
    raise NotFound(_("no order “%(order)s”") % {"order": order}, field="order")


@router.post(
    "/partner/order-batches",
    response={200: BatchOut, **ERRORS},
    auth=PARTNER_AUTH,
    openapi_extra={
        "requestBody": {
            "description": "CSV (UTF-8, comma or semicolon): order, customer_number, offer, "
            "response_code, choice — a header line first.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def submit_batch(  # noqa: ANN201
    request: HttpRequest, sandbox: bool = Header(False, alias="Casework-Sandbox")
):
    """Many orders at once. Each line is placed on its own, exactly like a single order
    (repeats answer their first result); lines with errors are reported, not placed. Lines
    are placed in file order, several per transaction: if the batch breaks off, sending it
    again places the rest and answers the lines placed before as repeats."""
    partner = own_partner(request, PartnerScope.ORDERS)
    rows = _csv_rows(request.body)
    actor = _partner_actor(request, partner)
    by_line: dict[int, BatchLineOut] = {}
    placed: list[tuple[int, str, IncomingResponse]] = []
    for number, row in rows:
        order = (row.get("order") or "").strip()
        try:
            payload = OrderIn(
                order=order,
                customer_number=row.get("customer_number") or None,
                offer=row.get("offer") or None,
                response_code=row.get("response_code") or None,
                choice=(row.get("choice") or "accept").strip(),
            )
            incoming = _incoming(partner, payload, idempotency_key="", sandbox=sandbox)
            placed.append((number, order, incoming))
        except DomainError as error:
            by_line[number] = _refused_line(number, order, error.message)
        except ValueError as error:  # the line does not fit the order's schema
            by_line[number] = _refused_line(number, order, _plain(error))
    # In file order, several lines per transaction (`receive_batch`).
    results = receive_batch([(incoming, actor) for _number, _order, incoming in placed])
    for (number, order, _placed), result in zip(placed, results, strict=True):
        if isinstance(result, DomainError):
            by_line[number] = _refused_line(number, order, result.message)
        else:
            by_line[number] = BatchLineOut(
                line=number, order=order, result=_order_out(result.response), error=None
            )
    lines = [by_line[number] for number, _row in rows]
    return BatchOut(
        lines=lines,
        ordered=sum(1 for line in lines if line.result and line.result.outcome == "ordered"),
        exceptions=sum(1 for line in lines if line.result and line.result.outcome == "exception"),
        errors=sum(1 for line in lines if line.error),
    )


def _refused_line(number: int, order: str, error: str) -> BatchLineOut:
    return BatchLineOut(line=number, order=order, result=None, error=error)


def _csv_rows(body: bytes) -> list[tuple[int, dict[str, str]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(_("the CSV is not UTF-8"), field="body") from error
    if not text.strip():
        raise InvalidInput(_("the CSV is empty"), field="body")
    # German spreadsheets write semicolons: the header line tells which one this is.
    header = text.partition("\n")[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames or "order" not in [name.strip() for name in reader.fieldnames]:
        raise InvalidInput(
            _("the CSV's first line must name the columns, among them “order”"), field="body"
        )
    rows = []
    for row in reader:
        if reader.line_num > MAX_BATCH_LINES + 1:
            raise InvalidInput(
                _("at most %(limit)d orders per batch") % {"limit": MAX_BATCH_LINES}, field="body"
            )
        rows.append(
            (reader.line_num, {(k or "").strip(): (v or "").strip() for k, v in row.items()})
        )
    return rows


def _plain(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item.get('msg', '')}"
            for item in errors()
        )
    return str(error)


class ScanPageOut(Schema):
    page: int
    outcome: Literal["ordered", "declined", "exception", "known"]
    reason: str
    reason_text: str
    case_reference: str | None


@router.post("/retention/scans", response={200: list[ScanPageOut], 503: ErrorOut, **ERRORS})
def upload_scan(request: HttpRequest, scan: File[UploadedFile]):  # noqa: ANN201
    """Scanned response cards (PDF or image, several pages): each page becomes a response.
    The same file again yields nothing new (outcome "known")."""
    actor = actor_of(request)
    results = scans.receive_scan_upload(scan, actor=actor)
    return [
        ScanPageOut(
            page=result.page,
            outcome=result.response.outcome if result.response else "known",
            reason=result.response.reason if result.response else "",
            reason_text=result.response.reason_text if result.response else result.note,
            case_reference=result.response.case.reference
            if result.response and result.response.case_id
            else None,
        )
        for result in results
    ]

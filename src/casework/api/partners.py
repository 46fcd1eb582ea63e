"""Sales partners' commission statements and commissions.

A partner's users (`PartnerAccount`) authenticate with their own bearer tokens and see
their partner's statements only (`/partner/...`). Administrators read any partner's
statement under `/partners/{code}/...`; a partner asking there for another partner's
statement is refused with 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.security import HttpBearer

from casework.api.auth import BearerToken, require_admin
from casework.api.schemas import ErrorOut
from casework.api.tokens import user_for_token
from casework.kernel.actors import Actor
from casework.kernel.errors import PermissionDenied
from casework.partners import services
from casework.partners.models import CommissionEntry, Partner, PartnerScope
from casework.partners.statements import (
    Statement,
    build_statement,
    parse_month,
    statement_csv,
    statement_pdf,
)

router = Router(tags=["partners"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@dataclass(frozen=True)
class PartnerCaller:
    """A request made for a partner by one of its users."""

    partner: Partner
    user_id: int
    scopes: frozenset[str]


class PartnerToken(HttpBearer):
    """A bearer token of a user linked to an active partner."""

    def authenticate(self, request: HttpRequest, token: str) -> PartnerCaller | None:
        user = user_for_token(token)
        if user is None:
            return None
        account = services.partner_account_for_user(user)
        if account is None:
            return None
        request.user = user
        return PartnerCaller(
            partner=account.partner, user_id=user.pk, scopes=frozenset(account.scopes)
        )


PARTNER_AUTH = [PartnerToken(), BearerToken()]
INTERNAL_AUTH = [BearerToken(), PartnerToken()]


def own_partner(request: HttpRequest, scope: str = PartnerScope.STATEMENTS) -> Partner:
    """The caller's partner, if the caller acts for one with `scope`."""
    caller = request.auth  # type: ignore[attr-defined]
    if not isinstance(caller, PartnerCaller):
        raise PermissionDenied(_("only a sales partner's users may do this"))
    if scope not in caller.scopes:
        raise PermissionDenied(
            _("this account may not use “%(scope)s” (its scopes: %(scopes)s)")
            % {"scope": scope, "scopes": ", ".join(sorted(caller.scopes)) or "-"},
            field="scope",
        )
    return caller.partner


def _partner_by_code(request: HttpRequest, code: str) -> Partner:
    """Administrators: any partner. A partner's users: their own, 403 for any other."""
    caller = request.auth  # type: ignore[attr-defined]
    if isinstance(caller, PartnerCaller):
        if caller.partner.code != code:
            raise PermissionDenied(_("partners see their own statements only"), field="code")
        return caller.partner
    if not isinstance(caller, Actor):
        raise PermissionDenied(_("not signed in"))
    require_admin(caller)
    return services.get_partner(code)


class PartnerOut(Schema):
    code: str
    name: str
    sandbox: bool = Field(..., description="A test partner: its statements are not for payment.")


class StatementEntryOut(Schema):
    seq: int = Field(..., description="The entry's number in the ledger (gapless).")
    kind: Literal["commission", "reversal"]
    order_reference: str
    rule: str = Field(..., description="What set the amount (decision, rule, tariff).")
    amount: Decimal = Field(..., description="EUR, two decimal places; reversals negative.")
    reverses: int | None = Field(None, description="The number of the reversed entry.")
    reason: str
    recorded_at: datetime
    recorded_by: str
    approved_by: str
    prev_hash: str
    hash: str = Field(
        ..., description="SHA-256 over the entry's content and prev_hash (docs/partner-ledger.md)."
    )


class StatementTotalsOut(Schema):
    commission_count: int
    commissions: Decimal
    reversal_count: int
    reversals: Decimal
    net: Decimal


class ChainPointOut(Schema):
    seq: int | None
    hash: str | None


class StatementOut(Schema):
    partner: PartnerOut
    month: str = Field(..., examples=["2026-11"])
    period_start: datetime
    period_end: datetime
    final: bool = Field(..., description="The month is over; no entry can join it any more.")
    currency: Literal["EUR"] = "EUR"
    entries: list[StatementEntryOut]
    totals: StatementTotalsOut
    chain: ChainPointOut = Field(
        ...,
        description="The statement's last entry and its hash, which covers it and every "
        "ledger entry before it (null for a month without entries).",
    )
    head: ChainPointOut = Field(..., description="The ledger's head when the statement was made.")
    created_at: datetime


class MonthQuery(Schema):
    month: str = Field(..., description="The calendar month in German time.", examples=["2026-11"])


def _statement_out(statement: Statement) -> StatementOut:
    return StatementOut(
        partner=PartnerOut(
            code=statement.partner_code, name=statement.partner_name, sandbox=statement.is_sandbox
        ),
        month=statement.month_text,
        period_start=statement.period_start,
        period_end=statement.period_end,
        final=statement.is_final,
        entries=[
            StatementEntryOut(
                seq=line.seq,
                kind=line.kind,
                order_reference=line.order_reference,
                rule=line.rule,
                amount=line.amount,
                reverses=line.reverses,
                reason=line.reason,
                recorded_at=line.recorded_at,
                recorded_by=line.recorded_by,
                approved_by=line.approved_by,
                prev_hash=line.prev_hash,
                hash=line.hash,
            )
            for line in statement.lines
        ],
        totals=StatementTotalsOut(
            commission_count=statement.commission_count,
            commissions=statement.commission_total,
            reversal_count=statement.reversal_count,
            reversals=statement.reversal_total,
            net=statement.total,
        ),
        chain=ChainPointOut(seq=statement.chain_seq, hash=statement.chain_hash),
        head=ChainPointOut(seq=statement.head_seq, hash=statement.head_hash),
        created_at=statement.created_at,
    )


def _download(statement: Statement, kind: Literal["csv", "pdf"]) -> HttpResponse:
    if kind == "csv":
        body, content_type = statement_csv(statement), "text/csv; charset=utf-8"
    else:
        body, content_type = statement_pdf(statement), "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{statement.filename_stem}.{kind}"'
    response["X-Ledger-Head"] = statement.head_hash
    if statement.chain_hash:
        response["X-Ledger-Chain-Hash"] = statement.chain_hash
    return response


def _file_responses(content_type: str) -> dict:
    return {
        "responses": {
            200: {
                "description": "The statement as a file",
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


_CSV_DOC = _file_responses("text/csv")
_PDF_DOC = _file_responses("application/pdf")


# --- a partner's own ------------------------------------------------------------------------


@router.get("/partner/statements", response={200: StatementOut, **ERRORS}, auth=PARTNER_AUTH)
def own_statement(request: HttpRequest, query: Query[MonthQuery]):  # noqa: ANN201
    """The caller's partner's statement of a month: entries, totals and chain hash."""
    partner = own_partner(request)
    return _statement_out(build_statement(partner, parse_month(query.month)))


@router.get(
    "/partner/statements/{month}.csv",
    response={200: None, **ERRORS},
    auth=PARTNER_AUTH,
    openapi_extra=_CSV_DOC,
)
def own_statement_csv(request: HttpRequest, month: str):  # noqa: ANN201
    """The statement as CSV: semicolons, UTF-8 with a byte order mark (German Excel)."""
    partner = own_partner(request)
    return _download(build_statement(partner, parse_month(month)), "csv")


@router.get(
    "/partner/statements/{month}.pdf",
    response={200: None, **ERRORS},
    auth=PARTNER_AUTH,
    openapi_extra=_PDF_DOC,
)
def own_statement_pdf(request: HttpRequest, month: str):  # noqa: ANN201
    """The statement as PDF, carrying the chain hash."""
    partner = own_partner(request)
    return _download(build_statement(partner, parse_month(month)), "pdf")


class CommissionOut(Schema):
    seq: int
    kind: Literal["commission", "reversal"]
    order_reference: str
    rule: str
    amount: Decimal
    reverses: int | None
    reason: str
    recorded_at: datetime
    hash: str


class OrderQuery(Schema):
    order: str = Field(..., min_length=1, max_length=100, description="The order reference.")


@router.get(
    "/partner/commissions", response={200: list[CommissionOut], **ERRORS}, auth=PARTNER_AUTH
)
def own_commissions(request: HttpRequest, query: Query[OrderQuery]):  # noqa: ANN201
    """The caller's partner's entries for one order (its commission and any reversal).
    An order of another partner is answered with 403."""
    partner = own_partner(request)
    return [
        _commission_out(entry) for entry in services.commissions_for_order(partner, query.order)
    ]


def _commission_out(entry: CommissionEntry) -> CommissionOut:
    return CommissionOut(
        seq=entry.seq,
        kind=entry.kind,
        order_reference=entry.order_reference,
        rule=entry.rule,
        amount=entry.amount,
        reverses=entry.reverses_id,
        reason=entry.reason,
        recorded_at=entry.recorded_at,
        hash=entry.hash,
    )


# --- any partner's, for administrators --------------------------------------------------------


@router.get(
    "/partners/{code}/statements", response={200: StatementOut, **ERRORS}, auth=INTERNAL_AUTH
)
def partner_statement(request: HttpRequest, code: str, query: Query[MonthQuery]):  # noqa: ANN201
    """Any partner's statement of a month (administrators)."""
    partner = _partner_by_code(request, code)
    return _statement_out(build_statement(partner, parse_month(query.month)))


@router.get(
    "/partners/{code}/statements/{month}.csv",
    response={200: None, **ERRORS},
    auth=INTERNAL_AUTH,
    openapi_extra=_CSV_DOC,
)
def partner_statement_csv(request: HttpRequest, code: str, month: str):  # noqa: ANN201
    partner = _partner_by_code(request, code)
    return _download(build_statement(partner, parse_month(month)), "csv")


@router.get(
    "/partners/{code}/statements/{month}.pdf",
    response={200: None, **ERRORS},
    auth=INTERNAL_AUTH,
    openapi_extra=_PDF_DOC,
)
def partner_statement_pdf(request: HttpRequest, code: str, month: str):  # noqa: ANN201
    partner = _partner_by_code(request, code)
    return _download(build_statement(partner, parse_month(month)), "pdf")

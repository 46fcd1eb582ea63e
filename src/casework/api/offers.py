"""API: Next-best-offer on the agent desktop and for the chat bot: a customer's ranked
offers and actions with their reasons, and recording the customer's answer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Query, Router, Schema, Status

from casework.api.auth import actor_of
from casework.api.schemas import ChannelName, ErrorOut
from casework.cases.queries import access_case
from casework.customers.queries import access_customer
from casework.kernel import clock
from casework.offers.ranking import Suggestion, next_best_offers
from casework.offers.services import record_offer_decision

router = Router(tags=["offers"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class FactOut(Schema):
    name: str
    value: str


class SuggestionOut(Schema):
    rank: int
    offer: str = Field(..., description="the offer's code")
    kind: Literal["offer", "action"]
    name: str
    description: str
    score: float = Field(..., description="propensity × max(value, 1) × business weight")
    propensity: float = Field(..., description="estimated probability of acceptance")
    propensity_source: Literal["model", "rate"]
    value: Decimal
    business_weight: Decimal
    reasons: list[str] = Field(..., description="why it suits the customer, in plain words")
    eligibility_rule: str = Field(..., description="empty: open to every customer")
    eligibility_facts: list[FactOut] = Field(..., description="the facts the rule read")


class NextBestOffersOut(Schema):
    customer_id: int
    as_of: date
    language: str
    suggestions: list[SuggestionOut]


class OfferDecisionIn(Schema):
    offer: str = Field(..., min_length=1, max_length=50, description="the offer's code")
    accepted: bool = Field(..., strict=True, description="true: accepted; false: declined")
    channel: ChannelName = Field(..., description="where the customer answered")
    case_id: int | None = Field(None, description="the case an agent works, if any")


class OfferDecisionOut(Schema):
    id: int
    customer_id: int
    offer: str
    outcome: Literal["accepted", "declined"]
    channel: str
    decided_at: datetime
    decided_by: str
    contract_id: int | None
    contract_changes: list[str]
    is_new: bool = Field(..., description="false: the same decision had been recorded before")


@router.get(
    "/customers/{customer_id}/next-best-offers", response={200: NextBestOffersOut, **ERRORS}
)
def list_next_best_offers(
    request: HttpRequest,
    customer_id: int,
    limit: int = Query(5, ge=1, le=50),
    kind: Literal["offer", "action"] | None = None,
    language: Literal["de", "en"] | None = Query(
        None, description="the reasons' language (default: the request's)"
    ),
):  # noqa: ANN201
    """The offers and actions the customer is eligible for now, best first, each with its
    score, the estimated propensity and the reasons in plain words (docs/next-best-offer.md)."""
    customer = access_customer(actor_of(request), customer_id)
    with translation.override(language or translation.get_language()):
        suggestions = next_best_offers(
            customer, limit=limit, kinds=[kind] if kind is not None else None
        )
        return {
            "customer_id": customer.pk,
            "as_of": clock.localtime(clock.now()).date(),
            "language": translation.get_language(),
            "suggestions": [
                _suggestion(rank, suggestion)
                for rank, suggestion in enumerate(suggestions, start=1)
            ],
        }


@router.post(
    "/customers/{customer_id}/offer-decisions",
    response={200: OfferDecisionOut, 201: OfferDecisionOut, **ERRORS},
)
def create_offer_decision(request: HttpRequest, customer_id: int, body: OfferDecisionIn):  # noqa: ANN201
    """Record the customer's answer. An accepted offer changes the contract at once; 201
    for a new decision, 200 when the same decision was recorded before (nothing changes
    twice). 422 for an unknown offer or one the customer may not have now, 409 for
    declining an offer the customer has accepted."""
    actor = actor_of(request)
    customer = access_customer(actor, customer_id)
    case = access_case(actor, body.case_id) if body.case_id is not None else None
    result = record_offer_decision(
        customer,
        body.offer,
        is_accepted=body.accepted,
        channel=body.channel,
        actor=actor,
        case=case,
    )
    decision = result.decision
    answer = {
        "id": decision.pk,
        "customer_id": decision.customer_id,
        "offer": decision.offer.code,
        "outcome": decision.outcome,
        "channel": decision.channel,
        "decided_at": decision.decided_at,
        "decided_by": decision.decided_by,
        "contract_id": decision.contract_id,
        "contract_changes": sorted(result.contract_changes),
        "is_new": result.is_new,
    }
    return Status(201 if result.is_new else 200, answer)


def _suggestion(rank: int, suggestion: Suggestion) -> dict[str, object]:
    offer = suggestion.offer
    language = translation.get_language() or "de"
    return {
        "rank": rank,
        "offer": offer.code,
        "kind": offer.kind,
        "name": offer.name_in(language),
        "description": offer.description(language),
        "score": suggestion.score,
        "propensity": suggestion.propensity,
        "propensity_source": suggestion.propensity_source,
        "value": offer.value,
        "business_weight": offer.business_weight,
        "reasons": suggestion.reasons,
        "eligibility_rule": suggestion.eligibility.rule,
        "eligibility_facts": [
            {"name": name, "value": value} for name, value in suggestion.eligibility.facts
        ],
    }

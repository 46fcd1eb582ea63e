"""Reading the offer catalogue and the decisions customers took."""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.customers.models import Customer
from casework.kernel.errors import InvalidInput
from casework.offers.models import Offer, OfferDecision


class UnknownOffer(InvalidInput):
    code = "offer_unknown"


def get_offer(code: str) -> Offer:
    """The offer with this code; named in a request's body, so a missing one is invalid
    input (422) rather than a missing page."""
    offer = Offer.objects.filter(code=code).first()
    if offer is None:
        raise UnknownOffer(_("there is no offer %(offer)s") % {"offer": f"“{code}”"}, field="offer")
    return offer


def list_decisions_of(customer: Customer, *, limit: int = 10) -> list[OfferDecision]:
    """The customer's newest decisions on offers, newest first."""
    return list(
        OfferDecision.objects.filter(customer=customer)
        .select_related("offer")
        .order_by("-decided_at", "-pk")[:limit]
    )

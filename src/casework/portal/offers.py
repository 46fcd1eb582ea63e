"""Offers in the portal: first those an agent or the chat bot proposed to the customer,
then the eligible next best offers; and the customer's answer, with its evidence.

An acceptance needs the customer's explicit confirmation of the exact text shown (title,
description and terms, in their language). The page carries that text's SHA-256; the
server computes it again from the offer as it is now and refuses when they differ (the
offer changed while the page was open). The event `portal.offer_accepted` keeps the
evidence: time, client address, user agent, the text and its SHA-256. The contract change
itself is the offers package's (`record_offer_decision`, channel `portal`); a second
submission finds the first decision and records nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework.customers.models import Channel, Customer, Product
from casework.events.services import record, recording_transaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound
from casework.offers.models import (
    DecisionOutcome,
    Offer,
    OfferDecision,
    OfferKind,
    OfferProposal,
    ProposalStatus,
)
from casework.offers.queries import get_offer
from casework.offers.ranking import assess_offer, next_best_offers
from casework.offers.services import (
    DecisionResult,
    OfferNotAvailable,
    close_proposals,
    record_offer_decision,
)
from casework.portal.signin import Client
from casework.portal.tokens import text_sha256

# Enough to choose from; the best ones first.
SUGGESTED_LIMIT = 5


@dataclass(frozen=True)
class OfferText:
    """The offer exactly as the customer reads it."""

    title: str
    description: str
    terms: tuple[str, ...]

    @property
    def full(self) -> str:
        parts = [self.title, self.description, "\n".join(self.terms)]
        return "\n\n".join(part for part in parts if part)

    @property
    def sha256(self) -> str:
        return text_sha256(self.full)


@dataclass(frozen=True)
class PortalOffer:
    offer: Offer
    text: OfferText
    proposal: OfferProposal | None  # None: a next best offer nobody proposed


def offer_text(offer: Offer, language: str) -> OfferText:
    with translation.override(language):
        terms = []
        if offer.switch_to:
            tariff = Product.objects.filter(code=offer.switch_to).first()
            if tariff is not None:
                terms.append(
                    _("Your contract moves to the tariff %(name)s (%(fee)s € a month).")
                    % {"name": tariff.name, "fee": floatformat(tariff.monthly_fee, "2g")}
                )
        if offer.discount_percent:
            terms.append(
                _("%(percent)s %% discount on the monthly fee.")
                % {"percent": floatformat(offer.discount_percent, "-2")}
            )
        if offer.extend_months:
            terms.append(
                ngettext(
                    "The contract term is extended by %(count)d month.",
                    "The contract term is extended by %(count)d months.",
                    offer.extend_months,
                )
                % {"count": offer.extend_months}
            )
        if offer.add_option:
            option = Product.objects.filter(code=offer.add_option).first()
            if option is not None:
                terms.append(_("Adds the option %(name)s.") % {"name": option.name})
        if offer.valid_until:
            terms.append(
                _("Valid until %(date)s.") % {"date": date_format(offer.valid_until, "DATE_FORMAT")}
            )
        return OfferText(
            title=offer.name_in(language),
            description=offer.description(language).strip(),
            terms=tuple(terms),
        )


def list_portal_offers(customer: Customer, language: str) -> list[PortalOffer]:
    """Proposed offers first (newest first), then the next best offers not proposed.
    Only offers the customer may have now; actions (goodwill an agent grants) only when an
    agent proposed them."""
    rows: list[PortalOffer] = []
    proposed = set()
    for proposal in OfferProposal.objects.filter(
        customer=customer, status=ProposalStatus.OPEN
    ).select_related("offer"):
        if assess_offer(customer, proposal.offer).suggestion is not None:
            rows.append(PortalOffer(proposal.offer, offer_text(proposal.offer, language), proposal))
            proposed.add(proposal.offer.code)
    for suggestion in next_best_offers(customer, limit=SUGGESTED_LIMIT + len(proposed)):
        offer = suggestion.offer
        if offer.code in proposed or offer.kind != OfferKind.OFFER:
            continue
        rows.append(PortalOffer(offer, offer_text(offer, language), None))
    return rows[: len(proposed) + SUGGESTED_LIMIT]


def find_portal_offer(customer: Customer, code: str, language: str) -> PortalOffer | None:
    for row in list_portal_offers(customer, language):
        if row.offer.code == code:
            return row
    return None


def find_acceptance(customer: Customer, code: str) -> OfferDecision | None:
    return (
        OfferDecision.objects.filter(
            customer=customer, offer__code=code, outcome=DecisionOutcome.ACCEPTED
        )
        .select_related("offer")
        .first()
    )


def get_offer_page(customer: Customer, code: str, language: str) -> PortalOffer:
    """The offer for its page: one the customer may answer now, or one they accepted."""
    row = find_portal_offer(customer, code, language)
    if row is not None:
        return row
    accepted = find_acceptance(customer, code)
    if accepted is not None:
        return PortalOffer(accepted.offer, offer_text(accepted.offer, language), None)
    raise NotFound(_("This offer is not available to you."))


def answer_offer(
    customer: Customer,
    code: str,
    *,
    is_accepted: bool,
    is_confirmed: bool,
    shown_sha256: str,
    client: Client,
    language: str,
) -> DecisionResult:
    """The customer's answer from the offer's page. Accepting needs the confirmation box
    ticked and the text shown to be the offer's text now."""
    offer = get_offer(code)
    actor = Actor.customer(customer.pk)
    with recording_transaction():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        earlier = find_acceptance(customer, offer.code)
        if earlier is not None:
            if not is_accepted:
                raise Conflict(_("You have accepted this offer already."))
            return DecisionResult(earlier, is_new=False)
        row = find_portal_offer(customer, offer.code, language)
        if row is None:
            raise OfferNotAvailable(_("This offer is not available to you."), field="offer")
        if is_accepted and not is_confirmed:
            raise InvalidInput(
                _("Please confirm that you accept the offer by ticking the box."),
                field="confirm",
            )
        if is_accepted and shown_sha256 != row.text.sha256:
            raise Conflict(
                _("The offer has changed since you opened it. Please read it again."),
                field="offer",
            )
        proposal = row.proposal
        case = proposal.case if proposal is not None else None
        if case is not None and case.customer_id != customer.pk:
            case = None
        result = record_offer_decision(
            customer,
            offer.code,
            is_accepted=is_accepted,
            channel=Channel.PORTAL,
            actor=actor,
            case=case,
        )
        if result.is_new:
            closed = close_proposals(result.decision)
            record(
                "portal.offer_accepted" if is_accepted else "portal.offer_declined",
                actor=actor,
                object_type="customer",
                object_id=customer.pk,
                payload={
                    "offer": offer.code,
                    "decision_id": result.decision.pk,
                    "proposal_ids": [proposal.pk for proposal in closed],
                    "answered_at": clock.now(),
                    "client_address": client.address,
                    "user_agent": client.user_agent[:500],
                    "language": language,
                    "offer_text": row.text.full,
                    "offer_text_sha256": row.text.sha256,
                },
            )
    return result

"""Next best offers on the case screen: the customer's ranked offers and actions with their
reasons, and the agent's Accept / Decline. Thin: `offers.ranking` ranks, `offers.services`
records; these views parse, authorise (the agent must see the case) and show.

The panel loads on its own request after the case screen (`hx-trigger="load"`), so ranking
never slows the case down. After a decline htmx swaps in the fresh panel; after an
acceptance the whole screen reloads, because the contract in the 360 view and the notes
have changed too. Without htmx, each POST redirects back to the case screen.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from casework.cases.models import Case
from casework.cases.queries import access_case
from casework.customers.models import Channel
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.offers.models import OfferKind, OfferProposal, ProposalStatus
from casework.offers.queries import list_decisions_of
from casework.offers.ranking import DECLINE_PAUSE_DAYS, next_best_offers
from casework.offers.services import DecisionResult, propose_offer, record_offer_decision
from casework.web.desk import desk_view, is_htmx

PANEL = "web/cases/_offers.html"
# Enough to choose from during a call; the API and the bot may ask for more.
PANEL_LIMIT = 5


class OfferDecisionForm(forms.Form):
    offer = forms.SlugField(max_length=50)
    decision = forms.ChoiceField(choices=[("accept", "accept"), ("decline", "decline")])
    channel = forms.ChoiceField(choices=Channel.choices)


@require_GET
@desk_view
def case_offers(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    return render(request, PANEL, panel_context(case))


@require_POST
@desk_view
def offer_decision(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = access_case(actor, case_id)
    if case.customer is None:
        raise InvalidInput(_("the case has no customer to make an offer to"))
    form = OfferDecisionForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("say which offer the customer accepted or declined, and where"))
    is_accepted = form.cleaned_data["decision"] == "accept"
    result = record_offer_decision(
        case.customer,
        form.cleaned_data["offer"],
        is_accepted=is_accepted,
        channel=form.cleaned_data["channel"],
        actor=actor,
        case=case,
    )
    messages.add_message(request, *_confirmation(result))
    if not is_htmx(request):
        return redirect(reverse("web:case", kwargs={"case_id": case.pk}) + "#case-offers")
    if is_accepted and result.is_new:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, PANEL, {**panel_context(case), "oob_flash": True})


class OfferProposalForm(forms.Form):
    offer = forms.SlugField(max_length=50)


@require_POST
@desk_view
def offer_proposal(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """ "Offer in the portal": the customer finds the offer in the portal, first."""
    case = access_case(actor, case_id)
    if case.customer is None:
        raise InvalidInput(_("the case has no customer to make an offer to"))
    form = OfferProposalForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(_("say which offer to propose"))
    proposal = propose_offer(
        case.customer,
        form.cleaned_data["offer"],
        channel=_channel_of(case),
        actor=actor,
        case=case,
    )
    messages.success(
        request,
        _("%(offer)s is offered to the customer in the portal.") % {"offer": proposal.offer.name},
    )
    if not is_htmx(request):
        return redirect(reverse("web:case", kwargs={"case_id": case.pk}) + "#case-offers")
    return render(request, PANEL, {**panel_context(case), "oob_flash": True})


def panel_context(case: Case) -> dict[str, Any]:
    if case.customer is None:
        return {"case": case, "rows": [], "decisions": []}
    suggestions = next_best_offers(case.customer, limit=PANEL_LIMIT)
    best = max((suggestion.score for suggestion in suggestions), default=0.0)
    language = get_language() or "de"
    channel = _channel_of(case)
    return {
        "case": case,
        "rows": [
            {
                "suggestion": suggestion,
                "description": suggestion.offer.description(language),
                # The bar compares with the best offer shown; a sliver stays visible.
                "bar_percent": max(3, round(100 * suggestion.score / best)) if best else 3,
                "chance_percent": round(100 * suggestion.propensity),
            }
            for suggestion in suggestions
        ],
        "decisions": list_decisions_of(case.customer, limit=5),
        "proposed_codes": set(
            OfferProposal.objects.filter(
                customer=case.customer, status=ProposalStatus.OPEN
            ).values_list("offer__code", flat=True)
        ),
        "channel": channel,
        "channel_label": Channel(channel).label,
    }


def _channel_of(case: Case) -> str:
    """Where the agent most likely speaks with the customer: the case's newest contact."""
    newest = (
        case.interactions.exclude(channel=Channel.NOTE)
        .order_by("-occurred_at", "-pk")
        .values_list("channel", flat=True)
        .first()
    )
    return newest if newest in Channel.values else Channel.PHONE


def _confirmation(result: DecisionResult) -> tuple[int, str]:
    offer = result.decision.offer
    if not result.is_new:
        return messages.INFO, _("%(offer)s was recorded before; nothing was changed.") % {
            "offer": offer.name
        }
    if not result.decision.is_accepted:
        return messages.SUCCESS, _(
            "%(offer)s declined; it is not proposed again for %(days)d days."
        ) % {"offer": offer.name, "days": DECLINE_PAUSE_DAYS}
    if offer.kind == OfferKind.ACTION:
        return messages.SUCCESS, _("%(offer)s granted; a note is on the case.") % {
            "offer": offer.name
        }
    if result.contract_changes:
        return messages.SUCCESS, _("%(offer)s accepted; the contract is changed.") % {
            "offer": offer.name
        }
    return messages.SUCCESS, _("%(offer)s accepted.") % {"offer": offer.name}

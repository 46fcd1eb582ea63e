"""Responses to offers, from every entry channel, become retention orders.

`receive()` is the one way in: the web link, a scanned card (`scans.py`), an agent on the
phone and a sales partner's order all arrive as an `IncomingResponse`. In one transaction
it records the response, checks it (is the code genuine and unused, is the offer still
valid and the customer eligible, is there no other open order, did the customer write a
remark), and opens a case of the `retention-order` case type. A clean order runs straight
through the case's process; a problem is written into the case's data, where the
process's first step turns it into an exception task naming the reason. Either way the
original is kept: the response row with everything that came with it.

Repeated deliveries are answered, not processed again: a partner's order is found by its
idempotency key or by the partner's order number, and one code opens one order at most
(the second card for it is an exception, never a second order or commission).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.models import Case, CaseStatus
from casework.cases.services import NewCase, get_case_type, open_case
from casework.customers.models import Channel, Customer
from casework.events.services import recording_transaction
from casework.interactions.files import StoredFile
from casework.interactions.models import Direction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput
from casework.offers import services as offer_services
from casework.offers.facts import FACT_NAMES, facts_of, facts_read_once
from casework.offers.models import Offer
from casework.partners.models import Partner
from casework.retention import codes
from casework.retention.models import (
    Recipient,
    Response,
    ResponseChannel,
    ResponseOutcome,
)
from casework.retention.models import ResponseProblem as Problem
from casework.rules.expressions import Expression, ExpressionError, compile_expression

CASE_TYPE = "retention-order"
CHOICES = ("accept", "decline")
_INTERACTION_CHANNEL = {
    ResponseChannel.WEB: Channel.PORTAL,
    ResponseChannel.LETTER: Channel.LETTER,
    ResponseChannel.PHONE: Channel.PHONE,
    ResponseChannel.PARTNER: Channel.PARTNER,
}


@dataclass
class IncomingResponse:
    channel: ResponseChannel
    code: str = ""  # as typed, scanned or in the link; empty for orders without a card
    choice: str = "accept"
    customer: Customer | None = None  # known from elsewhere: the phone call, the partner
    offer_code: str = ""  # orders without a code name the offer
    partner: Partner | None = None
    partner_reference: str = ""
    idempotency_key: str = ""
    is_sandbox: bool = False  # checked and answered, but nothing is ordered
    remarks: str = ""
    problem: Problem | None = None  # found before: a scan with two codes or none
    details: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[StoredFile, ...] = ()
    received_at: datetime | None = None
    agent_user_id: int | None = None


@dataclass(frozen=True)
class Received:
    response: Response
    is_repeat: bool  # an earlier delivery of the same order: nothing new was done


def receive(incoming: IncomingResponse, *, actor: Actor) -> Received:
    _check_input(incoming)
    try:
        # The eligibility check and the order's apply-offer step read the same facts.
        with recording_transaction(), facts_read_once():
            return _receive(incoming, actor)
    except IntegrityError:
        # A concurrent delivery of the same partner order won the race: answer with it.
        earlier = _earlier_delivery(incoming) if incoming.partner else None
        if earlier is None:
            raise
        return _repeat(earlier, incoming)


def _check_input(incoming: IncomingResponse) -> None:
    if incoming.choice not in CHOICES:
        raise InvalidInput(
            _("the choice must be one of %(choices)s") % {"choices": ", ".join(CHOICES)},
            field="choice",
        )
    if incoming.channel == ResponseChannel.PARTNER:
        if incoming.partner is None:
            raise InvalidInput(_("a partner order needs its partner"), field="partner")
        if not incoming.partner_reference.strip():
            raise InvalidInput(_("a partner order needs the partner's order number"), field="order")
    if len(incoming.partner_reference) > 100:
        raise InvalidInput(_("the order number is longer than 100 characters"), field="order")
    if len(incoming.idempotency_key) > 200:
        raise InvalidInput(
            _("the idempotency key is longer than 200 characters"), field="idempotency_key"
        )


def _receive(incoming: IncomingResponse, actor: Actor) -> Received:
    now = incoming.received_at or clock.now()
    today = clock.localtime(now).date()
    if incoming.partner is not None:
        earlier = _earlier_delivery(incoming)
        if earlier is not None:
            return _repeat(earlier, incoming)

    problem = incoming.problem
    recipient = None
    if incoming.code:
        recipient, code_problem = _recipient_for(incoming.code)
        problem = problem or code_problem
    elif problem is None and incoming.channel in (ResponseChannel.WEB, ResponseChannel.LETTER):
        problem = Problem.NO_CODE

    customer = incoming.customer
    if recipient is not None:
        if customer is not None and customer.pk != recipient.customer_id:
            problem = problem or Problem.CODE_OTHER_CUSTOMER
        else:
            customer = recipient.customer
    offer = recipient.offer if recipient is not None else None
    if offer is not None and incoming.offer_code and incoming.offer_code != offer.code:
        problem = problem or Problem.CODE_OTHER_CAMPAIGN
    if offer is None and incoming.offer_code:
        offer = Offer.objects.filter(code=incoming.offer_code, is_active=True).first()
        if offer is None:
            problem = problem or Problem.OFFER_UNKNOWN
    if customer is None:
        problem = problem or Problem.NO_CUSTOMER
    else:
        # One writer per customer at a time: the check for another open order holds.
        customer = Customer.objects.select_for_update().get(pk=customer.pk)

    outcome = ResponseOutcome.ORDERED
    if incoming.choice == "decline" and problem is None:
        outcome = ResponseOutcome.DECLINED
    elif problem is None:
        problem = _order_problem(incoming, recipient, customer, offer, today)
    if problem is not None:
        outcome = ResponseOutcome.EXCEPTION

    response = Response(
        channel=incoming.channel,
        received_at=now,
        code=incoming.code[:200],
        recipient=recipient,
        customer=customer,
        offer=offer,
        partner=incoming.partner,
        partner_reference=incoming.partner_reference,
        idempotency_key=incoming.idempotency_key,
        is_sandbox=incoming.is_sandbox,
        details={
            **incoming.details,
            "choice": incoming.choice,
            "remarks": incoming.remarks,
            "fingerprint": _fingerprint(incoming),
        },
        outcome=outcome,
        reason=problem.value if problem else "",
        reason_text=_problem_text(problem, customer),
        recorded_by=actor.label,
        agent_id=incoming.agent_user_id,
    )
    if incoming.is_sandbox:
        response.save()
        return Received(response, is_repeat=False)

    # A decline is a case too: it ends at once as "offer declined", which the churn
    # figures count as a customer lost.
    case = _open_order(incoming, response, recipient, customer, offer, actor)
    response.case = case
    response.save()
    record_interaction(
        NewInteraction(
            channel=_INTERACTION_CHANNEL[ResponseChannel(incoming.channel)],
            direction=Direction.INBOUND,
            occurred_at=now,
            customer_id=customer.pk if customer else None,
            case_id=case.pk,
            agent_id=_agent_id(incoming),
            sender=incoming.partner.name if incoming.partner else "",
            subject=_subject(incoming, offer, customer),
            text=incoming.remarks,
            payload={"retention_response": response.pk, "choice": incoming.choice},
            attachments=incoming.attachments,
        ),
        actor=actor,
    )
    if recipient is not None and recipient.responded_at is None:
        recipient.responded_at = now
        recipient.save(update_fields=["responded_at"])
    if outcome == ResponseOutcome.DECLINED and offer is not None and customer is not None:
        # The next-best-offer learns from campaign answers too (an acceptance is recorded
        # when the order changes the contract).
        offer_services.record_answer(
            customer,
            offer,
            is_accepted=False,
            channel=_INTERACTION_CHANNEL[ResponseChannel(incoming.channel)],
            actor=actor,
            case=case,
        )
    return Received(response, is_repeat=False)


def _order_problem(
    incoming: IncomingResponse,
    recipient: Recipient | None,
    customer: Customer | None,
    offer: Offer | None,
    today: date,
) -> Problem | None:
    assert customer is not None
    if recipient is not None and _used(recipient):
        return Problem.CODE_USED
    if recipient is not None and recipient.campaign.responses_until < today:
        return Problem.OFFER_EXPIRED
    if offer is not None:
        if (offer.valid_until and offer.valid_until < today) or (
            offer.valid_from and offer.valid_from > today
        ):
            return Problem.OFFER_EXPIRED
        if not _eligible(offer, customer, today):
            return Problem.NOT_ELIGIBLE
    if _has_open_order(customer):
        return Problem.CONFLICTING_ORDER
    if incoming.remarks.strip() and incoming.channel == ResponseChannel.LETTER:
        return Problem.REMARK
    return None


def _open_order(
    incoming: IncomingResponse,
    response: Response,
    recipient: Recipient | None,
    customer: Customer | None,
    offer: Offer | None,
    actor: Actor,
) -> Case:
    data: dict[str, Any] = {"channel": str(incoming.channel), "choice": incoming.choice}
    if recipient is not None:
        data["campaign"] = recipient.campaign.code
    if offer is not None:
        data["requested_offer"] = offer.code
    if incoming.partner is not None:
        data["partner"] = incoming.partner.code
        data["partner_order"] = incoming.partner_reference
    if response.reason:
        data["problem"] = response.reason
        data["problem_text"] = response.reason_text
    response.save()  # the case refers to it by id
    data["response"] = response.pk
    return open_case(
        NewCase(
            case_type=get_case_type(CASE_TYPE),
            subject=_subject(incoming, offer, customer),
            customer_id=customer.pk if customer else None,
            data=data,
            customer=customer,
        ),
        actor=actor,
    )


def _recipient_for(code: str) -> tuple[Recipient | None, Problem | None]:
    checked = codes.check(code)
    if checked.token is None:
        return None, Problem.CODE_FORGED if checked.problem == "forged" else Problem.CODE_MALFORMED
    recipient = (
        Recipient.objects.select_for_update()
        .select_related("campaign", "offer", "customer")
        .filter(token=checked.token)
        .first()
    )
    if recipient is None:
        return None, Problem.CODE_UNKNOWN
    return recipient, None


def _used(recipient: Recipient) -> bool:
    return Response.objects.filter(recipient=recipient, outcome=ResponseOutcome.ORDERED).exists()


def _has_open_order(customer: Customer) -> bool:
    return (
        Case.objects.filter(customer=customer, case_type__code=CASE_TYPE)
        .exclude(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
        .exists()
    )


def _eligible(offer: Offer, customer: Customer, today: date) -> bool:
    rule = _eligibility_rule(offer.eligibility)
    if rule is None:
        return True
    try:
        return rule.is_true(facts_of(customer, today))
    except ExpressionError:
        return False  # data that does not fit the rule is for a person to judge


@lru_cache(maxsize=256)
def _eligibility_rule(source: str) -> Expression | None:
    return compile_expression(source, FACT_NAMES) if source.strip() else None


def _earlier_delivery(incoming: IncomingResponse) -> Response | None:
    found = Response.objects.filter(partner=incoming.partner, is_sandbox=incoming.is_sandbox)
    if incoming.idempotency_key:
        earlier = found.filter(idempotency_key=incoming.idempotency_key).first()
        if earlier is not None:
            return earlier
    return found.filter(partner_reference=incoming.partner_reference).first()


def _fingerprint(incoming: IncomingResponse) -> str:
    """What makes an order this order: a repeated delivery must carry the same."""
    parts = (
        incoming.partner_reference,
        incoming.code,
        incoming.offer_code,
        str(incoming.customer.pk if incoming.customer else ""),
        incoming.choice,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _repeat(earlier: Response, incoming: IncomingResponse) -> Received:
    if earlier.details.get("fingerprint") != _fingerprint(incoming):
        raise Conflict(
            _(
                "order %(order)s was received before (%(when)s) with other content; "
                "a changed order needs a new order number"
            )
            % {"order": earlier.partner_reference, "when": earlier.received_at.isoformat()},
            field="order",
        )
    return Received(earlier, is_repeat=True)


def _problem_text(problem: Problem | None, customer: Customer | None) -> str:
    if problem is None:
        return ""
    with translation.override(customer.language if customer else "de"):
        return str(Problem(problem).label)


def _subject(incoming: IncomingResponse, offer: Offer | None, customer: Customer | None) -> str:
    language = customer.language if customer else "de"
    with translation.override(language):
        name = offer.name_in(language) if offer else _("no offer named")
        return _("Retention response (%(channel)s): %(offer)s") % {
            "channel": ResponseChannel(incoming.channel).label,
            "offer": name,
        }


def _agent_id(incoming: IncomingResponse) -> int | None:
    if incoming.agent_user_id is None:
        return None
    from casework.routing.models import Agent

    return Agent.objects.filter(user_id=incoming.agent_user_id).values_list("pk", flat=True).first()

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

`receive_batch()` takes many responses (a partner's CSV batch, the queue's worker) a chunk
per transaction: what the checks read — codes' recipients, customers, offers, codes used,
open orders, earlier deliveries, customer facts — is read for the whole chunk at once, and
each response is then received as `receive()` would, in arrival order (a second card for
a code in the same chunk is "used", as it would be later). A chunk first runs straight
through without savepoints and writes each kind of row together at its end; a refusal or
failure runs it again with a savepoint per response (ADR 18, third addendum).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, OperationalError
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases import notifications, process, sla
from casework.cases.models import Case, CaseStatus, CaseType
from casework.cases.services import (
    NewCase,
    case_keys_reserved,
    get_case_type,
    open_case,
    references_kept_if_failed,
    references_reserved,
)
from casework.channels.email import outbound
from casework.customers.models import Channel, Customer
from casework.events.services import is_deadlock, recording_transaction, savepoints_left_out
from casework.interactions.files import StoredFile
from casework.interactions.models import Direction
from casework.interactions.services import (
    NewInteraction,
    record_interaction,
    record_interactions,
)
from casework.kernel import clock, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, DomainError, InvalidInput
from casework.offers import services as offer_services
from casework.offers.facts import (
    FACT_NAMES,
    facts_of,
    facts_read_once,
    forget_facts_read,
    read_facts_ahead,
)
from casework.offers.models import Offer
from casework.partners import services as ledger
from casework.partners.models import Partner
from casework.retention import actions, codes
from casework.retention.models import (
    Recipient,
    Response,
    ResponseChannel,
    ResponseOutcome,
)
from casework.retention.models import ResponseProblem as Problem
from casework.rules.expressions import Expression, ExpressionError, compile_expression

logger = logging.getLogger(__name__)

CASE_TYPE = "retention-order"
CHOICES = ("accept", "decline")
# Responses per transaction in `receive_batch()`: the chain head is held for a chunk, so
# other writers wait at most about a chunk's time.
BATCH_CHUNK = 50
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


# Attempts of `receive()` when the database ends it as one side of a deadlock.
_DEADLOCK_ATTEMPTS = 3


def receive(incoming: IncomingResponse, *, actor: Actor) -> Received:
    check_input(incoming)
    for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
        try:
            # Locks as a batch takes them (recipient, customer, …, the chain head last),
            # so a single response and the workers' batches cannot deadlock; the
            # eligibility check and the order's apply-offer step read the same facts.
            with (
                references_reserved(1),
                recording_transaction(head_last=True),
                facts_read_once(),
            ):
                return _receive(incoming, actor, _Lookups())
        except IntegrityError as error:
            return _after_race(incoming, error)
        except OperationalError as error:
            # A writer that took the chain head first and then waited for a row this
            # response had locked: nothing was written, the response is tried again.
            if not is_deadlock(error) or attempt == _DEADLOCK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def receive_batch(
    responses: Sequence[tuple[IncomingResponse, Actor]],
) -> list[Received | DomainError]:
    """`receive()` for many responses, each with the actor it comes from: the result of
    each, or the error that refused it (nothing of a refused response is written, the
    others are received all the same)."""
    results: list[Received | DomainError] = []
    for start in range(0, len(responses), BATCH_CHUNK):
        results.extend(_receive_chunk(responses[start : start + BATCH_CHUNK]))
    return results


def _receive_chunk(
    responses: Sequence[tuple[IncomingResponse, Actor]],
) -> list[Received | DomainError]:
    results: list[Received | DomainError | None] = [None] * len(responses)
    checked = []
    for index, (incoming, _actor) in enumerate(responses):
        try:
            check_input(incoming)
            checked.append(index)
        except DomainError as error:
            results[index] = error
    # The chunk locks its customers and recipients in id order and takes the counters'
    # rows — case references, the chain and ledger heads — only briefly: before it (the
    # references) or at its end, so two workers' chunks run side by side (ADR 18).
    with references_reserved(len(checked)):
        try:
            # Straight through first, without a savepoint per response and per step: a
            # response refused or failing then fails the whole attempt, and the chunk runs
            # again with a savepoint each, as below (ADR 18, third addendum).
            with (
                references_kept_if_failed(),
                recording_transaction(head_last=True),
                savepoints_left_out(),
            ):
                return _receive_checked(responses, checked, list(results), careful=False)
        except Exception as error:  # noqa: BLE001 - anything: the careful run decides
            logger.info(
                "a chunk of %d responses runs again response by response: %r", len(checked), error
            )
        with recording_transaction(head_last=True):
            return _receive_checked(responses, checked, results, careful=True)


def _receive_checked(
    responses: Sequence[tuple[IncomingResponse, Actor]],
    checked: list[int],
    results: list[Received | DomainError | None],
    *,
    careful: bool,
) -> list[Received | DomainError]:
    """Receive the responses at `checked` in the transaction or savepoint the caller
    opened; `careful`: each in a savepoint of its own, its refusal or failure its result."""
    # What the checks read is read for the chunk at once, and the confirmations are
    # queued with the orders, not by a job and transaction each.
    with (
        facts_read_once(),
        process.read_once_per_batch(),
        notifications.sent_at_once(),
        ExitStack() as stack,
    ):
        lookups = _ReadAhead([responses[index][0] for index in checked])
        stack.enter_context(case_keys_reserved(len(checked)))  # each order's case written once
        stack.enter_context(actions.rows_known(lookups.all_offers(), lookups.partners()))
        # Where nothing rolls back halfway: what the steps change read ahead, and the
        # contacts and confirmations written together at the end.
        stack.enter_context(
            outbound.read_once_per_batch(lookups.customers, written_together=not careful)
        )
        if not careful:
            stack.enter_context(sla.timers_when_still_running())  # the chunk's clocks at once
            lookups.write_together()
            stack.enter_context(actions.contracts_locked_ahead(lookups.customers))
            stack.enter_context(offer_services.answers_batched(lookups.customers))
            stack.enter_context(process.cases_written_together())
            stack.enter_context(ledger.commissions_chained_together())
        for index in checked:
            incoming, actor = responses[index]
            if not careful:
                received = _receive(incoming, actor, lookups)  # failing fails the attempt
            else:
                try:
                    with recording_transaction():  # a savepoint: a refusal leaves nothing
                        received = _receive(incoming, actor, lookups)
                except IntegrityError as error:
                    try:
                        received = _after_race(incoming, error)
                    except DomainError as conflict:  # the earlier delivery had other content
                        results[index] = conflict
                        continue
                except DomainError as error:
                    results[index] = error
                    continue
            lookups.took(received)
            results[index] = received
        lookups.write_back()
    return results  # type: ignore[return-value]


def earlier_answer(incoming: IncomingResponse) -> Received | None:
    """What a partner order received before became, if this is a repeat of one; raises
    `Conflict` when the earlier order under the same number had other content."""
    earlier = _earlier_delivery(incoming) if incoming.partner is not None else None
    return _repeat(earlier, incoming) if earlier is not None else None


def _after_race(incoming: IncomingResponse, error: IntegrityError) -> Received:
    """A concurrent delivery of the same partner order won the race: answer with it."""
    earlier = _earlier_delivery(incoming) if incoming.partner else None
    if earlier is None:
        raise error
    return _repeat(earlier, incoming)


def check_input(incoming: IncomingResponse) -> None:
    """What `receive()` refuses before reading anything: the same refusal when a response
    is only accepted to be received later (`queue.accept`)."""
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


def _receive(incoming: IncomingResponse, actor: Actor, lookups: _Lookups) -> Received:
    now = incoming.received_at or clock.now()
    today = clock.localtime(now).date()
    if incoming.partner is not None:
        earlier = lookups.earlier_delivery(incoming)
        if earlier is not None:
            return _repeat(earlier, incoming)

    problem = incoming.problem
    recipient = None
    if incoming.code:
        recipient, code_problem = lookups.recipient_for(incoming.code)
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
        offer = lookups.offer(incoming.offer_code)
        if offer is None:
            problem = problem or Problem.OFFER_UNKNOWN
    if customer is None:
        problem = problem or Problem.NO_CUSTOMER
    else:
        # One writer per customer at a time: the check for another open order holds.
        customer = lookups.locked_customer(customer.pk)

    outcome = ResponseOutcome.ORDERED
    if incoming.choice == "decline" and problem is None:
        outcome = ResponseOutcome.DECLINED
    elif problem is None:
        problem = _order_problem(incoming, recipient, customer, offer, today, lookups)
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
            "fingerprint": fingerprint(incoming),
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
    case = _open_order(incoming, response, recipient, customer, offer, actor, lookups)
    lookups.attach_case(response, case)
    lookups.record_inbound(
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
        lookups.mark_responded(recipient, now)
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
    lookups: _Lookups,
) -> Problem | None:
    assert customer is not None
    if recipient is not None and lookups.is_used(recipient):
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
    if lookups.has_open_order(customer):
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
    lookups: _Lookups,
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
    lookups.store_response(response)  # the case refers to it by id
    data["response"] = response.pk
    return open_case(
        NewCase(
            case_type=lookups.case_type(),
            subject=_subject(incoming, offer, customer),
            customer_id=customer.pk if customer else None,
            data=data,
            customer=customer,
        ),
        actor=actor,
    )


class _Lookups:
    """What checking a response reads from the database, for one response at a time."""

    def recipient_for(self, code: str) -> tuple[Recipient | None, Problem | None]:
        return _recipient_for(code)

    def offer(self, code: str) -> Offer | None:
        return Offer.objects.filter(code=code, is_active=True).first()

    def locked_customer(self, customer_id: int) -> Customer:
        return Customer.objects.select_for_update().get(pk=customer_id)

    def is_used(self, recipient: Recipient) -> bool:
        return _used(recipient)

    def has_open_order(self, customer: Customer) -> bool:
        return _has_open_order(customer)

    def earlier_delivery(self, incoming: IncomingResponse) -> Response | None:
        return _earlier_delivery(incoming)

    def case_type(self) -> CaseType:
        return get_case_type(CASE_TYPE)

    def mark_responded(self, recipient: Recipient, at: datetime) -> None:
        recipient.responded_at = at
        recipient.save(update_fields=["responded_at"])

    def attach_case(self, response: Response, case: Case) -> None:
        response.case = case
        response.save(update_fields=["case"])

    def record_inbound(self, data: NewInteraction, actor: Actor) -> None:
        record_interaction(data, actor=actor)

    def store_response(self, response: Response) -> None:
        response.save()


class _ReadAhead(_Lookups):
    """The same answers for a chunk of responses, read for all of them at once and kept
    up to date as each is received (`took`), so that the responses of a chunk see each
    other as if they had come one after the other."""

    def __init__(self, incomings: Sequence[IncomingResponse]) -> None:
        tokens = {}
        for incoming in incomings:
            if incoming.code and incoming.code not in tokens:
                tokens[incoming.code] = codes.check(incoming.code)
        self.checked_codes = tokens
        found = {token.token for token in tokens.values() if token.token is not None}
        # Locked in one order (by id), as every chunk locks them.
        self.recipients = {
            recipient.token: recipient
            for recipient in Recipient.objects.select_for_update(of=("self",))
            .select_related("campaign", "offer", "customer")
            .filter(token__in=found)
            .order_by("pk")
        }
        offer_codes = {incoming.offer_code for incoming in incomings if incoming.offer_code}
        self.offers = {
            offer.code: offer
            for offer in Offer.objects.filter(code__in=offer_codes, is_active=True)
        }
        customer_ids = {r.customer_id for r in self.recipients.values()} | {
            incoming.customer.pk for incoming in incomings if incoming.customer is not None
        }
        self.customers = {
            customer.pk: customer
            for customer in Customer.objects.select_for_update()
            .filter(pk__in=customer_ids)
            .order_by("pk")
        }
        self.used = set(
            Response.objects.filter(
                recipient_id__in=[r.pk for r in self.recipients.values()],
                outcome=ResponseOutcome.ORDERED,
            ).values_list("recipient_id", flat=True)
        )
        self.open_orders = set(
            Case.objects.filter(customer_id__in=customer_ids, case_type__code=CASE_TYPE)
            .exclude(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
            .values_list("customer_id", flat=True)
        )
        self.deliveries = self._earlier_deliveries(incomings)
        self.incomings = incomings
        self.responded: list[Recipient] = []
        self.attached: list[Response] = []
        # Responses held back to be written together (`write_together`), and their keys.
        self.unstored: list[Response] = []
        self.response_keys: list[int] = []
        # The responses' contacts, when written together (`write_together`).
        self.inbound: list[tuple[NewInteraction, Actor]] | None = None
        # Customers with more than one response here: what one wrote, the next one's
        # facts (the last contact) must see.
        seen: set[int] = set()
        self.repeated: set[int] = set()
        for incoming in incomings:
            customer_id = self._customer_id_of(incoming)
            if customer_id is not None:
                (self.repeated if customer_id in seen else seen).add(customer_id)
        self._partners = {
            incoming.partner.pk: incoming.partner for incoming in incomings if incoming.partner
        }
        self._case_type: CaseType | None = None
        days = {
            clock.localtime(incoming.received_at or clock.now()).date() for incoming in incomings
        }
        for day in days:
            read_facts_ahead(list(self.customers.values()), day)
        process.read_customers_ahead(self.customers)

    @staticmethod
    def _earlier_deliveries(incomings: Sequence[IncomingResponse]) -> list[Response]:
        partner_orders = [incoming for incoming in incomings if incoming.partner is not None]
        if not partner_orders:
            return []
        partners = {incoming.partner for incoming in partner_orders}
        keys = {incoming.idempotency_key for incoming in partner_orders} - {""}
        references = {incoming.partner_reference for incoming in partner_orders}
        return list(
            Response.objects.filter(partner__in=partners)
            .filter(Q(idempotency_key__in=keys) | Q(partner_reference__in=references))
            .order_by("pk")
        )

    def recipient_for(self, code: str) -> tuple[Recipient | None, Problem | None]:
        checked = self.checked_codes[code]
        if checked.token is None:
            return None, _code_problem(checked)
        recipient = self.recipients.get(checked.token)
        return (recipient, None) if recipient is not None else (None, Problem.CODE_UNKNOWN)

    def offer(self, code: str) -> Offer | None:
        return self.offers.get(code)

    def locked_customer(self, customer_id: int) -> Customer:
        found = self.customers.get(customer_id)
        return found if found is not None else super().locked_customer(customer_id)

    def is_used(self, recipient: Recipient) -> bool:
        return recipient.pk in self.used

    def has_open_order(self, customer: Customer) -> bool:
        return customer.pk in self.open_orders

    def earlier_delivery(self, incoming: IncomingResponse) -> Response | None:
        assert incoming.partner is not None
        mine = [
            response
            for response in self.deliveries
            if response.partner_id == incoming.partner.pk
            and response.is_sandbox == incoming.is_sandbox
        ]
        if incoming.idempotency_key:
            for response in mine:
                if response.idempotency_key == incoming.idempotency_key:
                    return response
        for response in mine:
            if response.partner_reference == incoming.partner_reference:
                return response
        return None

    def all_offers(self) -> list[Offer]:
        """The offers named and those of the codes' campaigns."""
        offers = {offer.pk: offer for offer in self.offers.values()}
        for recipient in self.recipients.values():
            offers.setdefault(recipient.offer_id, recipient.offer)
        return list(offers.values())

    def partners(self) -> list[Partner]:
        return list(self._partners.values())

    def case_type(self) -> CaseType:
        if self._case_type is None:
            self._case_type = super().case_type()
        return self._case_type

    def mark_responded(self, recipient: Recipient, at: datetime) -> None:
        pass  # once the response is received (`took`), written for the chunk at its end

    def attach_case(self, response: Response, case: Case) -> None:
        response.case = case  # written for the chunk at its end, once received (`took`)

    def _customer_id_of(self, incoming: IncomingResponse) -> int | None:
        checked = self.checked_codes.get(incoming.code) if incoming.code else None
        recipient = self.recipients.get(checked.token) if checked and checked.token else None
        if recipient is not None:
            return recipient.customer_id
        return incoming.customer.pk if incoming.customer is not None else None

    def write_together(self) -> None:
        """Keep the responses and their contacts and write them at `write_back`, all in
        one; the responses take keys reserved now."""
        self.inbound = []
        self.unstored = []
        self.response_keys = sql.reserve_keys(Response, len(self.incomings))[::-1]

    def store_response(self, response: Response) -> None:
        if not self.response_keys:
            super().store_response(response)
            return
        response.pk = self.response_keys.pop()
        self.unstored.append(response)

    def record_inbound(self, data: NewInteraction, actor: Actor) -> None:
        if self.inbound is None:
            super().record_inbound(data, actor)
        else:
            self.inbound.append((data, actor))

    def _write_held_back(self) -> None:
        """What the next response's facts are read from: its customer's contacts and
        contract."""
        if self.inbound:
            datas, actors = zip(*self.inbound, strict=True)
            record_interactions(datas, actor=actors)
            self.inbound = []
        outbound.write_queued()
        offer_services.write_answers()

    def write_back(self) -> None:
        """At the chunk's end, a statement each: the recipients' answers, the responses
        held back (naming their cases) or the cases of those written already, and the
        contacts, confirmations, answers and contract changes held back."""
        sql.update_many(Recipient, ("responded_at",), self.responded)
        # Rows that name a response (the queue's entries) may come first: the foreign
        # keys are checked at commit.
        sql.insert_many(self.unstored, with_pk=True)
        unstored = {id(response) for response in self.unstored}
        sql.update_many(Response, ("case",), [r for r in self.attached if id(r) not in unstored])
        self.unstored = []
        self._write_held_back()

    def took(self, received: Received) -> None:
        """What the response just received changes for the ones after it."""
        if received.is_repeat:
            return
        response = received.response
        if response.case_id is not None:
            self.attached.append(response)
        recipient = response.recipient if response.recipient_id is not None else None
        if recipient is not None and recipient.responded_at is None and response.case_id:
            recipient.responded_at = response.received_at
            self.responded.append(recipient)
        if response.partner_id is not None:
            self.deliveries.append(response)
        if response.outcome == ResponseOutcome.ORDERED and response.recipient_id is not None:
            self.used.add(response.recipient_id)
        if response.customer_id is None or response.case_id is None:
            return
        if response.case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            self.open_orders.add(response.customer_id)
        # The order may have changed the contract: the next response reads afresh, and
        # sees this one's contacts.
        if response.customer_id in self.repeated:
            self._write_held_back()
        forget_facts_read(response.customer_id)
        process.forget_customer_read(response.customer_id)


def _recipient_for(code: str) -> tuple[Recipient | None, Problem | None]:
    checked = codes.check(code)
    if checked.token is None:
        return None, _code_problem(checked)
    recipient = (
        # Only the recipient's row: the offer and campaign are every order's.
        Recipient.objects.select_for_update(of=("self",))
        .select_related("campaign", "offer", "customer")
        .filter(token=checked.token)
        .first()
    )
    if recipient is None:
        return None, Problem.CODE_UNKNOWN
    return recipient, None


def _code_problem(checked: codes.CheckedCode) -> Problem:
    return Problem.CODE_FORGED if checked.problem == "forged" else Problem.CODE_MALFORMED


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


def fingerprint(incoming: IncomingResponse) -> str:
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
    if earlier.details.get("fingerprint") != fingerprint(incoming):
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

"""The only code that records decisions on offers and applies what an accepted offer
changes; and the training of the propensity model.

`record_offer_decision()` is the one entry point for the case screen, the API and the chat
bot. An accepted offer changes the customer's contract (`accept_offer`): the term is
extended, the monthly fee discounted, an option added, the tariff switched — in one
transaction with the decision and its events. An accepted action changes no contract; on
a case it leaves a note saying what the agent granted.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.template.defaultfilters import floatformat
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.services import add_note
from casework.customers.models import Channel, Contract, ContractStatus, Customer, Product
from casework.events.services import record, recording_transaction
from casework.kernel import clock, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput
from casework.offers import propensity
from casework.offers.facts import facts_of
from casework.offers.models import (
    DecisionOutcome,
    Offer,
    OfferDecision,
    OfferKind,
    OfferProposal,
    PropensityModel,
    ProposalStatus,
)
from casework.offers.queries import get_offer
from casework.offers.ranking import DECLINE_PAUSE_DAYS, assess_offer

PROPOSAL_STATUS_OF = {True: ProposalStatus.ACCEPTED, False: ProposalStatus.DECLINED}


class OfferNotAvailable(InvalidInput):
    """The customer may not have this offer now (its rule does not hold, it has expired)."""

    code = "offer_not_available"


@dataclass(frozen=True)
class DecisionResult:
    decision: OfferDecision
    # False when the same decision had been recorded before (a double click, a retry):
    # nothing was changed a second time.
    is_new: bool
    # What an accepted offer changed on the contract: field → (before, after).
    contract_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def record_offer_decision(
    customer: Customer,
    offer_code: str,
    *,
    is_accepted: bool,
    channel: str,
    actor: Actor,
    case: Case | None = None,
) -> DecisionResult:
    """The customer accepted or declined the offer with this code (on `channel`; from
    `case` when an agent works one, which then gets a note)."""
    offer = get_offer(offer_code)
    if is_accepted:
        return accept_offer(customer, offer, channel=channel, actor=actor, case=case)
    return decline_offer(customer, offer, channel=channel, actor=actor, case=case)


@recording_transaction()
def accept_offer(
    customer: Customer,
    offer: Offer,
    *,
    channel: str,
    actor: Actor,
    case: Case | None = None,
) -> DecisionResult:
    """Record the acceptance and make the offer's contract change, once: a second call for
    the same customer and offer returns the first decision and changes nothing."""
    _check(customer, channel, case)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    earlier = OfferDecision.objects.filter(
        customer=customer, offer=offer, outcome=DecisionOutcome.ACCEPTED
    ).first()
    if earlier is not None:
        return DecisionResult(earlier, is_new=False)
    today = clock.localtime(clock.now()).date()
    assessment = assess_offer(customer, offer, today=today)
    suggestion = assessment.suggestion
    if suggestion is None:
        raise OfferNotAvailable(
            _("the offer %(offer)s is not available to this customer now") % {"offer": offer.code},
            field="offer",
        )
    contract, changes = None, {}
    if offer.kind == OfferKind.OFFER and offer.changes_contract:
        contract = _active_contract(customer, offer)
        changes = apply_offer_to_contract(contract, offer, actor=actor, today=today)
    decision = OfferDecision.objects.create(
        customer=customer,
        offer=offer,
        outcome=DecisionOutcome.ACCEPTED,
        channel=channel,
        decided_at=clock.now(),
        decided_by=actor.label,
        case=case,
        contract=contract,
        facts=_snapshot(assessment.facts),
        propensity=suggestion.propensity,
        score=suggestion.score,
    )
    _record_decision(decision, actor=actor, changes=changes)
    if case is not None:
        add_note(case, _acceptance_note(offer, contract, changes), actor=actor)
    return DecisionResult(decision, is_new=True, contract_changes=changes)


@recording_transaction()
def decline_offer(
    customer: Customer,
    offer: Offer,
    *,
    channel: str,
    actor: Actor,
    case: Case | None = None,
) -> DecisionResult:
    """Record that the customer said no. A decline within the pause finds the earlier one:
    the offer was not proposed in between, so there is nothing new to learn."""
    _check(customer, channel, case)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    decisions = OfferDecision.objects.filter(customer=customer, offer=offer)
    if decisions.filter(outcome=DecisionOutcome.ACCEPTED).exists():
        raise Conflict(
            _("the customer has accepted the offer %(offer)s already") % {"offer": offer.code},
            field="offer",
        )
    recent = (
        decisions.filter(
            outcome=DecisionOutcome.DECLINED,
            decided_at__gte=clock.now() - timedelta(days=DECLINE_PAUSE_DAYS),
        )
        .order_by("-decided_at", "-pk")
        .first()
    )
    if recent is not None:
        return DecisionResult(recent, is_new=False)
    assessment = assess_offer(customer, offer)
    suggestion = assessment.suggestion
    decision = OfferDecision.objects.create(
        customer=customer,
        offer=offer,
        outcome=DecisionOutcome.DECLINED,
        channel=channel,
        decided_at=clock.now(),
        decided_by=actor.label,
        case=case,
        facts=_snapshot(assessment.facts),
        propensity=suggestion.propensity if suggestion else None,
        score=suggestion.score if suggestion else None,
    )
    _record_decision(decision, actor=actor, changes={})
    return DecisionResult(decision, is_new=True)


def _check(customer: Customer, channel: str, case: Case | None) -> None:
    if channel not in Channel.values:
        raise InvalidInput(
            _("unknown channel %(channel)s (known: %(known)s)")
            % {"channel": f"“{channel}”", "known": ", ".join(Channel.values)},
            field="channel",
        )
    if case is not None and case.customer_id != customer.pk:
        raise InvalidInput(_("the case belongs to another customer"), field="case_id")


def _active_contract(customer: Customer, offer: Offer) -> Contract:
    """The contract the facts describe (the newest active one), locked."""
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .filter(customer=customer, status=ContractStatus.ACTIVE)
        .select_related("product")
        .order_by("-start_date", "-pk")
        .first()
    )
    if contract is None:
        raise OfferNotAvailable(
            _("the offer %(offer)s changes a contract, and the customer has no active one")
            % {"offer": offer.code},
            field="offer",
        )
    return contract


def apply_offer_to_contract(
    contract: Contract, offer: Offer, *, actor: Actor, today: date
) -> dict[str, tuple[Any, Any]]:
    """Make the offer's contract change (in the caller's transaction, on a locked row) and
    record it; returns field → (before, after) of what changed. The tariff switch comes
    first, so the discount applies to the new tariff's fee."""
    changes: dict[str, tuple[Any, Any]] = {}
    if offer.switch_to:
        tariff = Product.objects.filter(code=offer.switch_to).first()
        if tariff is not None and tariff.pk != contract.product_id:
            changes["product"] = (contract.product.code, tariff.code)
            changes["monthly_fee"] = (contract.monthly_fee, tariff.monthly_fee)
            contract.product, contract.monthly_fee = tariff, tariff.monthly_fee
    if offer.discount_percent:
        before = changes.get("monthly_fee", (contract.monthly_fee,))[0]
        contract.monthly_fee = discounted(contract.monthly_fee, offer.discount_percent)
        changes["monthly_fee"] = (before, contract.monthly_fee)
    if offer.extend_months:
        # An open-ended contract gets a fixed term from today: that is what the customer
        # commits to in exchange for the offer.
        new_end = add_months(contract.end_date or today, offer.extend_months)
        changes["end_date"] = (contract.end_date, new_end)
        contract.end_date = new_end
    if changes:
        answers = _answers_batched.get()
        if answers is not None and contract.customer_id in answers.customer_ids:
            answers.changed_contracts[contract.pk] = contract
        else:
            contract.save(update_fields=list(_CONTRACT_FIELDS))
    if offer.add_option:
        option = Product.objects.filter(code=offer.add_option).first()
        # The catalogue may name an option that is no longer sold: the rest still applies.
        options = sorted(contract.options.values_list("code", flat=True))
        if option is not None and option.code not in options:
            contract.options.add(option)
            changes["options"] = (options, sorted([*options, option.code]))
    if changes:
        record(
            "contract.updated",
            actor=actor,
            object_type="contract",
            object_id=contract.pk,
            payload={
                "customer_id": contract.customer_id,
                "contract_number": contract.contract_number,
                "offer": offer.code,
                "before": {name: before for name, (before, _after) in changes.items()},
                "after": {name: after for name, (_before, after) in changes.items()},
            },
        )
    return changes


def discounted(fee: Decimal, percent: Decimal) -> Decimal:
    """The fee less `percent` per cent, to the cent (half a cent rounds up)."""
    return (fee * (Decimal(100) - percent) / Decimal(100)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the month's last day (31.1. → 28.2.)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _snapshot(facts: Any) -> dict[str, Any]:
    """The facts as JSON keeps them (dates and decimals as text), for learning later."""
    return json.loads(json.dumps(facts, cls=DjangoJSONEncoder))


def _record_decision(
    decision: OfferDecision, *, actor: Actor, changes: dict[str, tuple[Any, Any]]
) -> None:
    record(
        "offer.accepted" if decision.is_accepted else "offer.declined",
        actor=actor,
        object_type="customer",
        object_id=decision.customer_id,
        payload={
            "decision_id": decision.pk,
            "offer": decision.offer.code,
            "kind": decision.offer.kind,
            "channel": decision.channel,
            "case_id": decision.case_id,
            "contract_id": decision.contract_id,
            "propensity": decision.propensity,
            "score": decision.score,
            "contract_changes": sorted(changes),
        },
    )


def _acceptance_note(
    offer: Offer, contract: Contract | None, changes: dict[str, tuple[Any, Any]]
) -> str:
    if offer.kind == OfferKind.ACTION:
        text = _("Action taken: %(name)s.") % {"name": offer.name}
    else:
        text = _("Offer accepted: %(name)s.") % {"name": offer.name}
    parts = describe_changes(changes)
    if contract is not None and parts:
        text += " " + _("Contract %(number)s: %(changes)s.") % {
            "number": contract.contract_number,
            "changes": ", ".join(parts),
        }
    return text


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """What `apply_offer_to_contract` changed, in words of the active language."""
    parts = []
    if "product" in changes:
        parts.append(_("tariff %(code)s") % {"code": changes["product"][1]})
    if "monthly_fee" in changes:
        before, after = changes["monthly_fee"]
        parts.append(
            _("monthly fee %(before)s € → %(after)s €")
            % {"before": floatformat(before, "2g"), "after": floatformat(after, "2g")}
        )
    if "end_date" in changes:
        parts.append(
            _("term until %(date)s")
            % {"date": date_format(changes["end_date"][1], "SHORT_DATE_FORMAT")}
        )
    if "options" in changes:
        added = set(changes["options"][1]) - set(changes["options"][0])
        parts.append(_("option %(code)s added") % {"code": ", ".join(sorted(added))})
    return parts


@dataclass
class _Answers:
    customer_ids: frozenset[int]
    found: dict[tuple[int, int], OfferDecision]  # the earlier acceptances
    keys: list[int]  # reserved for the answers recorded inside
    unwritten: list[OfferDecision] = field(default_factory=list)
    changed_contracts: dict[int, Contract] = field(default_factory=dict)


_answers_batched: ContextVar[_Answers | None] = ContextVar(
    "casework_offer_answers_batched", default=None
)
_CONTRACT_FIELDS = ("product", "monthly_fee", "end_date", "updated_at")


@contextmanager
def answers_batched(customer_ids: Iterable[int]) -> Iterator[None]:
    """Within the block `record_answer` finds these customers' earlier acceptances from
    one read, and the answers it records and the contracts `apply_offer_to_contract`
    changes are written together when the block ends (or at `write_answers()`), one
    statement each. Only where nothing rolls back halfway
    (`events.services.savepoints_left_out`): a decision a savepoint took back would stay
    known."""
    ids = frozenset(customer_ids)
    found = {
        (decision.customer_id, decision.offer_id): decision
        for decision in OfferDecision.objects.filter(
            customer_id__in=ids, outcome=DecisionOutcome.ACCEPTED
        ).order_by("-pk")  # the oldest last: it wins, as `.first()` one by one would
    }
    keys = sql.reserve_keys(OfferDecision, len(ids))[::-1] if ids else []
    token = _answers_batched.set(_Answers(ids, found, keys))
    try:
        yield
        write_answers()
    finally:
        _answers_batched.reset(token)


def write_answers() -> None:
    """Write what `answers_batched()` holds back so far: before the contracts are read
    again."""
    answers = _answers_batched.get()
    if answers is None:
        return
    sql.update_many(Contract, _CONTRACT_FIELDS, list(answers.changed_contracts.values()))
    sql.insert_many(answers.unwritten, with_pk=True)
    answers.changed_contracts, answers.unwritten = {}, []


def record_answer(
    customer: Customer,
    offer: Offer,
    *,
    is_accepted: bool,
    channel: str,
    actor: Actor,
    case: Case | None = None,
    contract: Contract | None = None,
    facts: dict[str, Any] | None = None,
) -> OfferDecision:
    """A customer's answer that another process carries out (a campaign's retention order
    changes the contract itself): recorded for learning, nothing else is done. In the
    caller's transaction; an acceptance is recorded once. `facts`: the customer's facts
    the answer was given on, when the caller has changed the contract since (read now
    otherwise)."""
    outcome = DecisionOutcome.ACCEPTED if is_accepted else DecisionOutcome.DECLINED
    read = _answers_batched.get()
    if read is not None and customer.pk not in read.customer_ids:
        read = None
    if is_accepted:
        if read is not None:
            earlier = read.found.get((customer.pk, offer.pk))
        else:
            earlier = OfferDecision.objects.filter(
                customer=customer, offer=offer, outcome=outcome
            ).first()
        if earlier is not None:
            return earlier
    # No ranking here: the answer is what counts for learning, with the facts it was
    # given on (assessing would read every decision's count, on the order's hot path).
    decision = OfferDecision(
        customer=customer,
        offer=offer,
        outcome=outcome,
        channel=channel,
        decided_at=clock.now(),
        decided_by=actor.label,
        case=case,
        contract=contract,
        facts=_snapshot(
            facts if facts is not None else facts_of(customer, clock.localtime(clock.now()).date())
        ),
    )
    if read is not None and read.keys:
        decision.pk = read.keys.pop()
        read.unwritten.append(decision)
    else:
        decision.save()
    _record_decision(decision, actor=actor, changes={})
    if read is not None and is_accepted:
        read.found[(customer.pk, offer.pk)] = decision
    return decision


def train_propensity_model(*, actor: Actor, trained_by: str = "") -> PropensityModel:
    """Fit the propensity models on every decision so far and store them as the newest.
    Offers with too few decisions keep their smoothed acceptance rate (`propensity.py`)."""
    examples: dict[str, list[propensity.Example]] = defaultdict(list)
    rows = OfferDecision.objects.order_by("pk").values_list(
        "offer__code", "offer__interest_tag", "outcome", "facts"
    )
    count = 0
    for code, interest_tag, outcome, facts in rows.iterator(chunk_size=2000):
        examples[code].append(
            propensity.Example(
                features=propensity.features(facts or {}, interest_tag),
                is_accepted=outcome == DecisionOutcome.ACCEPTED,
            )
        )
        count += 1
    # Fitting takes a moment; only the result is written under the event log's lock.
    parameters = propensity.train(examples)
    with recording_transaction():
        model = PropensityModel.objects.create(
            trained_by=trained_by or actor.label, decisions=count, parameters=parameters
        )
        record(
            "offer.propensity_trained",
            actor=actor,
            object_type="propensity_model",
            object_id=model.pk,
            payload={"decisions": count, "offers_with_model": sorted(parameters["offers"])},
        )
    return model


# -- proposals for the portal ----------------------------------------------------------------


@recording_transaction()
def propose_offer(
    customer: Customer,
    offer_code: str,
    *,
    channel: str,
    actor: Actor,
    case: Case | None = None,
) -> OfferProposal:
    """Put an offer to the customer for them to answer in the portal (the agent's "Offer in
    the portal", the chat bot's proposal). Idempotent: while a proposal of this offer to
    this customer is open, proposing it again returns that one and records nothing.
    The offer must be available to the customer now; on a case, a note says what was
    proposed."""
    offer = get_offer(offer_code)
    _check(customer, channel, case)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    existing = OfferProposal.objects.filter(
        customer=customer, offer=offer, status=ProposalStatus.OPEN
    ).first()
    if existing is not None:
        return existing
    if assess_offer(customer, offer).suggestion is None:
        raise OfferNotAvailable(
            _("the offer %(offer)s is not available to this customer now") % {"offer": offer.code},
            field="offer",
        )
    proposal = OfferProposal.objects.create(
        customer=customer, offer=offer, proposed_by=actor.label, channel=channel, case=case
    )
    record(
        "offer.proposed",
        actor=actor,
        object_type="customer",
        object_id=customer.pk,
        payload={
            "proposal_id": proposal.pk,
            "offer": offer.code,
            "channel": channel,
            "case_id": case.pk if case else None,
        },
    )
    if case is not None:
        add_note(
            case,
            _("Offer proposed in the customer portal: %(name)s.") % {"name": offer.name},
            actor=actor,
        )
    return proposal


def close_proposals(decision: OfferDecision) -> list[OfferProposal]:
    """The customer answered the offer: its open proposals are answered too (in the
    caller's transaction). Returns the proposals it closed."""
    open_proposals = list(
        OfferProposal.objects.select_for_update().filter(
            customer_id=decision.customer_id, offer_id=decision.offer_id, status=ProposalStatus.OPEN
        )
    )
    for proposal in open_proposals:
        proposal.status = PROPOSAL_STATUS_OF[decision.is_accepted]
        proposal.answered_at = decision.decided_at
        proposal.decision = decision
        proposal.save(update_fields=["status", "answered_at", "decision"])
    return open_proposals

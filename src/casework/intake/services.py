"""The intake pipeline: InboundMessage → customer → case → interaction → task.

Idempotent per (channel, external_id): a second delivery of the same message returns the
first result and changes nothing. Everything a message causes commits in one transaction:
its own (`ingest`), or one shared by a batch (`ingest_batch`), in which a message that
fails is rolled back alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from casework.cases import process
from casework.cases.models import Case, CaseStatus, CaseType
from casework.cases.process import on_customer_message
from casework.cases.services import (
    NewCase,
    ensure_open_task,
    get_case_type,
    get_queue,
    open_case,
    open_cases,
    reopen_case,
    touch_case,
)
from casework.customers.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise,
)
from casework.customers.matching import IdentifyResult, MatchOutcome, identify, identify_many
from casework.customers.models import Channel, Customer
from casework.customers.services import (
    IdentifierTaken,
    NewCustomer,
    RawIdentifier,
    create_customer,
    create_customers,
)
from casework.events.services import recording_transaction
from casework.intake.classification import Classified, classify_message, service_type_of
from casework.intake.messages import InboundMessage, find_case_reference, split_name
from casework.intake.models import ChannelDefault, TopicRoute
from casework.interactions.models import Direction, Interaction
from casework.interactions.services import (
    NewInteraction,
    find_by_external_id,
    record_interaction,
    record_interactions,
)
from casework.kernel import sql
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput, NotFound

INTAKE_ACTOR = Actor.system("intake")

# Channels on which a customer contacts us; notes and API-internal entries are not intake.
INBOUND_CHANNELS = tuple(c for c in Channel.values if c != Channel.NOTE)


class CustomerMatch(StrEnum):
    GIVEN = "given"
    MATCHED = "matched"
    CREATED = "created"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    interaction: Interaction
    is_new_case: bool
    is_duplicate: bool
    customer_match: str


@dataclass(frozen=True)
class Prepared:
    """What can be worked out about a message before its ingestion: its sender's
    identifiers as stored, and — for a message that will likely open a case — what the
    classifiers say. Worked out where a message is accepted (queued intake: by the server
    processes, side by side), so that the ingesting transaction — on SQLite the one writer
    — spends no time on it."""

    identifiers: list[Identifier]
    classified: Classified | None = None  # None: classified when its case is opened

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"identifiers": [[i.kind.value, i.value] for i in self.identifiers]}
        if self.classified is not None:
            data["classification"] = {
                "results": self.classified.results,
                "is_uncertain": self.classified.is_uncertain,
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Prepared | None:
        """None for an entry stored without prepared facts, or with facts this version
        cannot read (its message is prepared when it is ingested, as if they were not
        there: they only save work)."""
        if not data or "identifiers" not in data:
            return None
        try:
            classification = data.get("classification")
            return cls(
                identifiers=[
                    Identifier(IdentifierKind(kind), str(value))
                    for kind, value in data["identifiers"]
                ],
                classified=Classified(
                    dict(classification["results"]), bool(classification["is_uncertain"])
                )
                if classification is not None
                else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


def validate_message(message: InboundMessage) -> list[Identifier]:
    if message.channel not in INBOUND_CHANNELS:
        raise InvalidInput(
            _("unknown channel “%(channel)s” (known: %(known)s)")
            % {"channel": message.channel, "known": ", ".join(INBOUND_CHANNELS)},
            field="channel",
        )
    if not message.external_id.strip():
        raise InvalidInput(_("a message needs the channel's id for it"), field="external_id")
    if len(message.external_id) > 400:
        raise InvalidInput(_("external_id is longer than 400 characters"), field="external_id")
    if message.received_at.tzinfo is None:
        raise InvalidInput(_("received_at needs a time zone"), field="received_at")
    identifiers = []
    for index, sender in enumerate(message.sender):
        try:
            identifiers.append(normalise(sender.kind, sender.value))
        except InvalidIdentifier as error:
            raise InvalidIdentifier(error.message, field=f"sender.{index}") from error
    return identifiers


def ingest(message: InboundMessage) -> IntakeResult:
    """One message in a transaction of its own; raises a DomainError if it cannot be
    ingested (nothing is written then)."""
    return _ingest_one(message, validate_message(message))


def ingest_batch(
    messages: Sequence[InboundMessage], prepared: Sequence[Prepared | None] = ()
) -> list[IntakeResult | DomainError]:
    """Many messages in one transaction: one commit and one append to the event chain for
    all of them, instead of one each. A message that cannot be ingested fails alone: its
    DomainError takes its place in the answer, which has one entry per message, in order.
    A repeated (channel, external_id), also within the batch, gives the first result, as
    `ingest()` does; so does everything else, as if `ingest()` ran once per message.
    `prepared` (as many as messages, or none) holds the facts `check_message()` worked out
    when they were accepted (validated then); a None there is worked out here.

    Any other error (a database failure, a bug) rolls the whole batch back and is raised."""
    if prepared and len(prepared) != len(messages):
        raise ValueError("ingest_batch() needs one prepared entry per message, or none")
    with recording_transaction():
        checked: list[tuple[InboundMessage, list[Identifier]] | DomainError] = []
        classified: dict[int, Classified] = {}  # by id() of the message
        for message, facts in zip(messages, prepared or [None] * len(messages), strict=True):
            if facts is None:
                try:
                    checked.append((message, validate_message(message)))
                except DomainError as error:
                    checked.append(error)
                continue
            checked.append((message, facts.identifiers))
            if facts.classified is not None:
                classified[id(message)] = facts.classified
        if not any(isinstance(item, DomainError) for item in checked):
            try:
                # Usually every message goes through: then one savepoint for the batch
                # instead of one per message (two statements less each).
                with recording_transaction():
                    return _ingest_all(checked, classified)  # type: ignore[arg-type]
            except (DomainError, IntegrityError):
                pass  # one of them fails (or raced a duplicate): again, one by one
        return _ingest_each(checked)


def _ingest_all(
    checked: list[tuple[InboundMessage, list[Identifier]]],
    classified: dict[int, Classified],
) -> list[IntakeResult | DomainError]:
    """Every message of the batch without a savepoint each; the first failure raises.

    The usual message — a new case for a known or a new sender — is not written at once:
    such messages wait in `_Openings` and are written together, one INSERT per table for
    all of them. A reply to a stored case without a process, from a sender who needs no
    new customer, is written at once (the waiting openings cannot concern it). Any other
    message (a reply to a case that may be waiting, a repeat) first writes the waiting
    ones, so references, customer numbers and everything a message may find are as if the
    messages had been ingested one by one."""
    results: list[IntakeResult | DomainError | None] = [None] * len(checked)
    ingested: dict[tuple[str, str], IntakeResult] = {}
    existing = _existing_external_ids([message for message, _ in checked])
    senders = identify_many([identifiers for _, identifiers in checked])
    openings = _Openings(results, ingested)
    created: set[Identifier] = set()  # identifiers of customers this batch created
    for index, ((message, identifiers), identified) in enumerate(
        zip(checked, senders, strict=True)
    ):
        key = (message.channel, message.external_id)
        if key in openings.keys:
            openings.write()
        first = ingested.get(key)
        if first is not None:
            results[index] = _as_duplicate(first)
            continue
        result = None
        if key not in existing and not created.intersection(identifiers):
            opening = _usual_opening(message, identifiers, identified, classified.get(id(message)))
            if opening is not None:
                if opening.starts_process:
                    # Its process runs when the case is written and may look at what came
                    # before (the customer's other cases): it is written alone, in order.
                    openings.write()
                openings.add(index, opening)
                if opening.starts_process:
                    openings.write()
                if opening.new_customer is not None:
                    created.update(identifiers)  # a later message of theirs finds the customer
                continue
            result = _reply_to_stored_case(message, identifiers, identified)
        if result is None:
            openings.write()
            # A repeat (rare) gets its own savepoint, exactly as `ingest()` treats it.
            if key in existing:
                result = _ingest_one(message, identifiers)
            else:
                result = _ingest_new(message, identifiers)
        if result.customer_match == CustomerMatch.CREATED:
            created.update(identifiers)
        ingested[key] = result
        results[index] = result
    openings.write()
    return results  # type: ignore[return-value]


@dataclass
class _Opening:
    """A message that opens a new case, decided but not yet written."""

    message: InboundMessage
    customer: Customer | None
    match: CustomerMatch
    new_case: NewCase
    interaction: NewInteraction
    new_customer: NewCustomer | None = None  # the sender, to be created with the case
    starts_process: bool = False  # the case type has a process


class _Openings:
    """The batch's waiting openings, written together by `write()`."""

    def __init__(
        self,
        results: list[IntakeResult | DomainError | None],
        ingested: dict[tuple[str, str], IntakeResult],
    ) -> None:
        self.results = results
        self.ingested = ingested
        self.waiting: list[tuple[int, _Opening]] = []
        self.keys: set[tuple[str, str]] = set()

    def add(self, index: int, opening: _Opening) -> None:
        self.waiting.append((index, opening))
        self.keys.add((opening.message.channel, opening.message.external_id))

    def write(self) -> None:
        if not self.waiting:
            return
        openings = [opening for _, opening in self.waiting]
        senders = [(o, o.new_customer) for o in openings if o.new_customer is not None]
        if senders:
            customers = create_customers([new for _, new in senders], actor=INTAKE_ACTOR)
            for (opening, _new), customer in zip(senders, customers, strict=True):
                opening.customer = customer
                opening.new_case.customer_id = opening.interaction.customer_id = customer.pk
        cases = open_cases([o.new_case for o in openings], actor=INTAKE_ACTOR)
        for opening, case in zip(openings, cases, strict=True):
            opening.interaction.case_id = case.pk
        interactions = record_interactions([o.interaction for o in openings], actor=INTAKE_ACTOR)
        for (index, opening), case, interaction in zip(
            self.waiting, cases, interactions, strict=True
        ):
            result = IntakeResult(case, interaction, True, False, opening.match.value)
            self.results[index] = result
            self.ingested[(opening.message.channel, opening.message.external_id)] = result
        self.waiting.clear()
        self.keys.clear()


def _usual_opening(
    message: InboundMessage,
    identifiers: list[Identifier],
    identified: IdentifyResult,
    classified: Classified | None,
) -> _Opening | None:
    """The opening of a new case for a message that needs nothing written before it (no
    existing case, no customer named by id); None for any other message."""
    if message.customer_id is not None or message.case_id is not None:
        return None
    if find_case_reference(message) is not None:
        return None
    new_customer = None
    if (
        identified.outcome == MatchOutcome.UNKNOWN
        and identifiers
        and not message.unknown_sender_queue
    ):
        customer, match, candidates = None, CustomerMatch.CREATED, []
        new_customer = _provisional_customer(message, identifiers)
    else:
        customer, match, candidates = _customer_from(identified)
    payload = dict(message.payload)
    new_case = _new_case_for(message, customer, payload, classified)
    interaction = _interaction_for(message, customer, None, payload, match, candidates, identifiers)
    starts_process = process.published_definition(new_case.case_type.code) is not None
    return _Opening(message, customer, match, new_case, interaction, new_customer, starts_process)


def _ingest_each(
    checked: list[tuple[InboundMessage, list[Identifier]] | DomainError],
) -> list[IntakeResult | DomainError]:
    """Each message in a savepoint of its own, so one that fails fails alone."""
    results: list[IntakeResult | DomainError] = []
    ingested: dict[tuple[str, str], IntakeResult] = {}
    for item in checked:
        if isinstance(item, DomainError):
            results.append(item)
            continue
        message, identifiers = item
        key = (message.channel, message.external_id)
        first = ingested.get(key)
        if first is not None:
            # Saves the doomed insert and its rollback; the answer is the same.
            results.append(_as_duplicate(first))
            continue
        try:
            result = _ingest_one(message, identifiers)
        except DomainError as error:
            results.append(error)
            continue
        ingested[key] = result
        results.append(result)
    return results


def _existing_external_ids(messages: Sequence[InboundMessage]) -> set[tuple[str, str]]:
    """Which of the messages' (channel, external_id) have an interaction already (one query
    for the batch): those need a savepoint, for the insert that will be refused."""
    channels = sorted({message.channel for message in messages})
    external_ids = sorted({message.external_id for message in messages})
    if not external_ids:
        return set()
    found = (
        Interaction.objects.filter(channel__in=channels, external_id__in=external_ids)
        .values_list("channel", "external_id")
        .iterator()
    )
    wanted = {(message.channel, message.external_id) for message in messages}
    return {pair for pair in found if pair in wanted}


def check_message(message: InboundMessage) -> Prepared:
    """Raise the DomainError that ingesting `message` would raise for what can be known
    before: invalid fields, an unknown case type, customer or case, a channel without a
    case type. For accepting a message now and ingesting it later (queued intake): returns
    its prepared facts, to be kept with it."""
    identifiers = validate_message(message)
    if (
        message.customer_id is not None
        and not Customer.objects.filter(pk=message.customer_id).exists()
    ):
        raise NotFound(
            _("customer %(customer_id)s does not exist") % {"customer_id": message.customer_id},
            field="customer_id",
        )
    if message.case_id is not None:
        if not Case.objects.filter(pk=message.case_id).exists():
            raise NotFound(
                _("case %(case_id)s does not exist") % {"case_id": message.case_id},
                field="case_id",
            )
        return Prepared(identifiers)
    reference = find_case_reference(message)
    if message.case_type or reference is None:
        _case_type_for(message)  # the case it will open needs a type
    if reference is not None:
        return Prepared(identifiers)  # most likely a reply: classified only if it opens a case
    return Prepared(identifiers, classify_message(message.text or message.subject))


def _ingest_one(message: InboundMessage, identifiers: list[Identifier]) -> IntakeResult:
    # Repeats are rare, so none is looked for up front: the unique (channel, external_id)
    # refuses the second interaction, the attempt rolls back (its transaction, or its
    # savepoint in a batch), and the first result is returned. That also covers two
    # deliveries racing each other.
    try:
        with recording_transaction():
            return _ingest_new(message, identifiers)
    except IntegrityError:
        duplicate = _find_duplicate(message)
        if duplicate is None:
            raise
        return duplicate


def _as_duplicate(first: IntakeResult) -> IntakeResult:
    return IntakeResult(
        case=first.case,
        interaction=first.interaction,
        is_new_case=False,
        is_duplicate=True,
        customer_match=first.customer_match,
    )


def _find_duplicate(message: InboundMessage) -> IntakeResult | None:
    existing = find_by_external_id(message.channel, message.external_id)
    if existing is None or existing.case is None:
        return None
    return IntakeResult(
        case=existing.case,
        interaction=existing,
        is_new_case=False,
        is_duplicate=True,
        customer_match=existing.payload.get("customer_match", CustomerMatch.NONE),
    )


def _ingest_new(message: InboundMessage, identifiers: list[Identifier]) -> IntakeResult:
    customer, match, candidates = _resolve_customer(message, identifiers)
    case = _find_continued_case(message, customer)
    if case is not None:
        return _continue_case(message, identifiers, case, customer, match, candidates)
    payload = dict(message.payload)
    case = open_case(_new_case_for(message, customer, payload), actor=INTAKE_ACTOR)
    interaction = record_interaction(
        _interaction_for(message, customer, case, payload, match, candidates, identifiers),
        actor=INTAKE_ACTOR,
    )
    return IntakeResult(case, interaction, True, False, match.value)


def _reply_to_stored_case(
    message: InboundMessage, identifiers: list[Identifier], identified: IdentifyResult
) -> IntakeResult | None:
    """A message continuing a stored case, from a sender who needs no new customer,
    ingested as `_ingest_new` would; None (nothing done) for any other message."""
    if message.customer_id is not None:
        return None
    if (
        identified.outcome == MatchOutcome.UNKNOWN
        and identifiers
        and not message.unknown_sender_queue
    ):
        return None
    customer, match, candidates = _customer_from(identified)
    try:
        case = _find_continued_case(message, customer)
    except DomainError:
        return None  # raised again where the message is ingested as usual
    if case is None or case.process_key:
        # A process the reply resumes may open sub-cases or look at other cases: it runs
        # after what waits is written, as one message after another would have it.
        return None
    return _continue_case(message, identifiers, case, customer, match, candidates)


def _continue_case(
    message: InboundMessage,
    identifiers: list[Identifier],
    case: Case,
    customer: Customer | None,
    match: CustomerMatch,
    candidates: list[int],
) -> IntakeResult:
    if case.status == CaseStatus.RESOLVED:
        case = reopen_case(case, reason="new inbound message", actor=INTAKE_ACTOR)
    if customer is None and case.customer_id:
        customer = case.customer
    if not on_customer_message(case):  # unless the case's process waited for this
        ensure_open_task(case, title=message.subject or case.subject, actor=INTAKE_ACTOR)
    touch_case(case, message.received_at)
    payload = dict(message.payload)
    interaction = record_interaction(
        _interaction_for(message, customer, case, payload, match, candidates, identifiers),
        actor=INTAKE_ACTOR,
    )
    return IntakeResult(case, interaction, False, False, match.value)


def _new_case_for(
    message: InboundMessage,
    customer: Customer | None,
    payload: dict[str, Any],
    classified: Classified | None = None,
) -> NewCase:
    """The case a message opens: its type and queue by the channel's defaults, the
    classifiers (`classified`, or asked now) and the topic routes. Notes what was decided
    in the message's `payload`."""
    queue = message.queue
    case_type = _case_type_for(message)
    if classified is None:
        classified = classify_message(message.text or message.subject)
    if classified.results:
        payload["classification"] = classified.results
    route = _topic_route(classified.confident_label("topic"), case_type.pk)
    if route is not None:
        # The installation's rule for the recognised topic (None: the type's own queue).
        case_type, queue = route.case_type, route.queue_code
        payload["topic_route"] = {"topic": route.topic, "case_type": case_type.code}
    belongs_in = queue
    if classified.is_uncertain and settings.CASEWORK_TRIAGE_QUEUE:
        # A person decides what the classifiers could not.
        queue = settings.CASEWORK_TRIAGE_QUEUE
    if customer is None and message.unknown_sender_queue:
        # The case waits to be identified; linking it moves it on to where it belongs.
        queue = message.unknown_sender_queue
        payload["queue_after_identification"] = belongs_in
    return NewCase(
        case_type=case_type,
        subject=message.subject or _first_line(message.text) or message.channel,
        customer_id=customer.pk if customer else None,
        queue=_cached("queue", queue, get_queue) if queue else None,
        service_type=service_type_of(classified),
    )


def _interaction_for(
    message: InboundMessage,
    customer: Customer | None,
    case: Case | None,
    payload: dict[str, Any],
    match: CustomerMatch,
    candidates: list[int],
    identifiers: list[Identifier],
) -> NewInteraction:
    payload["customer_match"] = match.value
    if candidates:
        payload["candidate_customer_ids"] = candidates
    if customer is None and match != CustomerMatch.CREATED and identifiers:
        # Kept for the agent who links the contact to a customer later (a customer
        # created with the batch's cases has none yet here, but has the identifiers).
        payload["sender_identifiers"] = [
            {"kind": i.kind.value, "value": i.value} for i in identifiers
        ]
    return NewInteraction(
        channel=message.channel,
        direction=Direction.INBOUND,
        occurred_at=message.received_at,
        customer_id=customer.pk if customer else None,
        case_id=case.pk if case else None,
        sender=_sender_label(message),
        subject=message.subject,
        text=message.text,
        payload=payload,
        external_id=message.external_id,
        attachments=message.attachments,
    )


def _resolve_customer(
    message: InboundMessage, identifiers: list[Identifier]
) -> tuple[Customer | None, CustomerMatch, list[int]]:
    if message.customer_id is not None:
        customer = Customer.objects.filter(pk=message.customer_id).first()
        if customer is None:
            raise NotFound(
                _("customer %(customer_id)s does not exist") % {"customer_id": message.customer_id},
                field="customer_id",
            )
        while customer.merged_into_id:  # an old id of a merged record leads to the survivor
            customer = Customer.objects.get(pk=customer.merged_into_id)
        return customer, CustomerMatch.GIVEN, []
    result = identify(identifiers)
    if result.outcome != MatchOutcome.UNKNOWN or not identifiers or message.unknown_sender_queue:
        return _customer_from(result)
    try:
        with transaction.atomic():
            customer = create_customer(
                _provisional_customer(message, identifiers), actor=INTAKE_ACTOR
            )
    except IdentifierTaken:
        # Another message from the same new sender created the customer a moment ago.
        result = identify(identifiers)
        if result.outcome != MatchOutcome.MATCHED:
            raise
        return result.customer, CustomerMatch.MATCHED, []
    return customer, CustomerMatch.CREATED, []


def _provisional_customer(message: InboundMessage, identifiers: list[Identifier]) -> NewCustomer:
    """An unknown sender as a new customer, to be confirmed by an agent."""
    first_name, last_name = split_name(message.sender_name)
    return NewCustomer(
        first_name=first_name,
        last_name=last_name,
        preferred_channel=message.channel,
        identifiers=[RawIdentifier(i.kind.value, i.value) for i in identifiers],
        is_provisional=True,
    )


def _customer_from(result: IdentifyResult) -> tuple[Customer | None, CustomerMatch, list[int]]:
    """The customer of an identification that needs no new customer."""
    if result.outcome == MatchOutcome.MATCHED:
        return result.customer, CustomerMatch.MATCHED, []
    if result.outcome == MatchOutcome.AMBIGUOUS:
        return None, CustomerMatch.AMBIGUOUS, [c.pk for c in result.candidates]
    return None, CustomerMatch.NONE, []


def _find_continued_case(message: InboundMessage, customer: Customer | None) -> Case | None:
    case: Case | None
    if message.case_id is not None:
        case = _case_where("id", message.case_id)
        if case is None:
            raise NotFound(
                _("case %(case_id)s does not exist") % {"case_id": message.case_id}, field="case_id"
            )
    else:
        reference = find_case_reference(message)
        if reference is None:
            return None
        case = _case_where("reference", reference)
        if case is None:
            return None
    while case.merged_into_id:  # the matter lives on in the case it was merged into
        case = _case_where("id", case.merged_into_id)
        assert case is not None  # a case that others were merged into is never deleted
    if case.status == CaseStatus.CLOSED:
        return None
    if customer is not None and case.customer_id not in (None, customer.pk):
        # Someone else quoting a reference must not write into another customer's case.
        if message.case_id is not None:
            raise InvalidInput(
                _("case %(case_id)s belongs to another customer") % {"case_id": case.pk},
                field="case_id",
            )
        return None
    return case


def _case_where(column: str, value: object) -> Case | None:
    # A reply is every tenth message or so: the lean query, not the ORM's.
    found = sql.select(
        Case, f"SELECT {{columns}} FROM {Case._meta.db_table} t WHERE t.{column} = %s", [value]
    )
    return found[0] if found else None


# Channel defaults, case types and queues change rarely and are read for every new case:
# each process keeps them for a few seconds rather than asking the database every time.
_DEFAULTS_TTL_SECONDS = 10.0
_defaults: dict[str, tuple[float, CaseType | None]] = {}
_by_code: dict[tuple[str, str], tuple[float, object]] = {}

T = TypeVar("T")


def forget_cached_defaults() -> None:
    """After changing channel defaults, case types, queues or topic routes in this process
    (tests, admin actions)."""
    global _topic_routes
    _defaults.clear()
    _by_code.clear()
    _topic_routes = None


@dataclass(frozen=True)
class _Route:
    topic: str
    case_type: CaseType
    queue_code: str | None


_topic_routes: tuple[float, dict[tuple[str, int | None], _Route]] | None = None


def _topic_route(topic: str | None, default_case_type_id: int) -> _Route | None:
    """The active rule for a confidently recognised topic: the one for this default case
    type, else the general one. All rules are remembered for a few seconds."""
    global _topic_routes
    if not topic:
        return None
    if _topic_routes is None or time.monotonic() - _topic_routes[0] > _DEFAULTS_TTL_SECONDS:
        routes = {
            (rule.topic, rule.from_case_type_id): _Route(
                rule.topic, rule.case_type, rule.queue.code if rule.queue else None
            )
            for rule in TopicRoute.objects.filter(is_active=True).select_related(
                "case_type__default_queue__team", "queue"
            )
        }
        _topic_routes = (time.monotonic(), routes)
    routes = _topic_routes[1]
    return routes.get((topic, default_case_type_id)) or routes.get((topic, None))


def _cached(kind: str, code: str, load: Callable[[str], T]) -> T:
    """`load(code)`, remembered for a few seconds; a failed lookup is not remembered."""
    cached = _by_code.get((kind, code))
    if cached is not None and time.monotonic() - cached[0] <= _DEFAULTS_TTL_SECONDS:
        return cached[1]  # type: ignore[return-value]
    value = load(code)
    _by_code[(kind, code)] = (time.monotonic(), value)
    return value


def _case_type_for(message: InboundMessage) -> CaseType:
    if message.case_type:
        return _cached("case_type", message.case_type, get_case_type)
    cached = _defaults.get(message.channel)
    if cached is None or time.monotonic() - cached[0] > _DEFAULTS_TTL_SECONDS:
        default = (
            ChannelDefault.objects.select_related("case_type__default_queue__team")
            .filter(channel=message.channel)
            .first()
        )
        cached = (time.monotonic(), default.case_type if default else None)
        _defaults[message.channel] = cached
    if cached[1] is None:
        raise InvalidInput(
            _("no case type is configured for new %(channel)s messages")
            % {"channel": Channel(message.channel).label},
            field="channel",
        )
    return cached[1]


def _sender_label(message: InboundMessage) -> str:
    address = message.sender[0].value if message.sender else ""
    if message.sender_name and address:
        return f"{message.sender_name} <{address}>"
    return message.sender_name or address


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""

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
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from casework.cases.models import Case, CaseStatus, CaseType
from casework.cases.process import on_customer_message
from casework.cases.services import (
    NewCase,
    ensure_open_task,
    get_case_type,
    get_queue,
    open_case,
    reopen_case,
    touch_case,
)
from casework.customers.identifiers import Identifier, InvalidIdentifier, normalise
from casework.customers.matching import MatchOutcome, identify
from casework.customers.models import Channel, Customer
from casework.customers.services import IdentifierTaken, NewCustomer, RawIdentifier, create_customer
from casework.events.services import recording_transaction
from casework.intake.classification import classify_message, service_type_of
from casework.intake.messages import InboundMessage, find_case_reference, split_name
from casework.intake.models import ChannelDefault, TopicRoute
from casework.interactions.models import Direction, Interaction
from casework.interactions.services import NewInteraction, find_by_external_id, record_interaction
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


def ingest_batch(messages: Sequence[InboundMessage]) -> list[IntakeResult | DomainError]:
    """Many messages in one transaction: one commit and one append to the event chain for
    all of them, instead of one each. A message that cannot be ingested fails alone: its
    DomainError takes its place in the answer, which has one entry per message, in order.
    A repeated (channel, external_id), also within the batch, gives the first result, as
    `ingest()` does; so does everything else, as if `ingest()` ran once per message.

    Any other error (a database failure, a bug) rolls the whole batch back and is raised."""
    with recording_transaction():
        checked: list[tuple[InboundMessage, list[Identifier]] | DomainError] = []
        for message in messages:
            try:
                checked.append((message, validate_message(message)))
            except DomainError as error:
                checked.append(error)
        if not any(isinstance(item, DomainError) for item in checked):
            try:
                # Usually every message goes through: then one savepoint for the batch
                # instead of one per message (two statements less each).
                with recording_transaction():
                    return _ingest_all(checked)  # type: ignore[arg-type]
            except (DomainError, IntegrityError):
                pass  # one of them fails (or raced a duplicate): again, one by one
        return _ingest_each(checked)


def _ingest_all(
    checked: list[tuple[InboundMessage, list[Identifier]]],
) -> list[IntakeResult | DomainError]:
    """Every message of the batch without a savepoint each; the first failure raises."""
    results: list[IntakeResult | DomainError] = []
    ingested: dict[tuple[str, str], IntakeResult] = {}
    existing = _existing_external_ids([message for message, _ in checked])
    for message, identifiers in checked:
        key = (message.channel, message.external_id)
        first = ingested.get(key)
        if first is not None:
            results.append(_as_duplicate(first))
            continue
        if key in existing:
            # A repeat (rare): its own savepoint, exactly as `ingest()` treats it.
            result = _ingest_one(message, identifiers)
        else:
            result = _ingest_new(message, identifiers)
        ingested[key] = result
        results.append(result)
    return results


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


def check_message(message: InboundMessage) -> None:
    """Raise the DomainError that ingesting `message` would raise for what can be known
    before: invalid fields, an unknown case type, customer or case, a channel without a
    case type. For accepting a message now and ingesting it later (queued intake)."""
    validate_message(message)
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
    elif message.case_type or find_case_reference(message) is None:
        _case_type_for(message)  # the case it will open needs a type


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
    is_new_case = case is None
    payload = dict(message.payload)
    if case is None:
        queue = message.queue
        case_type = _case_type_for(message)
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
        case = open_case(
            NewCase(
                case_type=case_type,
                subject=message.subject or _first_line(message.text) or message.channel,
                customer_id=customer.pk if customer else None,
                queue=_cached("queue", queue, get_queue) if queue else None,
                service_type=service_type_of(classified),
            ),
            actor=INTAKE_ACTOR,
        )
    else:
        if case.status == CaseStatus.RESOLVED:
            case = reopen_case(case, reason="new inbound message", actor=INTAKE_ACTOR)
        if customer is None and case.customer_id:
            customer = case.customer
        if not on_customer_message(case):  # unless the case's process waited for this
            ensure_open_task(case, title=message.subject or case.subject, actor=INTAKE_ACTOR)
        touch_case(case, message.received_at)
    payload["customer_match"] = match.value
    if candidates:
        payload["candidate_customer_ids"] = candidates
    if customer is None and identifiers:
        # Kept for the agent who links the contact to a customer later.
        payload["sender_identifiers"] = [
            {"kind": i.kind.value, "value": i.value} for i in identifiers
        ]
    interaction = record_interaction(
        NewInteraction(
            channel=message.channel,
            direction=Direction.INBOUND,
            occurred_at=message.received_at,
            customer_id=customer.pk if customer else None,
            case_id=case.pk,
            sender=_sender_label(message),
            subject=message.subject,
            text=message.text,
            payload=payload,
            external_id=message.external_id,
            attachments=message.attachments,
        ),
        actor=INTAKE_ACTOR,
    )
    return IntakeResult(case, interaction, is_new_case, False, match.value)


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
    if result.outcome == MatchOutcome.MATCHED:
        return result.customer, CustomerMatch.MATCHED, []
    if result.outcome == MatchOutcome.AMBIGUOUS:
        return None, CustomerMatch.AMBIGUOUS, [c.pk for c in result.candidates]
    if not identifiers or message.unknown_sender_queue:
        return None, CustomerMatch.NONE, []
    first_name, last_name = split_name(message.sender_name)
    try:
        with transaction.atomic():
            customer = create_customer(
                NewCustomer(
                    first_name=first_name,
                    last_name=last_name,
                    preferred_channel=message.channel,
                    identifiers=[RawIdentifier(i.kind.value, i.value) for i in identifiers],
                    is_provisional=True,
                ),
                actor=INTAKE_ACTOR,
            )
    except IdentifierTaken:
        # Another message from the same new sender created the customer a moment ago.
        result = identify(identifiers)
        if result.outcome != MatchOutcome.MATCHED:
            raise
        return result.customer, CustomerMatch.MATCHED, []
    return customer, CustomerMatch.CREATED, []


def _find_continued_case(message: InboundMessage, customer: Customer | None) -> Case | None:
    case: Case | None
    if message.case_id is not None:
        case = Case.objects.select_related("customer").filter(pk=message.case_id).first()
        if case is None:
            raise NotFound(
                _("case %(case_id)s does not exist") % {"case_id": message.case_id}, field="case_id"
            )
    else:
        reference = find_case_reference(message)
        if reference is None:
            return None
        case = Case.objects.select_related("customer").filter(reference=reference).first()
        if case is None:
            return None
    while case.merged_into_id:  # the matter lives on in the case it was merged into
        case = Case.objects.select_related("customer").get(pk=case.merged_into_id)
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

"""Calls: what a telephone system's events do, and what agents do with a call.

`receive(connection, event)` applies one CTI event, once: the caller is recognised by
number, the call becomes an interaction of the customer and a work item the router offers
(affinity first: Helmut's second call goes to the agent who took his first), the agent's
desk gets the screen pop, and the answer names the agent's line so the telephone system
can connect the call there. Answer, hold, transfer and hang-up keep the call's times and
move the work item along. Events that come late or twice change nothing and say why.

Agents link the call to a case or open one, register an unknown caller, and wrap up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.models import Case, CaseType
from casework.cases.services import NewCase, open_case
from casework.channels.phone import callbacks
from casework.channels.phone.cti import WITHHELD_NUMBERS, CtiEvent, EventKind
from casework.channels.phone.errors import CallNotFound, CallNotYours, CallStillRunning
from casework.channels.phone.models import (
    AgentLine,
    Call,
    CallbackSource,
    CallDirection,
    CallEvent,
    CallOutcome,
    CallState,
    CtiConnection,
    Hotline,
    WrapUpCode,
)
from casework.customers import services as customers
from casework.customers.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    format_phone_national,
    normalise_phone,
)
from casework.customers.matching import MatchOutcome, identify
from casework.customers.models import Customer
from casework.events.services import record, recording_transaction
from casework.interactions.models import Interaction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock, jobs, realtime
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import InvalidInput
from casework.routing.config import AFTER_CALL_WORK
from casework.routing.errors import NoRoute, OfferExpired, RouterUnavailable
from casework.routing.models import Agent, AgentStatus, Skill, WorkItem, WorkItemStatus
from casework.routing.port import RoutedItem, get_router
from casework.routing.queries import actor_for_agent
from casework.routing.router import NewWorkItem

SYSTEM = Actor.system("phone")
_T = TypeVar("_T")

# Calls answered but never reported ended (a lost hang-up) are closed after this long, so
# no agent stays busy for ever.
_LOST_JOB = "phone.lost_call"


@dataclass(frozen=True)
class CallAnswer:
    """What the telephone system is told: where the call goes now."""

    call: Call
    agent: Agent | None
    extension: str
    warning: str = ""
    is_repeat: bool = False

    @property
    def _waits(self) -> bool:
        return self.call.is_open and self.call.outcome != CallOutcome.CALLBACK

    def to_json(self) -> dict[str, Any]:
        call = self.call
        return {
            "call": call.pk,
            "call_id": call.provider_call_id,
            "state": call.state,
            "action": "connect" if self.extension else ("queue" if self._waits else "none"),
            "agent": (
                {
                    "id": self.agent.pk,
                    "username": self.agent.user.username,
                    "name": self.agent.display_name,
                    "extension": self.extension,
                }
                if self.agent is not None
                else None
            ),
            "customer": (
                {"id": call.customer_id, "customer_number": call.customer.customer_number}
                if call.customer is not None
                else None
            ),
            "warning": self.warning,
        }


# --- Events from the telephone system ---


def receive(connection: CtiConnection, event: CtiEvent) -> dict[str, Any]:
    """Apply one event, once; returns the answer (the first answer again for a repeated
    delivery). A concurrent twin (the same delivery, or another event of a call both would
    start) loses on a unique key and, once more, finds what the winner wrote.

    An event that needs a work item (a new call, a transfer) commits the call with its
    request first, and asks the router in a second transaction that records the answer
    (docs/adr/0013): whatever fails in that one, the request stays with the call, and the
    call's next event (or the same again) asks once more."""
    for _round in range(_MAX_ROUNDS):
        received = _in_transaction(_receive, connection, event)
        if not isinstance(received, _Pending):
            return received
        try:
            answered = _in_transaction(_route, connection, event, received)
        except RouterUnavailable:
            return _waits_for_the_router(received.call_id)
        if answered is not None:
            return answered
        # That was a request an earlier event left behind; now this event.
    raise RuntimeError(f"call {event.call_id}: still asking the router after {_MAX_ROUNDS} rounds")


# An event asks the router at most twice: for a request a crash left behind, then its own.
_MAX_ROUNDS = 3


def _waits_for_the_router(call_id: int) -> dict[str, Any]:
    """The router process does not answer: the telephone system keeps the caller in its own
    queue. The event is not recorded and the request stays with the call, so the event
    delivered again, the call's next event or a poll asks the router once more."""
    call = Call.objects.select_related("customer").get(pk=call_id)
    warning = _("the router does not answer; the call waits in the telephone system's queue")
    return CallAnswer(call, None, "", warning=warning).to_json()


def _in_transaction(apply: Callable[..., _T], *args: Any) -> _T:
    """`apply` in a recording transaction; once more after losing a race on a unique key."""
    try:
        with recording_transaction():
            return apply(*args)
    except IntegrityError:
        with recording_transaction():
            return apply(*args)


def _receive(connection: CtiConnection, event: CtiEvent) -> dict[str, Any] | _Pending:
    earlier = _earlier_answer(connection, event)
    if earlier is not None:
        return earlier
    now = clock.now()
    at = min(event.occurred_at or now, now)
    call = _lock_call(connection, event.call_id)
    if call is not None and call.route_request is not None:
        # Left unanswered by a crash: asked for first; this event's own is answered with it.
        request = _RouteRequest.from_json(call.route_request)
        return _Pending(
            call.pk,
            request,
            first_submission=False,
            answers_event=request.made_by == event.dedupe_key,
            result=request.result,
            received_at=now,
            occurred_at=at,
        )
    outcome: tuple[CallAnswer | None, str] | _Pending
    if call is None and event.kind == EventKind.OTHER:
        outcome = None, _("ignored: an event of an unknown call that changes nothing")
    elif call is None:
        call = _start_call(connection, event, at=at)
        outcome = _after_start(call, event, at=at)
    elif event.kind == EventKind.NEW_CALL:
        outcome = _answer(call), _("ignored: the call was already reported")
    else:
        outcome = _apply(call, event, at=at)
    if isinstance(outcome, _Pending):
        return replace(outcome, received_at=now, occurred_at=at)
    answer, result = outcome
    return _record_event(connection, call, event, answer, result, received_at=now, occurred_at=at)


def _earlier_answer(connection: CtiConnection, event: CtiEvent) -> dict[str, Any] | None:
    """The answer to an earlier delivery of the same event, if it was recorded."""
    earlier = CallEvent.objects.filter(connection=connection, dedupe_key=event.dedupe_key).first()
    return {**earlier.response, "repeated": True} if earlier is not None else None


def _record_event(
    connection: CtiConnection,
    call: Call | None,
    event: CtiEvent,
    answer: CallAnswer | None,
    result: str,
    *,
    received_at: datetime,
    occurred_at: datetime,
) -> dict[str, Any]:
    """The event is applied: kept with its answer, which a repeated delivery gets again."""
    response = answer.to_json() if answer is not None else {"call": None, "action": "none"}
    if answer is not None and answer.warning:
        result = f"{result} — {answer.warning}"
    CallEvent.objects.create(
        connection=connection,
        call=call,
        dedupe_key=event.dedupe_key,
        kind=event.kind.value,
        received_at=received_at,
        occurred_at=occurred_at,
        payload=dict(event.raw),
        result=str(result)[:300],
        response=response,
    )
    return response


# --- Asking the router for a call's work item ---


@dataclass(frozen=True)
class _RouteRequest:
    """The work item a call asks of the router, and what its answer sets off: the call
    rings (`ring`), continues a transferred call as a call of its own (`continue`), or is
    handed on (`transfer`)."""

    item: NewWorkItem
    then: str = "ring"
    fallback_queue: str = ""  # where the item goes when no routing rule covers it
    from_agent_id: int | None = None
    to_agent_id: int | None = None
    to_queue: str = ""
    original_call_id: int | None = None
    made_by: str = ""  # the dedupe key of the event that asks
    result: str = ""  # what that event did, for its record

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item.to_json(),
            "then": self.then,
            "fallback_queue": self.fallback_queue,
            "from_agent_id": self.from_agent_id,
            "to_agent_id": self.to_agent_id,
            "to_queue": self.to_queue,
            "original_call_id": self.original_call_id,
            "made_by": self.made_by,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _RouteRequest:
        return cls(**{**data, "item": NewWorkItem.from_json(data["item"])})


@dataclass(frozen=True)
class _Pending:
    """A request committed with the call, to be put to the router: one just made (never
    submitted yet), or one a crash left behind; its answer is the event's when the event
    made it (`answers_event`)."""

    call_id: int
    request: _RouteRequest
    first_submission: bool
    answers_event: bool
    result: str = ""
    received_at: datetime | None = None
    occurred_at: datetime | None = None


def _request_route(call: Call, event: CtiEvent, request: _RouteRequest, result: str) -> _Pending:
    request = replace(request, made_by=event.dedupe_key, result=result)
    call.route_request = request.to_json()
    call.save(update_fields=["route_request"])
    return _Pending(call.pk, request, first_submission=True, answers_event=True, result=result)


def _submit(request: _RouteRequest, *, first: bool) -> RoutedItem:
    """The router's answer. A request submitted before (its answer lost) may have reached
    it: the router looks it up by its external id and gives the same item."""
    new = request.item if first else replace(request.item, first_submission=False)
    try:
        return get_router().submit(new, actor=SYSTEM)
    except NoRoute:
        if not request.fallback_queue:
            raise
        return get_router().submit(replace(new, queue=request.fallback_queue), actor=SYSTEM)


def _route(
    connection: CtiConnection, event: CtiEvent | None, pending: _Pending
) -> dict[str, Any] | None:
    """The router's answer to the call's request, and the call follows its work item
    (unless a concurrent event of the call did so first); the event that made the request
    is recorded with its answer."""
    call = (
        Call.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=pending.call_id)
    )
    if call.route_request is not None:
        item = _submit(pending.request, first=pending.first_submission)
        call.route_request = None
        _follow(call, item)
        _after_routed(call, pending.request, item)
    if not pending.answers_event or event is None:
        return None
    # A twin delivery may have found the request, asked, and recorded the event meanwhile.
    earlier = _earlier_answer(connection, event)
    if earlier is not None:
        return earlier
    assert pending.received_at is not None and pending.occurred_at is not None
    return _record_event(
        connection,
        call,
        event,
        _answer(call),
        pending.result,
        received_at=pending.received_at,
        occurred_at=pending.occurred_at,
    )


def _after_routed(call: Call, request: _RouteRequest, item: RoutedItem) -> None:
    if request.then == "continue":
        assert request.original_call_id is not None
        original = Call.objects.select_for_update(of=("self",)).get(pk=request.original_call_id)
        original.transfers += 1
        original.save(update_fields=["transfers"])
        _record_transfer(original, original.agent_id, request.to_agent_id, None, item, to_call=call)
    elif request.then == "transfer":
        _record_transfer(
            call, request.from_agent_id, request.to_agent_id, request.to_queue or None, item
        )
        if request.from_agent_id is not None:
            realtime.publish(
                realtime.agent_group(request.from_agent_id), {"kind": "call", "call": call.pk}
            )
        _signal(call)


def current_answer(connection: CtiConnection, call_id: str) -> dict[str, Any]:
    """Where the call is now (a telephone system that queued it asks again). A request
    whose answer a crash lost is put to the router first."""
    call = (
        Call.objects.filter(connection=connection, provider_call_id=call_id)
        .select_related("customer")
        .first()
    )
    if call is None:
        raise CallNotFound(_("no call with id “%(call_id)s”") % {"call_id": call_id})
    if call.route_request is not None:
        request = _RouteRequest.from_json(call.route_request)
        pending = _Pending(call.pk, request, first_submission=False, answers_event=False)
        _in_transaction(_route, connection, None, pending)
        call.refresh_from_db()
    return _answer(call).to_json()


def _lock_call(connection: CtiConnection, call_id: str) -> Call | None:
    return (
        Call.objects.select_for_update(of=("self",))
        .filter(connection=connection, provider_call_id=call_id)
        .select_related("customer")
        .first()
    )


def _start_call(connection: CtiConnection, event: CtiEvent, *, at: datetime) -> Call:
    """A call we learn of: from its new-call event, or from a later one when the first was
    lost (then it starts in the state that event describes)."""
    original = _original_call(connection, event)
    if original is not None:
        # A transfer reported as a call of its own: the same caller, on the same case.
        number, withheld = original.remote_number, original.is_withheld
        direction, customer, hotline = original.direction, original.customer, original.hotline
    else:
        number, withheld = _remote_number(event.remote)
        direction = event.direction or CallDirection.INBOUND
        customer = _identify(number)
        hotline = _hotline(connection, event.local) if direction == CallDirection.INBOUND else None
    call = Call.objects.create(
        connection=connection,
        provider_call_id=event.call_id,
        direction=direction,
        remote_raw=event.remote,
        remote_number=number,
        is_withheld=withheld,
        local_number=event.local,
        hotline=hotline,
        customer=customer,
        case_id=original.case_id if original else None,
        transferred_from=original,
        state=CallState.WAITING,
        started_at=at,
    )
    # The history is written in the callers' language, whoever's request reported the call.
    with translation.override(connection.language):
        label = format_phone_national(number) if number else _("withheld number")
        inbound = direction == CallDirection.INBOUND
        if number:
            subject = (_("Call from %(number)s") if inbound else _("Call to %(number)s")) % {
                "number": label
            }
        else:
            subject = _("Call with withheld number") if inbound else _("Call to an unknown number")
    call.interaction = record_interaction(
        NewInteraction(
            channel="phone",
            direction=direction,
            occurred_at=at,
            customer_id=customer.pk if customer else None,
            case_id=call.case_id,
            sender=label,
            subject=subject,
            payload={"call_id": call.pk},
            external_id=f"{connection.code}:{event.call_id}",
        ),
        actor=SYSTEM,
    )
    call.save(update_fields=["interaction"])
    record(
        "call.started",
        actor=SYSTEM,
        object_type="call",
        object_id=call.pk,
        payload={
            "direction": direction,
            "customer_id": call.customer_id,
            "hotline": hotline.number if hotline else None,
            "withheld": withheld,
        },
    )
    return call


def _original_call(connection: CtiConnection, event: CtiEvent) -> Call | None:
    if not event.original_call_id or event.kind != EventKind.NEW_CALL:
        return None
    return (
        Call.objects.filter(connection=connection, provider_call_id=event.original_call_id)
        .select_related("customer", "hotline", "work_item__queue")
        .first()
    )


def _after_start(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str] | _Pending:
    if event.kind == EventKind.NEW_CALL and call.transferred_from is not None:
        return _continue_transferred(call, event)
    if event.kind == EventKind.NEW_CALL and call.direction == CallDirection.INBOUND:
        return _request_route(call, event, _new_call_request(call, event), _("applied"))
    if event.kind == EventKind.NEW_CALL:
        return _start_outbound(call, event)
    # The new-call event never came: the call is known from here on, unrouted.
    outcome = _apply(call, event, at=at)
    if isinstance(outcome, _Pending):
        return outcome
    answer, result = outcome
    return answer, _("applied (the new-call event was not received): %(result)s") % {
        "result": result
    }


def _new_call_request(call: Call, event: CtiEvent) -> _RouteRequest:
    hotline = call.hotline
    language = event.language or (hotline.language if hotline else "") or call.connection.language
    desired: dict[str, int] = {}
    topic = event.topic or (hotline.topic.code if hotline and hotline.topic else "")
    if topic and Skill.objects.filter(code=topic).exists():
        desired[topic] = 6
    language_skill = f"lang-{language}"
    required = {language_skill: 1} if Skill.objects.filter(code=language_skill).exists() else {}
    new = NewWorkItem(
        channel="phone",
        external_id=f"call-{call.pk}",
        first_submission=True,  # the call was stored just now
        customer_id=call.customer_id,
        language=language,
        priority=hotline.priority if hotline else None,
        queue=hotline.queue.code if hotline and hotline.queue else None,
        required_skills=required,
        desired_skills=desired,
    )
    return _RouteRequest(new, fallback_queue=call.connection.default_queue.code)


def _continue_transferred(call: Call, event: CtiEvent) -> _Pending:
    """The new call of a transfer: routed in the first call's queue to the colleague the
    telephone system names, else to whoever is best — not back to the agent who handed
    it on, as the customer's last agent would be."""
    original = call.transferred_from
    assert original is not None
    target = _agent_for(event.agent) if event.agent else None
    first_item = original.work_item
    new = NewWorkItem(
        channel="phone",
        external_id=f"call-{call.pk}",
        first_submission=True,  # the transfer's new call was stored just now
        customer_id=call.customer_id,
        case_id=call.case_id,
        language=first_item.language if first_item else call.connection.language,
        queue=(
            first_item.queue.code if first_item is not None else call.connection.default_queue.code
        ),
        preferred_agent_id=target.pk if target else None,
        affinity=False,
    )
    request = _RouteRequest(
        new,
        then="continue",
        to_agent_id=target.pk if target else None,
        original_call_id=original.pk,
    )
    return _request_route(
        call,
        event,
        request,
        _("applied: the call continues call %(call)s") % {"call": original.provider_call_id[:40]},
    )


def _follow(call: Call, item: RoutedItem) -> None:
    """The call rings where the router offered its work item, or waits."""
    call.work_item_id = item.id
    if item.status == WorkItemStatus.OFFERED:
        call.state, call.agent_id = CallState.RINGING, item.agent_id
    else:
        call.state, call.agent_id = CallState.WAITING, None
    call.save(update_fields=["work_item", "state", "agent", "route_request"])


def _start_outbound(call: Call, event: CtiEvent) -> tuple[CallAnswer, str]:
    """An agent dials a customer. A callback they hold for that customer is this call's
    work: the call goes on its case, and the callback ends when the customer was reached."""
    agent = _agent_for(event.agent)
    warning = ""
    if agent is None:
        warning = _unknown_agent(event.agent)
    call.agent = agent
    call.state = CallState.RINGING
    if agent is not None and call.customer_id:
        callback = (
            WorkItem.objects.filter(
                channel="callback",
                status=WorkItemStatus.ACCEPTED,
                agent=agent,
                customer_id=call.customer_id,
            )
            .order_by("accepted_at")
            .first()
        )
        if callback is not None:
            call.work_item = callback
            if callback.case_id:
                _link_interaction(call, callback.case_id)
    call.save(update_fields=["agent", "state", "work_item", "case"])
    if agent is not None:
        Interaction.objects.filter(pk=call.interaction_id).update(agent=agent)
        _signal(call)
    return CallAnswer(call, agent, _extension(agent), warning=warning), _("applied")


def _apply(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str] | _Pending:
    if not call.is_open:
        return _answer(call), _("ignored: the call has already ended")
    if event.kind == EventKind.RINGING:
        return _answer(call), _("applied")
    if event.kind == EventKind.ANSWERED:
        return _answered(call, event, at=at)
    if event.kind in (EventKind.HOLD, EventKind.RESUMED):
        return _hold(call, event, at=at)
    if event.kind == EventKind.TRANSFERRED:
        return _transferred(call, event, at=at)
    if event.kind == EventKind.HANGUP:
        return _hangup(call, event, at=at)
    if event.kind == EventKind.CALLBACK_REQUESTED:
        return _callback_requested(call, event)
    return _answer(call), _("ignored: this event changes nothing")


def _callback_requested(call: Call, event: CtiEvent) -> tuple[CallAnswer, str]:
    """The caller chose a callback instead of waiting: the call leaves the router, a
    callback request (their number or the one they keyed in, in the window they chose)
    takes its place."""
    if call.state == CallState.ANSWERED:
        return _answer(call), _("ignored: the call is already in conversation")
    number = event.callback_number or call.remote_number
    if not number:
        raise InvalidInput(
            _("the caller's number is withheld: the phone menu must send callback_number"),
            field="callback_number",
        )
    hotline = call.hotline
    callbacks.request_callback(
        callbacks.NewCallback(
            number=number,
            source=CallbackSource.PHONE_MENU,
            queue=(hotline.queue.code if hotline and hotline.queue else "")
            or call.connection.default_queue.code,
            window_start=event.window_start,
            window_end=event.window_end,
            customer_id=call.customer_id,
            language=(hotline.language if hotline else "") or call.connection.language,
            call_id=call.pk,
        ),
        actor=SYSTEM,
    )
    _withdraw_waiting(call, reason="callback requested")
    call.outcome, call.state, call.agent = CallOutcome.CALLBACK, CallState.WAITING, None
    call.save(update_fields=["outcome", "state", "agent"])
    return CallAnswer(call, None, ""), _("applied")


def _answered(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str]:
    if call.state == CallState.ANSWERED:
        return _answer(call), _("ignored: the call was already answered")
    if call.direction == CallDirection.OUTBOUND or not event.agent:
        agent = call.agent or _current_target(call)
    else:
        agent = _agent_for(event.agent)
    warning = "" if agent is not None or not event.agent else _unknown_agent(event.agent)
    item = _phone_item(call)
    if item is not None and item.is_waiting:
        if agent is None:
            # Answered by a line we do not know: the call is no longer the router's.
            get_router().withdraw(item.id, actor=SYSTEM, reason="answered_elsewhere")
        else:
            _take(item, agent)
    first_answer = call.answered_at is None
    call.state, call.agent = CallState.ANSWERED, agent
    call.outcome = CallOutcome.ANSWERED
    if first_answer:
        call.answered_at = at
    call.save(update_fields=["state", "agent", "outcome", "answered_at"])
    if agent is not None:
        Interaction.objects.filter(pk=call.interaction_id).update(agent=agent)
    jobs.enqueue(
        _LOST_JOB,
        {"call_id": call.pk},
        at=clock.now() + timedelta(seconds=settings.CASEWORK_PHONE_MAX_CALL_SECONDS),
        key=f"{_LOST_JOB}:{call.pk}:{call.transfers}",
    )
    record(
        "call.answered",
        actor=SYSTEM,
        object_type="call",
        object_id=call.pk,
        payload={
            "agent_id": agent.pk if agent else None,
            "waited_seconds": call.wait_seconds if first_answer else None,
            "after_transfer": not first_answer,
        },
    )
    _signal(call)
    return CallAnswer(call, agent, _extension(agent), warning=warning), _("applied")


def _take(item: RoutedItem, agent: Agent) -> None:
    """The agent picked the call up: their offer is accepted; a call they took although it
    was offered to someone else (or to nobody yet) is theirs all the same."""
    actor = actor_for_agent(agent)
    if item.status == WorkItemStatus.OFFERED and item.agent_id == agent.pk:
        try:
            get_router().accept(item.id, actor=actor)
            return
        except OfferExpired:
            pass  # rang out a moment ago and moved on; the agent has the caller anyway
    get_router().take(item.id, agent_id=agent.pk, actor=actor)


def _hold(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str]:
    if call.state != CallState.ANSWERED:
        return _answer(call), _("ignored: only a call in conversation can be held")
    if event.kind == EventKind.HOLD:
        if call.held_since is not None:
            return _answer(call), _("ignored: the call is already on hold")
        call.held_since = at
    else:
        if call.held_since is None:
            return _answer(call), _("ignored: the call was not on hold")
        _close_hold(call, at)
    call.save(update_fields=["held_since", "hold_seconds"])
    _signal(call)
    return _answer(call), _("applied")


def _transferred(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str] | _Pending:
    """The agent hands the caller on, to a colleague's line or a queue. The call, its
    interaction and its history stay; the router gets a new work item (the colleague first)."""
    if call.state != CallState.ANSWERED:
        return _answer(call), _("ignored: only a call in conversation can be transferred")
    target = _agent_for(event.agent) if event.agent else None
    if event.agent and target is None:
        raise InvalidInput(_unknown_agent(event.agent), field="agent")
    _close_hold(call, at)
    previous = call.agent
    _finish_work_item(call)
    call.transfers += 1
    call.save(update_fields=["transfers", "held_since", "hold_seconds"])
    new = NewWorkItem(
        channel="phone",
        external_id=f"call-{call.pk}-t{call.transfers}",
        first_submission=True,  # the count of transfers went up under the call's lock
        customer_id=call.customer_id,
        case_id=call.case_id,
        language=call.connection.language,
        queue=event.to_queue or call.connection.default_queue.code,
        preferred_agent_id=target.pk if target else None,
    )
    request = _RouteRequest(
        new,
        then="transfer",
        from_agent_id=previous.pk if previous else None,
        to_agent_id=target.pk if target else None,
        to_queue=event.to_queue or "",
    )
    return _request_route(call, event, request, _("applied"))


def _record_transfer(
    call: Call,
    from_agent_id: int | None,
    to_agent_id: int | None,
    to_queue: str | None,
    item: RoutedItem,
    *,
    to_call: Call | None = None,
) -> None:
    """`call.transferred` on the call handed on; `to_call` when the telephone system
    reported the transfer as a call of its own."""
    payload: dict[str, Any] = {
        "from_agent_id": from_agent_id,
        "to_agent_id": to_agent_id,
        "to_queue": to_queue or None,
        "work_item_id": item.id,
    }
    if to_call is not None:
        payload["to_call_id"] = to_call.pk
    record("call.transferred", actor=SYSTEM, object_type="call", object_id=call.pk, payload=payload)


def _hangup(call: Call, event: CtiEvent, *, at: datetime) -> tuple[CallAnswer, str]:
    _close_hold(call, at)
    if call.state == CallState.ANSWERED:
        call.outcome = CallOutcome.ANSWERED
        _finish_work_item(call)
    elif call.outcome == CallOutcome.CALLBACK:
        pass  # the caller hangs up after choosing the callback: nothing left to withdraw
    else:
        call.outcome = (
            CallOutcome.ABANDONED
            if call.direction == CallDirection.INBOUND
            else CallOutcome.NOT_REACHED
        )
        if _withdraw_waiting(call, reason=event.cause or "hangup") == WorkItemStatus.ACCEPTED:
            assert call.work_item_id is not None  # taken at the desk, never connected
            get_router().complete(call.work_item_id, actor=SYSTEM)
    _end(call, at=at, cause=event.cause)
    return _answer(call), _("applied")


def _end(call: Call, *, at: datetime, cause: str) -> None:
    """The call is over (hung up, or closed as lost): its times go on the interaction."""
    call.state, call.ended_at, call.hangup_cause = CallState.ENDED, at, cause[:40]
    call.save(
        update_fields=["state", "ended_at", "hangup_cause", "outcome", "held_since", "hold_seconds"]
    )
    jobs.cancel(f"{_LOST_JOB}:{call.pk}:{call.transfers}")
    _save_times(call)
    record(
        "call.ended",
        actor=SYSTEM,
        object_type="call",
        object_id=call.pk,
        payload={
            "outcome": call.outcome,
            "cause": call.hangup_cause,
            "agent_id": call.agent_id,
            "waited_seconds": call.wait_seconds,
            "talk_seconds": call.talk_seconds,
            "hold_seconds": call.hold_seconds,
        },
    )
    _signal(call)


def _withdraw_waiting(call: Call, *, reason: str) -> str | None:
    """Take the call's phone work item from the router if nobody has it yet; returns the
    item's status as it was (None: no phone item)."""
    item = _phone_item(call)
    if item is None:
        return None
    if item.is_waiting:
        get_router().withdraw(item.id, actor=SYSTEM, reason=reason)
    return item.status


def _finish_work_item(call: Call) -> None:
    """The agent's part of the call is over: their work item ends (a phone item starts
    after-call work; a callback is done once the customer was reached)."""
    if call.work_item_id is None or call.agent_id is None:
        return
    item = get_router().item(call.work_item_id)
    if item is None:
        return
    if item.status == WorkItemStatus.ACCEPTED and item.agent_id == call.agent_id:
        get_router().complete(item.id, actor=SYSTEM)
        if item.channel == "callback":
            callbacks.completed(item.id)


def _close_hold(call: Call, at: datetime) -> None:
    if call.held_since is not None:
        call.hold_seconds += max(0, round((at - call.held_since).total_seconds()))
        call.held_since = None


def end_lost_call(call_id: int) -> None:
    """The job for a call answered hours ago and never reported ended: end it, so the
    agent is free again; the call says its end was not reported."""
    with recording_transaction():
        call = Call.objects.select_for_update(of=("self",)).filter(pk=call_id).first()
        if call is None or call.state != CallState.ANSWERED:
            return
        now = clock.now()
        _close_hold(call, now)
        _finish_work_item(call)
        call.outcome = CallOutcome.LOST
        _end(call, at=now, cause="not_reported")


def _save_times(call: Call) -> None:
    """The interaction keeps the call's times for the customer's history and the figures."""
    Interaction.objects.filter(pk=call.interaction_id).update(
        payload={
            "call_id": call.pk,
            "started_at": call.started_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "ended_at": call.ended_at.isoformat() if call.ended_at else None,
            "wait_seconds": call.wait_seconds,
            "talk_seconds": call.talk_seconds,
            "hold_seconds": call.hold_seconds,
            "after_work_seconds": call.after_work_seconds,
            "outcome": call.outcome,
            "cause": call.hangup_cause,
            "transfers": call.transfers,
            "wrap_up": call.wrap_up.code if call.wrap_up else None,
        }
    )


# --- Who and where ---


def _remote_number(raw: str) -> tuple[str, bool]:
    """E.164, or "" and whether the number was withheld (a number we cannot read is kept
    as sent, unrecognised, but not called withheld)."""
    text = raw.strip()
    if text.lower() in WITHHELD_NUMBERS:
        return "", True
    # Telephone systems often send international numbers without "+" (sipgate: 4930…).
    candidates = [text]
    if text.isdigit() and not text.startswith("0"):
        candidates.insert(0, f"+{text}")
    for candidate in candidates:
        try:
            return normalise_phone(candidate), False
        except InvalidIdentifier:
            continue
    return "", False


def _identify(number: str) -> Customer | None:
    if not number:
        return None
    result = identify([Identifier(IdentifierKind.PHONE, number)])
    return result.customer if result.outcome == MatchOutcome.MATCHED else None


def _hotline(connection: CtiConnection, local: str) -> Hotline | None:
    number, _withheld = _remote_number(local)
    if not number:
        return None
    return (
        Hotline.objects.filter(connection=connection, number=number)
        .select_related("queue", "topic")
        .first()
    )


def _agent_for(reference: str) -> Agent | None:
    """The agent behind a telephone system's name for a line: the extension configured for
    them, else their user name or e-mail address."""
    reference = reference.strip()
    if not reference:
        return None
    line = AgentLine.objects.filter(extension=reference).select_related("agent__user").first()
    if line is not None:
        return line.agent
    return (
        Agent.objects.filter(user__username=reference).select_related("user").first()
        or Agent.objects.filter(user__email__iexact=reference).select_related("user").first()
    )


def _extension(agent: Agent | None) -> str:
    if agent is None:
        return ""
    line = AgentLine.objects.filter(agent=agent).values_list("extension", flat=True).first()
    return line or agent.user.username


def _unknown_agent(reference: str) -> str:
    return _("no agent has the line “%(line)s” (set it under the agents' phone lines)") % {
        "line": reference
    }


def _current_target(call: Call) -> Agent | None:
    """Where a call not yet answered rings now: its work item moves on when an offer is
    declined or rings out, the call learns of it here."""
    if call.state not in (CallState.WAITING, CallState.RINGING):
        return call.agent if call.state == CallState.ANSWERED else None
    item = _phone_item(call)
    if item is None:
        return call.agent
    if item.status in (WorkItemStatus.OFFERED, WorkItemStatus.ACCEPTED) and item.agent_id:
        return Agent.objects.select_related("user").get(pk=item.agent_id)
    return None


def _phone_item(call: Call) -> RoutedItem | None:
    """The call's own work item as the router knows it now (None: none, or a callback's)."""
    if call.work_item_id is None:
        return None
    item = get_router().item(call.work_item_id)
    return item if item is not None and item.channel == "phone" else None


def _answer(call: Call) -> CallAnswer:
    if not call.is_open:
        return CallAnswer(call, None, "")
    agent = _current_target(call)
    if call.state in (CallState.WAITING, CallState.RINGING):
        call.state = CallState.RINGING if agent is not None else CallState.WAITING
        call.agent = agent
    return CallAnswer(call, agent, _extension(agent))


def _signal(call: Call) -> None:
    """The agent's desk refreshes its phone panel (the screen pop, the call, the wrap-up)."""
    if call.agent_id:
        realtime.publish(
            realtime.agent_group(call.agent_id),
            {"kind": "call", "call": call.pk, "state": call.state},
        )


# --- What agents do with a call ---


def _agents_call(call_id: int, actor: Actor) -> Call:
    call = (
        Call.objects.select_for_update(of=("self",))
        .filter(pk=call_id)
        .select_related("customer", "interaction", "connection")
        .first()
    )
    if call is None:
        raise CallNotFound(_("call %(id)s not found") % {"id": call_id})
    if actor.kind != ActorKind.AGENT or (call.agent_id != actor.id and not actor.is_supervisor):
        raise CallNotYours(_("this call is not yours"))
    return call


def _link_interaction(call: Call, case_id: int) -> None:
    call.case_id = case_id
    Interaction.objects.filter(pk=call.interaction_id).update(case_id=case_id)
    Case.objects.filter(pk=case_id).update(last_activity_at=clock.now())


@recording_transaction()
def link_to_case(call_id: int, case_id: int, *, actor: Actor) -> Call:
    """The agent files the call under one of the customer's cases."""
    call = _agents_call(call_id, actor)
    case = Case.objects.filter(pk=case_id).first()
    if case is None or (call.customer_id and case.customer_id != call.customer_id):
        raise InvalidInput(_("choose one of the caller's cases"), field="case")
    if call.customer_id is None and case.customer_id:
        _set_customer(call, case.customer)
    _link_interaction(call, case.pk)
    call.save(update_fields=["case"])
    record(
        "call.case_linked",
        actor=actor,
        object_type="call",
        object_id=call.pk,
        payload={"case_id": case.pk, "interaction_id": call.interaction_id},
    )
    _signal(call)
    return call


@recording_transaction()
def open_case_for_call(call_id: int, *, case_type: CaseType, subject: str, actor: Actor) -> Case:
    """A new concern: a case for the caller, owned by the agent, with this call on it."""
    call = _agents_call(call_id, actor)
    case = open_case(
        NewCase(
            case_type=case_type,
            subject=subject,
            customer_id=call.customer_id,
            owner_id=actor.id,
        ),
        actor=actor,
    )
    _link_interaction(call, case.pk)
    call.save(update_fields=["case"])
    record(
        "call.case_linked",
        actor=actor,
        object_type="call",
        object_id=call.pk,
        payload={"case_id": case.pk, "interaction_id": call.interaction_id, "new_case": True},
    )
    _signal(call)
    return case


@recording_transaction()
def register_caller(
    call_id: int, *, first_name: str, last_name: str, email: str = "", actor: Actor
) -> Customer:
    """A new caller: a customer with the number they called from (unless withheld)."""
    call = _agents_call(call_id, actor)
    if call.customer_id is not None:
        raise InvalidInput(_("the caller is already known"), field="call")
    if not (first_name.strip() or last_name.strip()):
        raise InvalidInput(_("a new caller needs a name"), field="last_name")
    identifiers = []
    if call.remote_number:
        identifiers.append(customers.RawIdentifier("phone", call.remote_number))
    if email.strip():
        identifiers.append(customers.RawIdentifier("email", email.strip()))
    customer = customers.create_customer(
        customers.NewCustomer(
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            preferred_channel="phone",
            identifiers=identifiers,
        ),
        actor=actor,
    )
    _set_customer(call, customer)
    record(
        "call.caller_registered",
        actor=actor,
        object_type="call",
        object_id=call.pk,
        payload={"customer_id": customer.pk},
    )
    _signal(call)
    return customer


def _set_customer(call: Call, customer: Customer | None) -> None:
    call.customer = customer
    call.save(update_fields=["customer"])
    customer_id = customer.pk if customer else None
    Interaction.objects.filter(pk=call.interaction_id).update(customer_id=customer_id)
    if call.work_item_id and customer_id is not None:
        get_router().amend(call.work_item_id, customer_id=customer_id)


@recording_transaction()
def wrap_up(call_id: int, *, code: str, note: str, actor: Actor) -> Call:
    """After the call: what it was about and a note (on the case's history); the agent's
    after-call work ends now rather than when its timer runs out."""
    call = _agents_call(call_id, actor)
    if call.is_open:
        raise CallStillRunning(_("the call is still running; wrap it up when it has ended"))
    if call.wrapped_at is not None:
        raise InvalidInput(_("this call is already wrapped up"), field="call")
    wrap_up_code = WrapUpCode.objects.filter(code=code, is_active=True).first()
    if wrap_up_code is None:
        raise InvalidInput(_("choose what the call was about"), field="code")
    call.wrap_up, call.note, call.wrapped_at = wrap_up_code, note.strip(), clock.now()
    call.save(update_fields=["wrap_up", "note", "wrapped_at"])
    Interaction.objects.filter(pk=call.interaction_id).update(text=call.note)
    _save_times(call)
    record(
        "call.wrapped_up",
        actor=actor,
        object_type="call",
        object_id=call.pk,
        payload={
            "code": wrap_up_code.code,
            "case_id": call.case_id,
            "after_work_seconds": call.after_work_seconds,
        },
    )
    if actor.id is not None and actor.id == call.agent_id:
        status = AgentStatus.objects.filter(agent_id=actor.id).first()
        if status is not None and status.presence_id == AFTER_CALL_WORK:
            get_router().end_after_work(actor.id)
    _signal(call)
    return call

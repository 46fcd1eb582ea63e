"""Callback requests with a time window, from the phone menu, the portal or an agent.

At the window's start the request becomes routed work (a `callback` work item: the
customer's last agent first, as any contact); the agent who takes it dials, and the outbound
call that reaches the customer completes it (`services`). When the window ends and nobody
has taken it, it becomes urgent — it is never dropped. One open request per number: asking
again returns the open one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from casework.channels.phone.models import (
    CallbackRequest,
    CallbackSource,
    CallbackStatus,
)
from casework.customers.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise_phone,
)
from casework.customers.matching import MatchOutcome, identify
from casework.events.services import record, recording_transaction
from casework.kernel import clock, jobs
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound
from casework.routing.errors import RouterUnavailable
from casework.routing.models import Queue, Skill
from casework.routing.port import get_router
from casework.routing.router import NewWorkItem

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("callbacks")
DUE_JOB = "phone.callback_due"
ENDED_JOB = "phone.callback_window_ended"
# How far ahead a callback may be booked, and the shortest window an agent can keep.
MAX_DAYS_AHEAD = 14
MIN_WINDOW = timedelta(minutes=15)
OPEN_STATUSES = (CallbackStatus.SCHEDULED, CallbackStatus.ROUTED)


@dataclass(frozen=True)
class NewCallback:
    number: str
    source: str
    queue: str
    # Default: from now, for CASEWORK_CALLBACK_WINDOW_MINUTES.
    window_start: datetime | None = None
    window_end: datetime | None = None
    customer_id: int | None = None
    case_id: int | None = None
    language: str = "de"
    note: str = ""
    call_id: int | None = None


def request_callback(new: NewCallback, *, actor: Actor) -> CallbackRequest:
    """Store the request (or return the number's open one); one whose window has begun is
    routed at once, in a transaction after the one that stored it (docs/adr/0013): if the
    routing fails, the request is kept, and its due job routes it."""
    callback = _store_request(new, actor=actor)
    if callback.status == CallbackStatus.SCHEDULED and callback.window_start <= clock.now():
        try:
            route_due(callback.pk)
        except RouterUnavailable:
            logger.warning("callback %s waits for the router process", callback.pk)
        callback.refresh_from_db()
    return callback


@recording_transaction()
def _store_request(new: NewCallback, *, actor: Actor) -> CallbackRequest:
    try:
        number = normalise_phone(new.number)
    except InvalidIdentifier as error:
        raise InvalidInput(error.message, field="number") from None
    if new.source not in CallbackSource.values:
        raise InvalidInput(
            _("unknown source “%(source)s”") % {"source": new.source}, field="source"
        )
    queue = Queue.objects.filter(code=new.queue).first()
    if queue is None:
        raise InvalidInput(_("unknown queue “%(queue)s”") % {"queue": new.queue}, field="queue")
    now = clock.now()
    start = max(new.window_start or now, now)
    end = new.window_end or start + timedelta(minutes=settings.CASEWORK_CALLBACK_WINDOW_MINUTES)
    _check_window(start, end, now)
    open_one = (
        CallbackRequest.objects.select_for_update()
        .filter(number=number, status__in=OPEN_STATUSES)
        .first()
    )
    if open_one is not None:
        return open_one
    customer_id = new.customer_id
    if customer_id is None:
        found = identify([Identifier(IdentifierKind.PHONE, number)])
        customer_id = found.customer.pk if found.outcome == MatchOutcome.MATCHED else None
    callback = CallbackRequest.objects.create(
        customer_id=customer_id,
        case_id=new.case_id,
        number=number,
        source=new.source,
        window_start=start,
        window_end=end,
        note=new.note.strip()[:500],
        queue=queue,
        language=new.language,
        call_id=new.call_id,
        created_at=now,
    )
    record(
        "callback.requested",
        actor=actor,
        object_type="callback",
        object_id=callback.pk,
        payload={
            "customer_id": customer_id,
            "source": new.source,
            "window_start": start,
            "window_end": end,
            "call_id": new.call_id,
        },
    )
    jobs.enqueue(ENDED_JOB, {"callback_id": callback.pk}, at=end, key=f"{ENDED_JOB}:{callback.pk}")
    # Also when the window has begun: then the job routes a request whose routing failed.
    jobs.enqueue(DUE_JOB, {"callback_id": callback.pk}, at=start, key=f"{DUE_JOB}:{callback.pk}")
    return callback


def _check_window(start: datetime, end: datetime, now: datetime) -> None:
    if end - start < MIN_WINDOW:
        raise InvalidInput(
            _("the time window must be at least %(minutes)s minutes long")
            % {"minutes": int(MIN_WINDOW.total_seconds() // 60)},
            field="window_end",
        )
    if start > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(
            _("a callback can be booked at most %(days)s days ahead") % {"days": MAX_DAYS_AHEAD},
            field="window_start",
        )


def _route(callback: CallbackRequest) -> None:
    language_skill = f"lang-{callback.language}"
    required = {language_skill: 1} if Skill.objects.filter(code=language_skill).exists() else {}
    item = get_router().submit(
        NewWorkItem(
            channel="callback",
            external_id=f"callback-{callback.pk}",
            customer_id=callback.customer_id,
            case_id=callback.case_id,
            language=callback.language,
            queue=callback.queue.code,
            required_skills=required,
        ),
        actor=SYSTEM,
    )
    callback.status, callback.work_item_id = CallbackStatus.ROUTED, item.id
    callback.save(update_fields=["status", "work_item"])
    record(
        "callback.routed",
        actor=SYSTEM,
        object_type="callback",
        object_id=callback.pk,
        payload={"work_item_id": item.id},
    )


@recording_transaction()
def route_due(callback_id: int) -> None:
    """The window has begun: the request becomes routed work (unless cancelled meanwhile)."""
    callback = _lock(callback_id)
    if callback is not None and callback.status == CallbackStatus.SCHEDULED:
        _route(callback)


@recording_transaction()
def window_ended(callback_id: int) -> None:
    """Nobody has taken it in the window: it becomes urgent, so the next free agent gets
    it first."""
    callback = _lock(callback_id)
    if callback is None or callback.status not in OPEN_STATUSES or callback.work_item_id is None:
        return
    item = get_router().amend(callback.work_item_id, min_priority=4)
    if not item.is_waiting:
        return
    record(
        "callback.window_missed",
        actor=SYSTEM,
        object_type="callback",
        object_id=callback.pk,
        payload={"work_item_id": item.id, "window_end": callback.window_end},
    )


def completed(work_item_id: int) -> None:
    """In the caller's transaction: the callback's work item is done (the customer was
    reached)."""
    callback = CallbackRequest.objects.filter(work_item_id=work_item_id).first()
    if callback is None or callback.status == CallbackStatus.DONE:
        return
    callback.status = CallbackStatus.DONE
    callback.save(update_fields=["status"])
    record(
        "callback.completed",
        actor=SYSTEM,
        object_type="callback",
        object_id=callback.pk,
        payload={"work_item_id": work_item_id},
    )


@recording_transaction()
def cancel_callback(callback_id: int, *, actor: Actor, customer_id: int | None = None) -> None:
    """The customer (in the portal: only their own) or an agent calls it off."""
    callback = _lock(callback_id)
    if callback is None or (customer_id is not None and callback.customer_id != customer_id):
        raise NotFound(_("callback request %(id)s not found") % {"id": callback_id})
    if callback.status not in OPEN_STATUSES:
        raise Conflict(_("this callback request is no longer open"))
    if callback.work_item_id:
        item = get_router().item(callback.work_item_id)
        if item is not None and item.is_waiting:
            get_router().withdraw(item.id, actor=actor, reason="callback cancelled")
    jobs.cancel(f"{DUE_JOB}:{callback.pk}", f"{ENDED_JOB}:{callback.pk}")
    callback.status = CallbackStatus.CANCELLED
    callback.save(update_fields=["status"])
    record("callback.cancelled", actor=actor, object_type="callback", object_id=callback.pk)


def open_callbacks_of(customer_id: int) -> list[CallbackRequest]:
    return list(
        CallbackRequest.objects.filter(customer_id=customer_id, status__in=OPEN_STATUSES).order_by(
            "window_start"
        )
    )


def _lock(callback_id: int) -> CallbackRequest | None:
    return (
        CallbackRequest.objects.select_for_update(of=("self",))
        .filter(pk=callback_id)
        .select_related("queue")
        .first()
    )

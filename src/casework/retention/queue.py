"""Responses accepted now and received in batches (ADR 18).

`accept()` checks what `receive()` would refuse before reading anything, stores the
response with one insert and returns: a partner's API call with `Prefer: respond-async`
answers 202 at once. `casework worker` takes the due entries a batch at a time
(`run_once`) and receives them with `responses.receive_batch()` in one transaction: the
checks read once per batch, one commit, one append to the event chain. Each entry then
points to the `Response` it became, or keeps the error that refused it (an order number
used before with other content, say). On PostgreSQL two workers take different entries
(`FOR UPDATE SKIP LOCKED`).

A batch that fails as a whole (a database error, a bug) is rolled back and its entries are
tried one by one, so one bad entry cannot hold up the others; an entry that fails alone is
tried again later with backoff and refused after the last attempt. Nothing accepted is
lost: the entry keeps everything the response came with.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from casework.cases.services import references_reserved
from casework.events.services import recording_transaction
from casework.interactions.files import StoredFile
from casework.kernel import clock, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.background import rests_at_most
from casework.kernel.errors import Conflict, DomainError, error_body
from casework.retention import responses
from casework.retention.models import PendingResponse, PendingStatus, ResponseProblem
from casework.retention.responses import IncomingResponse, Received

logger = logging.getLogger(__name__)

BATCH_SIZE = responses.BATCH_CHUNK  # one chunk of `receive_batch`: one transaction

# How soon an idle worker notices a response: the customer's web page waits for its
# decision (CASEWORK_RETENTION_PAGE_WAIT_SECONDS), whatever the rest of the idle jobs.
IDLE_LOOK_SECONDS = 0.1


def max_attempts() -> int:
    return int(getattr(settings, "CASEWORK_RETENTION_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(10.0 * 2 ** max(attempts - 1, 0), 3600.0))


@dataclass(frozen=True)
class Accepted:
    entry: PendingResponse | None  # waiting to be received (stored now or before)
    earlier: Received | None = None  # a partner order received before: what it became


def accept(incoming: IncomingResponse, *, actor: Actor) -> Accepted:
    """Store the response to be received by the worker; refuses at once what `receive()`
    would refuse before reading anything. A partner order received before is answered
    with what it became, one still waiting with its entry (`Conflict`, as `receive()`
    answers it, when either had other content)."""
    responses.check_input(incoming)
    if incoming.partner is not None:
        earlier = responses.earlier_answer(incoming)
        if earlier is not None:
            return Accepted(None, earlier)
        waiting = _waiting_order(incoming)
        if waiting is not None:
            return Accepted(waiting)
    return Accepted(_store(incoming, actor))


def _waiting_order(incoming: IncomingResponse) -> PendingResponse | None:
    assert incoming.partner is not None
    waiting = (
        PendingResponse.objects.select_related("customer", "partner")
        .filter(
            partner=incoming.partner,
            partner_reference=incoming.partner_reference,
            is_sandbox=incoming.is_sandbox,
            status=PendingStatus.QUEUED,
        )
        .order_by("pk")
        .first()
    )
    if waiting is None:
        return None
    stored, _actor = _unpacked(waiting)
    if responses.fingerprint(stored) != responses.fingerprint(incoming):
        raise Conflict(
            _(
                "order %(order)s is waiting to be placed (received %(when)s) with other "
                "content; a changed order needs a new order number"
            )
            % {"order": waiting.partner_reference, "when": waiting.received_at.isoformat()},
            field="order",
        )
    return waiting


def _store(incoming: IncomingResponse, actor: Actor) -> PendingResponse:
    now = clock.now()
    return PendingResponse.objects.create(
        channel=incoming.channel,
        received_at=incoming.received_at or now,
        code=incoming.code[:200],
        choice=incoming.choice,
        customer=incoming.customer,
        offer_code=incoming.offer_code[:50],
        partner=incoming.partner,
        partner_reference=incoming.partner_reference,
        idempotency_key=incoming.idempotency_key,
        is_sandbox=incoming.is_sandbox,
        remarks=incoming.remarks,
        problem=incoming.problem.value if incoming.problem else "",
        details=incoming.details,
        # The files are in the file store already; the entry names them.
        attachments=[dataclasses.asdict(stored) for stored in incoming.attachments],
        agent_user_id=incoming.agent_user_id,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label,
        next_attempt_at=now,
    )


def wait_until_received(entry: PendingResponse, *, seconds: float) -> PendingResponse:
    """The entry once the worker has received (or refused) it, or as it stands after
    `seconds`: the response page shows the outcome when the worker is quick."""
    deadline = time.monotonic() + seconds
    while True:
        current = PendingResponse.objects.select_related("response__case").get(pk=entry.pk)
        if current.status != PendingStatus.QUEUED or time.monotonic() >= deadline:
            return current
        time.sleep(0.05)


@rests_at_most(IDLE_LOOK_SECONDS)
def run_once(*, limit: int = BATCH_SIZE) -> int:
    """Receive one batch of due entries; returns how many were finished."""
    due = len(_due().values_list("pk", flat=True)[:limit])
    if not due:
        return 0  # idle passes open no write transaction
    taken: list[int] = []
    try:
        # The case references counted before, the chain head taken at the end, as
        # `receive_batch` does: two workers' batches run side by side (ADR 18).
        with references_reserved(due), recording_transaction(head_last=True):
            entries = _claim_due(limit)
            taken.extend(entry.pk for entry in entries)
            _finish(entries, responses.receive_batch([_unpacked(entry) for entry in entries]))
        return len(taken)
    except Exception:
        if not taken:
            raise  # nothing was taken: the worker logs it and tries again next pass
        logger.exception("receiving a batch of %d pending responses failed", len(taken))
    return sum(_run_alone(entry_id) for entry_id in taken)


def _due():  # noqa: ANN202
    return PendingResponse.objects.filter(
        status=PendingStatus.QUEUED, next_attempt_at__lte=clock.now()
    )


def _claim_due(limit: int, *, entry_id: int | None = None) -> list[PendingResponse]:
    found = _due().select_related("customer", "partner").order_by("next_attempt_at", "pk")
    if entry_id is not None:
        found = found.filter(pk=entry_id)
    if connection.features.has_select_for_update_skip_locked:
        # Only the entries: the customers are locked by the checks, in their own order.
        found = found.select_for_update(skip_locked=True, of=("self",))
    return list(found[:limit])


def _unpacked(entry: PendingResponse) -> tuple[IncomingResponse, Actor]:
    incoming = IncomingResponse(
        channel=entry.channel,  # type: ignore[arg-type]
        code=entry.code,
        choice=entry.choice,
        customer=entry.customer,
        offer_code=entry.offer_code,
        partner=entry.partner,
        partner_reference=entry.partner_reference,
        idempotency_key=entry.idempotency_key,
        is_sandbox=entry.is_sandbox,
        remarks=entry.remarks,
        problem=ResponseProblem(entry.problem) if entry.problem else None,
        details=entry.details,
        attachments=tuple(StoredFile(**stored) for stored in entry.attachments),
        received_at=entry.received_at,
        agent_user_id=entry.agent_user_id,
    )
    actor = Actor(kind=ActorKind(entry.actor_kind), id=entry.actor_id, label=entry.actor_label)
    return incoming, actor


def _finish(entries: list[PendingResponse], results: list[Received | DomainError]) -> None:
    now = clock.now()
    for entry, result in zip(entries, results, strict=True):
        entry.attempts += 1
        entry.processed_at = now
        if isinstance(result, DomainError):
            entry.status = PendingStatus.REFUSED
            entry.error = error_body(result)
        else:
            entry.status = PendingStatus.RECEIVED
            entry.response = result.response
    # One statement with each entry's values (`bulk_update`'s CASE per field and entry
    # cost more to build than the rest of the batch's writes).
    sql.update_many(
        PendingResponse, ("attempts", "processed_at", "status", "error", "response"), entries
    )


def _run_alone(entry_id: int) -> int:
    try:
        with references_reserved(1), recording_transaction(head_last=True):
            entries = _claim_due(1, entry_id=entry_id)
            _finish(entries, responses.receive_batch([_unpacked(entry) for entry in entries]))
        return len(entries)
    except Exception as error:
        logger.exception("receiving pending response %s failed", entry_id)
        _count_failed_attempt(entry_id, error)
        return 1


def _count_failed_attempt(entry_id: int, error: Exception) -> None:
    with recording_transaction():
        entry = PendingResponse.objects.filter(pk=entry_id, status=PendingStatus.QUEUED).first()
        if entry is None:
            return  # another worker finished it meanwhile
        now = clock.now()
        entry.attempts += 1
        if entry.attempts >= max_attempts():
            entry.status = PendingStatus.REFUSED
            entry.processed_at = now
            entry.error = {
                "code": "processing_failed",
                "detail": _("the response could not be processed (%(attempts)s attempts)")
                % {"attempts": entry.attempts},
                "errors": [],
            }
        else:
            entry.next_attempt_at = now + retry_delay(entry.attempts)
        # The cause goes to the log only: database errors can quote other customers' data.
        entry.save(update_fields=["attempts", "status", "processed_at", "next_attempt_at", "error"])
    logger.info("pending response %s: attempt %s failed (%s)", entry_id, entry.attempts, error)

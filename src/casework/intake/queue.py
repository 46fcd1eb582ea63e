"""Queued intake: accept a message now, ingest it in batches moments later.

`enqueue()` checks a message as far as it can be checked before ingestion and stores it with
one INSERT, together with what could be worked out already (`services.Prepared`: the
sender's identifiers normalised, the classifiers' answers — the server processes do that
side by side, so the ingesting writer need not); a repeated (channel, external_id) finds
the entry stored first. `run_once()` — a job of `casework worker` — takes due entries in
batches and runs `ingest_batch()`.

Where the queue shares the main database (PostgreSQL), taking, ingesting and marking each
entry ingested or failed are ONE transaction: a crash rolls back the ingestion and the
taking together, so no message is lost and none is ingested twice. Entries are taken with
`SELECT … FOR UPDATE SKIP LOCKED`, so parallel workers take different entries.

On SQLite the queue is a file of its own (`intake.dbrouter`, docs/adr/0014): a worker
leases a batch in a short transaction of the queue's, ingests it in the main file, then
marks it in another short one. A crash between the ingestion and the marking leaves the
entries leased; taken again after the lease, their ingestion finds the stored interactions
(intake is idempotent per external id) and nothing is stored twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils.translation import gettext as _

from casework.events.services import record, recording_transaction
from casework.intake.dbrouter import queue_database, queue_is_separate
from casework.intake.messages import InboundMessage, message_from_json, message_to_json
from casework.intake.models import QueuedMessage, QueuedStatus
from casework.intake.services import (
    INTAKE_ACTOR,
    IntakeResult,
    Prepared,
    check_message,
    ingest_batch,
)
from casework.kernel import clock, sql
from casework.kernel.background import rests_at_most
from casework.kernel.errors import NotFound, error_body

logger = logging.getLogger(__name__)

# Messages per transaction. Larger batches spread the commit and the chain append over more
# messages, but hold the write lock longer (on SQLite every other writer waits meanwhile).
BATCH_SIZE = 200

# SQLite has one writer at a time, and a writer that waits for the lock only looks again
# every 100 ms or so (the busy handler backs off). After a full batch the worker leaves the
# lock to writers that wait (they say so: casework.kernel.db.sqlite3) for up to this long.
SQLITE_PAUSE_SECONDS = 0.15

# How soon an idle worker notices a newly queued message (one indexed look at the queue,
# ten times a second), whatever the rest of its idle jobs.
IDLE_LOOK_SECONDS = 0.1

# With the queue in a database of its own, how long a taken entry is left to its worker
# before another may take it (the batch's ingestion takes well under a second).
LEASE = timedelta(minutes=5)


def max_attempts() -> int:
    return int(getattr(settings, "CASEWORK_INTAKE_MAX_ATTEMPTS", 8))


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at one hour."""
    base = float(getattr(settings, "CASEWORK_INTAKE_RETRY_SECONDS", 10))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600.0))


@dataclass(frozen=True)
class Accepted:
    entry: QueuedMessage
    # False when the (channel, external_id) was queued before: `entry` is that first one.
    is_new: bool


def enqueue(message: InboundMessage) -> Accepted:
    """Accept `message` for ingestion by the worker. Raises the DomainError that ingestion
    would raise for anything that can be checked now, so nothing is accepted that cannot
    be processed. Outside a transaction, the one INSERT commits at once."""
    prepared = check_message(message)
    now = clock.now()
    entry = QueuedMessage(
        channel=message.channel,
        external_id=message.external_id,
        message=message_to_json(message),
        prepared=prepared.to_json(),
        received_at=message.received_at,
        status=QueuedStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
    )
    alias = queue_database()
    try:
        if connections[alias].in_atomic_block:
            # A savepoint: a refused insert must not spoil the caller's transaction.
            with transaction.atomic(using=alias):
                sql.insert(entry)
        else:
            sql.insert(entry)
    except IntegrityError:
        existing = QueuedMessage.objects.filter(
            channel=message.channel, external_id=message.external_id
        ).first()
        if existing is None:
            raise
        return Accepted(existing, is_new=False)
    return Accepted(entry, is_new=True)


def get_entry(entry_id: int) -> QueuedMessage:
    entry = QueuedMessage.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("queued message %(id)s does not exist") % {"id": entry_id}, field="id")
    return entry


@rests_at_most(IDLE_LOOK_SECONDS)
def run_once(*, limit: int = BATCH_SIZE) -> int:
    """Ingest one batch of due queued messages; returns how many were finished (ingested,
    failed, or postponed after an error). A batch that fails as a whole (a database error,
    a bug) is rolled back and its messages are tried one by one, so one bad message cannot
    hold up the others; a message that fails alone is tried again later, with backoff."""
    if not _any_due():
        return 0  # idle passes open no write transaction (on SQLite: no write lock)
    claimed: list[int] = []
    try:
        take = _lease_due if queue_is_separate() else _claim_due
        _ingest_taken(lambda: take(limit), claimed)
        if len(claimed) >= limit:
            _step_aside()
        return len(claimed)
    except Exception:
        if not claimed:
            raise  # nothing was taken: the worker logs it and tries again next pass
        logger.exception("ingesting a batch of %d queued messages failed", len(claimed))
    return sum(_run_alone(entry_id) for entry_id in claimed)


def _run_alone(entry_id: int) -> int:
    try:
        taken: list[int] = []
        # With a queue of its own the entry is leased to this worker already: taken
        # whatever its next attempt says.
        leased = queue_is_separate()
        _ingest_taken(lambda: _claim_due(1, entry_id=entry_id, leased=leased), taken)
        return len(taken)
    except Exception as error:
        logger.exception("ingesting queued message %s failed", entry_id)
        _postpone(entry_id, error)
        return 1


_DUE = f"status = '{QueuedStatus.QUEUED.value}' AND next_attempt_at <= %s"


def _any_due() -> bool:
    return QueuedMessage.objects.filter(
        status=QueuedStatus.QUEUED, next_attempt_at__lte=clock.now()
    ).exists()


def _claim_due(
    limit: int, *, entry_id: int | None = None, leased: bool = False
) -> list[QueuedMessage]:
    """Due entries (`leased`: also those leased, not yet due), taken for the current
    transaction: locked and skipped by other workers on PostgreSQL; on SQLite the
    transaction holds the write lock already."""
    db = connections[queue_database()]
    table = QueuedMessage._meta.db_table
    query = f"SELECT {{columns}} FROM {table} t WHERE "
    params: list[Any] = []
    if leased:
        query += f"t.status = '{QueuedStatus.QUEUED.value}'"
    else:
        query += f"t.{_DUE}"
        params.append(_prepared_time(clock.now(), db))
    if entry_id is not None:
        query += " AND t.id = %s"
        params.append(entry_id)
    query += " ORDER BY t.next_attempt_at, t.id LIMIT %s"
    params.append(limit)
    if db.features.has_select_for_update_skip_locked:
        query += " FOR UPDATE SKIP LOCKED"
    return sql.select(QueuedMessage, query, params, only=_TAKEN_FIELDS)


# What ingesting a taken entry reads of it: its times, attempts and outcome fields are
# neither read nor converted (a tenth of the worker's time when they were).
_TAKEN_FIELDS = ("id", "channel", "external_id", "message", "prepared")


def _ingest_taken(take: Callable[[], list[QueuedMessage]], taken: list[int]) -> None:
    """Take entries with `take` and ingest them. Where the queue shares the main database,
    taking, ingesting and marking are one transaction; with a queue of its own, `take`
    runs on its own (a lease), then the ingestion, then the marking in the queue's own
    transaction. `taken` gets the entries' ids as soon as they are taken, for the
    caller's handling of an error in the ingestion."""
    if not queue_is_separate():
        with recording_transaction():
            entries = take()
            taken.extend(entry.pk for entry in entries)
            _mark(_ingest_entries(entries))
        return
    entries = take()
    taken.extend(entry.pk for entry in entries)
    if not entries:
        return  # another worker took them first
    with recording_transaction():
        rows = _ingest_entries(entries)
    _mark(rows)


def _lease_due(limit: int) -> list[QueuedMessage]:
    """With the queue in a database of its own: take due entries in a short transaction of
    the queue's, and make them due again only after `LEASE`. A worker that dies before
    marking them leaves them to be taken again then; ingesting them once more finds the
    interactions stored the first time (intake is idempotent per external id)."""
    alias = queue_database()
    db = connections[alias]
    with transaction.atomic(using=alias):
        entries = _claim_due(limit)
        if entries:
            marks = ", ".join(["%s"] * len(entries))
            with db.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {QueuedMessage._meta.db_table} SET next_attempt_at = %s "
                    f"WHERE id IN ({marks})",
                    [_prepared_time(clock.now() + LEASE, db), *(entry.pk for entry in entries)],
                )
    return entries


def _prepared_time(value: Any, db: Any) -> Any:
    return QueuedMessage._meta.get_field("next_attempt_at").get_db_prep_value(value, db)


def _ingest_entries(entries: Sequence[QueuedMessage]) -> list[tuple[Any, ...]]:
    """Ingest the entries in the current transaction; the rows `_mark()` stores."""
    if not entries:
        return []
    results = ingest_batch(
        [message_from_json(entry.message) for entry in entries],
        [Prepared.from_json(entry.prepared) for entry in entries],
    )
    rows = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, IntakeResult):
            rows.append(
                (
                    QueuedStatus.INGESTED.value,
                    result.case.pk,
                    result.case.reference,
                    result.interaction.pk,
                    result.is_duplicate,
                    {},
                    entry.pk,
                )
            )
        else:
            # A DomainError does not go away by trying again: the entry keeps the message
            # and the reason, for an administrator or the sender to act on.
            body = error_body(result)
            rows.append((QueuedStatus.FAILED.value, None, "", None, False, body, entry.pk))
            _record_failure(entry, body)
    return rows


_MARK = (
    f"UPDATE {QueuedMessage._meta.db_table} SET status = %s, attempts = attempts + 1, "
    "processed_at = %s, case_id = %s, case_reference = %s, interaction_id = %s, "
    "is_duplicate = %s, error = %s WHERE id = %s"
)


def _mark(rows: list[tuple[Any, ...]]) -> None:
    """One statement for the whole batch (executemany), not an ORM save per entry; in the
    ingesting transaction when the queue shares its database, else in one of its own."""
    if not rows:
        return
    alias = queue_database()
    db = connections[alias]
    when = QueuedMessage._meta.get_field("processed_at").get_db_prep_save(clock.now(), db)
    error_field = QueuedMessage._meta.get_field("error")
    params = [
        (
            status,
            when,
            case_id,
            reference,
            interaction_id,
            duplicate,
            error_field.get_db_prep_save(error, db),
            pk,
        )
        for status, case_id, reference, interaction_id, duplicate, error, pk in rows
    ]
    with transaction.atomic(using=alias), db.cursor() as cursor:
        cursor.executemany(_MARK, params)


def _step_aside() -> float:
    """After a full batch on SQLite, leave the main file's write lock to writers waiting
    for it, until they are in: a worker taking batch after batch would shut them out until
    the queue is empty. Nobody waiting, no pause. Returns the seconds waited."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite":
        return 0.0
    if not hasattr(db, "waiting_writers"):
        # A backend whose writers do not say when they wait: pause for them anyway.
        time.sleep(SQLITE_PAUSE_SECONDS)
        return SQLITE_PAUSE_SECONDS
    if db.waiting_writers is None:
        return 0.0  # a database in memory: no other process can wait for it
    return db.waiting_writers.let_in(SQLITE_PAUSE_SECONDS)


def _record_failure(entry: QueuedMessage, body: dict[str, Any]) -> None:
    # Integrations that queued the message learn of the failure through their webhooks.
    record(
        "intake.message_failed",
        actor=INTAKE_ACTOR,
        object_type="queued_message",
        object_id=entry.pk,
        payload={
            "channel": entry.channel,
            "external_id": entry.external_id,
            "error_code": body["code"],
        },
    )


def _postpone(entry_id: int, error: Exception) -> None:
    """Count the failed attempt; try again after a delay, or give up after the last."""
    # A queue of its own needs its own transaction; in the main database the recording
    # transaction is the one.
    own = transaction.atomic(using=queue_database()) if queue_is_separate() else nullcontext()
    with recording_transaction(), own:
        _count_failed_attempt(entry_id, error)


def _count_failed_attempt(entry_id: int, error: Exception) -> None:
    entry = QueuedMessage.objects.filter(pk=entry_id, status=QueuedStatus.QUEUED).first()
    if entry is None:
        return  # another worker finished it meanwhile
    now = clock.now()
    entry.attempts += 1
    if entry.attempts >= max_attempts():
        entry.status = QueuedStatus.FAILED
        entry.processed_at = now
        entry.error = {
            "code": "processing_failed",
            "detail": _("the message could not be processed (%(attempts)s attempts)")
            % {"attempts": entry.attempts},
            "errors": [],
        }
        _record_failure(entry, entry.error)
    else:
        entry.next_attempt_at = now + retry_delay(entry.attempts)
        # The cause goes to the log only: database errors can quote other customers' data.
        entry.error = {
            "code": "retrying",
            "detail": _("processing failed for a moment; the message will be tried again"),
            "errors": [],
        }
    entry.save(update_fields=["attempts", "status", "processed_at", "next_attempt_at", "error"])
    logger.info("queued message %s: attempt %s failed (%s)", entry_id, entry.attempts, error)

"""Transactional background jobs: enqueued in the transaction of the change that causes
them (no lost or phantom work after a crash), run by `casework worker`, retried with
backoff, and run at most once to completion.

A handler's writes and the job's completion commit together, so a worker dying halfway
leaves the job queued, and its lease (kernel.leases) lets another worker take it later.
Handlers register by kind in the `jobs` module of their package, which the worker imports:

    @handles("cases.sla_due")
    def sla_due(payload: dict[str, Any]) -> None: ...

A handler that raises is retried (backoff 10 s, 40 s, 90 s, …); after `max_attempts` the
job fails and the handler's `on_failure` hook (if any) runs in a transaction of its own —
the case engine turns that into an exception task for a person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import autodiscover_modules

from casework.kernel import clock, sql
from casework.kernel.models import Job, JobStatus

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
FailureHook = Callable[[dict[str, Any], str], None]

# A job is leased for this long; a worker that died holding it delays it by this much.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class _Registration:
    handler: Handler
    on_failure: FailureHook | None
    # False: the handler opens its own transactions (it calls another system and must not
    # hold the database's write lock meanwhile); it must tolerate running twice.
    transactional: bool = True


_registry: dict[str, _Registration] = {}


def handles(
    kind: str, *, on_failure: FailureHook | None = None, transactional: bool = True
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _registry[kind] = _Registration(handler, on_failure, transactional)
        return handler

    return register


def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
    key: str | None = None,
    max_attempts: int = 5,
) -> Job:
    """Schedule work; must run inside the transaction of the change that causes it. With a
    `key`, a job already enqueued under it (queued or finished) is returned instead."""
    if not connection.in_atomic_block:
        raise RuntimeError("enqueue() must run inside the transaction of its change")
    job = Job(
        kind=kind,
        payload=payload or {},
        key=key,
        max_attempts=max_attempts,
        next_attempt_at=at or clock.now(),
    )
    if key is None:
        job.save()
        return job
    # INSERT … ON CONFLICT DO NOTHING: a job scheduled under this key before (by this change,
    # an earlier one, or a concurrent one) stays the only one.
    if sql.insert_if_absent(job):
        return job
    return Job.objects.get(key=key)


def enqueue_all(jobs: Sequence[Job]) -> None:
    """`enqueue()` for several new jobs (unsaved `Job`s with kind, payload, key, due time)
    with one statement. A job whose key was enqueued before is left out, as with
    `enqueue()`; the callers need no job back."""
    if not connection.in_atomic_block:
        raise RuntimeError("enqueue() must run inside the transaction of its change")
    if jobs:
        statement, params = sql.insert_rows_statement(jobs)
        sql.execute_with_arrays(f"{statement} ON CONFLICT DO NOTHING", params)


def cancel(*keys: str) -> int:
    """Cancel queued jobs by their keys (timers that are no longer needed). In the caller's
    transaction. Returns how many were cancelled."""
    finished_at = Job._meta.get_field("finished_at").get_db_prep_save(clock.now(), connection)
    return sql.execute(
        _CANCEL.format(keys=", ".join(["%s"] * len(keys))),
        [JobStatus.CANCELLED.value, finished_at, *keys, JobStatus.QUEUED.value],
    )


# Timers are cancelled on hot paths (every accepted offer, every resolved case's clocks):
# one statement, no ORM compiling.
_CANCEL = (
    'UPDATE kernel_job SET status = %s, finished_at = %s WHERE "key" IN ({keys}) AND status = %s'
)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=10 * attempts * attempts)


def run_due(limit: int = 50) -> int:
    """Run the jobs whose time has come (the worker's pass). Returns how many ran."""
    _discover_handlers()
    leased = _lease_due(limit)
    for job_id, kind in leased:
        _run_one(job_id, kind)
    return len(leased)


def _lease_due(limit: int) -> list[tuple[int, str]]:
    """`leases.lease_due()` for jobs, in lean SQL: the worker asks every few milliseconds.
    The attempt is counted and the next try moved past the lease before a job runs.
    Returns (id, kind) of each leased job, the longest due first."""
    now = clock.now()
    due_params = [JobStatus.QUEUED.value, _NEXT_ATTEMPT_AT.get_db_prep_save(now, connection)]
    lease_until = _NEXT_ATTEMPT_AT.get_db_prep_save(now + LEASE, connection)
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: one statement, one round trip; rows other workers hold are skipped.
        rows = sql.fetch_all(_LEASE_DUE, [*due_params, limit, lease_until])
        return [(job_id, kind) for job_id, kind, _due in sorted(rows, key=lambda r: (r[2], r[0]))]
    # SQLite: a pass that finds nothing due takes no write lock (there is only one).
    if not sql.fetch_one(_ANY_DUE, due_params):
        return []
    with transaction.atomic():
        leased = [(row[0], row[1]) for row in sql.fetch_all(_DUE, [*due_params, limit])]
        if leased:
            sql.execute(
                _LEASE.format(ids=", ".join(["%s"] * len(leased))),
                [lease_until, *(job_id for job_id, _kind in leased)],
            )
    return leased


_NEXT_ATTEMPT_AT = Job._meta.get_field("next_attempt_at")
_ANY_DUE = "SELECT 1 FROM kernel_job WHERE status = %s AND next_attempt_at <= %s LIMIT 1"
_DUE = (
    "SELECT id, kind FROM kernel_job WHERE status = %s AND next_attempt_at <= %s"
    " ORDER BY next_attempt_at, id LIMIT %s"
)
_LEASE = "UPDATE kernel_job SET attempts = attempts + 1, next_attempt_at = %s WHERE id IN ({ids})"
_LEASE_DUE = (
    "WITH due AS (SELECT id, next_attempt_at FROM kernel_job"
    " WHERE status = %s AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE kernel_job j SET attempts = j.attempts + 1, next_attempt_at = %s FROM due"
    " WHERE j.id = due.id RETURNING j.id, j.kind, due.next_attempt_at"
)


_discovered = False


def _discover_handlers() -> None:
    """Import every package's `jobs` module once per process."""
    global _discovered
    if not _discovered:
        autodiscover_modules("jobs")
        _discovered = True


def _run_one(job_id: int, kind: str) -> None:
    error = ""
    try:
        # Imported here: events sits above kernel, and only running jobs needs it.
        from casework.events.services import recording_transaction

        registration = _registry.get(kind)
        if registration is not None and not registration.transactional:
            found = sql.select(Job, _JOB, [job_id])
            if not found or found[0].status != JobStatus.QUEUED:
                return
            job = found[0]
            registration.handler(job.payload)  # commits its own changes
            with recording_transaction():
                Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
                    status=JobStatus.DONE, finished_at=clock.now()
                )
            return
        with recording_transaction():
            locked = sql.select_locked(Job, _JOB, [job_id])
            if not locked or locked[0].status != JobStatus.QUEUED:
                return  # cancelled meanwhile, or finished by a worker whose lease expired
            job = locked[0]
            registration = _registry.get(job.kind)
            if registration is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            registration.handler(job.payload)
            job.status, job.finished_at = JobStatus.DONE, clock.now()
            sql.update(job, ["status", "finished_at"])
            return
    except Exception as exc:  # the handler's writes are rolled back; record and retry
        logger.warning("job %s failed: %s", job_id, exc, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    _record_failure(job_id, error)


_JOB = "SELECT {columns} FROM kernel_job t WHERE t.id = %s"


def _record_failure(job_id: int, error: str) -> None:
    from casework.events.services import recording_transaction

    with recording_transaction():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return
        job.last_error = error[:4000]
        if job.attempts < job.max_attempts:
            job.next_attempt_at = clock.now() + backoff(job.attempts)
            job.save(update_fields=["last_error", "next_attempt_at"])
            return
        job.status, job.finished_at = JobStatus.FAILED, clock.now()
        job.save(update_fields=["last_error", "status", "finished_at"])
    registration = _registry.get(job.kind)
    if registration is None or registration.on_failure is None:
        return
    # Its own transaction: the failure stays recorded even if the hook fails too.
    try:
        with recording_transaction():
            registration.on_failure(job.payload, error)
    except Exception:
        logger.exception("the failure hook of job %s failed", job_id)

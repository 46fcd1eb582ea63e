"""Service-level clocks of a case in business hours: first response and resolution, per
case type and priority (`sla:` in the definition), with a warning and a breach.

Deadlines are jobs keyed by the clock's revision: pausing (waiting for the customer) and
resuming move the deadline by the business time that passed in between and bump the
revision, so a timer of the old schedule finds itself stale and does nothing. Timers are
rows in the database: they survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from casework.cases.calendar import add_business_time, business_time_between
from casework.cases.definitions.specs import CaseTypeDefinition, SlaAction
from casework.cases.models import Case, CaseSla, Priority, SlaKind
from casework.events.services import leaving_out_savepoints, record
from casework.kernel import clock, jobs, sql
from casework.kernel.actors import Actor
from casework.kernel.models import Job

SLA_ACTOR = Actor.system("sla")


def start_clocks(case: Case, definition: CaseTypeDefinition) -> None:
    """Start the case's clocks. Inside `timers_when_still_running()` their timers wait for
    the block's end (the opening of a case whose first steps run at once), and where the
    caller left out the savepoints (`events.services.savepoints_left_out`) their rows
    too: a case resolved straight through writes its clocks once, met."""
    if definition.sla is None:
        return
    from casework.cases.process import PRIORITY_NAMES, business_calendar

    calendar = business_calendar()
    priority = PRIORITY_NAMES.get(case.priority, "normal")
    now = clock.now()
    targets = {
        SlaKind.FIRST_RESPONSE: definition.sla.first_response(priority),
        SlaKind.RESOLUTION: definition.sla.resolution(priority),
    }
    rows = [
        CaseSla(
            case=case,
            kind=kind,
            target_business_seconds=int(target.total_seconds()),
            started_at=now,
            due_at=add_business_time(now, target, calendar),
            warning_at=_warning_at(now, target, definition, calendar),
        )
        for kind, target in targets.items()
    ]
    waiting = _timers_waiting.get()
    if waiting is None or not leaving_out_savepoints():
        # (Held back only where nothing rolls back halfway: a savepoint taking back a
        # write or a meeting would leave the rows in memory claiming it.)
        sql.insert_returning(rows)
    if waiting is None:
        jobs.enqueue_all([timer for row in rows for timer in _timers(row)])
    else:
        waiting.extend(rows)  # unwritten ones written when the block ends, or when read
    for row in rows:
        record(
            "sla.started",
            actor=SLA_ACTOR,
            object_type="case",
            object_id=case.pk,
            payload={"kind": row.kind, "due_at": row.due_at.isoformat()},
        )


# Clocks started in the current `timers_when_still_running()` block, whose timers are not
# scheduled yet.
_timers_waiting: ContextVar[list[CaseSla] | None] = ContextVar("sla_timers_waiting", default=None)


@contextmanager
def timers_when_still_running() -> Iterator[None]:
    """Schedule the timers of clocks started inside only when the block ends, for those
    still running. A case whose process completes in its opening transaction (a
    straight-through order) then neither writes timer jobs nor cancels them. A block
    around many openings writes all their clocks at its end — only where nothing rolls
    back halfway (`events.services.savepoints_left_out`): a case rolled back by its
    savepoint would leave its clocks behind."""
    if _timers_waiting.get() is not None:
        yield  # within a block of a whole batch: its end writes and schedules them all
        return
    waiting: list[CaseSla] = []
    token = _timers_waiting.set(waiting)
    try:
        yield
    finally:
        _timers_waiting.reset(token)
    sql.insert_returning([row for row in waiting if row.pk is None])
    running = [row for row in waiting if row.met_at is None]
    if running:
        jobs.enqueue_all([timer for row in running for timer in _timers(row)])


def _unwritten(case: Case) -> list[CaseSla]:
    """The case's clocks started in this `timers_when_still_running()` block and not yet
    written."""
    waiting = _timers_waiting.get() or ()
    return [row for row in waiting if row.pk is None and row.case_id == case.pk]


def _write_started(case: Case) -> None:
    """Write the case's clocks held back so far: before anything reads them."""
    sql.insert_returning(_unwritten(case))


def _warning_at(now: Any, target: timedelta, definition: CaseTypeDefinition, calendar: Any) -> Any:
    percents = definition.sla.warning_at_percent if definition.sla else ()
    if not percents:
        return None
    return add_business_time(now, target * min(percents) / 100, calendar)


def _schedule(row: CaseSla) -> None:
    jobs.enqueue_all(_timers(row))


def _timers(row: CaseSla) -> list[Job]:
    """The clock's warning (if it has one) and breach, keyed by its revision."""
    timers = []
    if row.warning_at is not None and row.warned_at is None:
        timers.append(_timer(row, "warning", row.warning_at))
    timers.append(_timer(row, "breach", row.due_at))
    return timers


def _timer(row: CaseSla, what: str, at: Any) -> Job:
    return Job(
        kind="cases.sla_due",
        payload={"sla_id": row.pk, "revision": row.revision, "what": what},
        key=f"sla:{row.pk}:{row.revision}:{what}",
        max_attempts=5,
        next_attempt_at=at,
    )


def first_response_given(case: Case) -> None:
    """An agent answered the customer (in the transaction of the answer)."""
    _meet(case, (SlaKind.FIRST_RESPONSE,))


def stop_clocks(case: Case) -> None:
    """The case is resolved: its open clocks are met (or stay breached)."""
    _meet(case, (SlaKind.FIRST_RESPONSE, SlaKind.RESOLUTION))


# Every resolved case meets its clocks: one statement marks them and says which they were.
_MEET = (
    "UPDATE cases_casesla SET met_at = %s, revision = revision + 1"
    " WHERE case_id = %s AND met_at IS NULL AND kind IN ({kinds})"
    " RETURNING id, kind, revision, breached_at"
)


def _meet(case: Case, kinds: tuple[str, ...]) -> None:
    now = clock.now()
    unwritten = _unwritten(case)
    if unwritten:
        # Clocks start when a case opens: this case has no others in the database.
        _meet_in_memory(case, unwritten, kinds, now)
        return
    met = sql.fetch_all(
        _MEET.format(kinds=", ".join(["%s"] * len(kinds))),
        [_MET_AT.get_db_prep_save(now, connection), case.pk, *(str(kind) for kind in kinds)],
    )
    waiting = {row.pk: row for row in _timers_waiting.get() or ()}
    for pk, _kind, _revision, _breached_at in met:
        if pk in waiting:
            waiting[pk].met_at = now  # met before its timers were scheduled: none will be
    # Their timers (scheduled under the revision before) would only find a stale clock.
    stale = [
        f"sla:{pk}:{revision - 1}:{what}"
        for pk, _k, revision, _b in met
        if pk not in waiting
        for what in _TIMERS
    ]
    if stale:
        jobs.cancel(*stale)
    _record_met(case, kinds, {kind: breached_at for _pk, kind, _revision, breached_at in met})


def _meet_in_memory(case: Case, rows: list[CaseSla], kinds: tuple[str, ...], now: datetime) -> None:
    """`_meet` for clocks not written yet: no timers to cancel, none will be scheduled."""
    breached_at_by_kind = {}
    for row in rows:
        if row.met_at is None and row.kind in kinds:
            row.met_at, row.revision = now, row.revision + 1
            breached_at_by_kind[row.kind] = row.breached_at
    _record_met(case, kinds, breached_at_by_kind)


def _record_met(case: Case, kinds: tuple[str, ...], breached_at_by_kind: dict[str, Any]) -> None:
    for kind in kinds:  # in the order asked, as the history shows them
        if kind in breached_at_by_kind:
            record(
                "sla.met",
                actor=SLA_ACTOR,
                object_type="case",
                object_id=case.pk,
                payload={"kind": kind, "in_time": breached_at_by_kind[kind] is None},
            )


_MET_AT = CaseSla._meta.get_field("met_at")
_TIMERS = ("warning", "breach")


def pause_clocks(case: Case) -> None:
    _write_started(case)
    now = clock.now()
    for row in CaseSla.objects.filter(case=case, met_at=None, paused_at=None):
        row.paused_at = now
        row.revision += 1
        row.save(update_fields=["paused_at", "revision"])
        record(
            "sla.paused",
            actor=SLA_ACTOR,
            object_type="case",
            object_id=case.pk,
            payload={"kind": row.kind},
        )


def resume_clocks(case: Case) -> None:
    from casework.cases.process import business_calendar

    _write_started(case)
    calendar = business_calendar()
    now = clock.now()
    for row in CaseSla.objects.filter(case=case, met_at=None).exclude(paused_at=None):
        paused = business_time_between(row.paused_at, now, calendar)
        row.due_at = add_business_time(row.due_at, paused, calendar) if paused else row.due_at
        if row.warning_at is not None and row.warned_at is None:
            row.warning_at = add_business_time(row.warning_at, paused, calendar)
        row.paused_at = None
        row.revision += 1
        row.save(update_fields=["due_at", "warning_at", "paused_at", "revision"])
        _schedule(row)
        record(
            "sla.resumed",
            actor=SLA_ACTOR,
            object_type="case",
            object_id=case.pk,
            payload={"kind": row.kind, "due_at": row.due_at.isoformat()},
        )


@jobs.handles("cases.sla_due")
def sla_due(payload: dict[str, Any]) -> None:
    row = (
        CaseSla.objects.select_for_update()
        .select_related("case")
        .filter(pk=payload["sla_id"])
        .first()
    )
    if row is None or row.revision != payload["revision"] or row.met_at or row.paused_at:
        return  # met, paused or rescheduled since
    from casework.cases.process import definition_of

    case = row.case
    definition = definition_of(case)
    sla = definition.sla
    if sla is None:
        return
    if payload["what"] == "warning":
        row.warned_at = clock.now()
        row.save(update_fields=["warned_at"])
        record(
            "sla.warning",
            actor=SLA_ACTOR,
            object_type="case",
            object_id=case.pk,
            payload={"kind": row.kind, "due_at": row.due_at.isoformat()},
        )
        _act(case, definition, sla.on_warning, row)
        return
    row.breached_at = clock.now()
    row.save(update_fields=["breached_at"])
    record(
        "sla.breached",
        actor=SLA_ACTOR,
        object_type="case",
        object_id=case.pk,
        payload={"kind": row.kind, "due_at": row.due_at.isoformat()},
    )
    _act(case, definition, sla.on_breach, row)


def _act(
    case: Case, definition: CaseTypeDefinition, actions: tuple[SlaAction, ...], row: CaseSla
) -> None:
    from casework.cases.process import notify_event
    from casework.cases.services import CaseChanges, get_queue, update_case

    for action in actions:
        if action == SlaAction.RAISE_PRIORITY and case.priority < Priority.URGENT:
            case = update_case(case, CaseChanges(priority=case.priority + 1), actor=SLA_ACTOR)
        elif action == SlaAction.ESCALATE:
            routing = definition.routing
            target = routing.escalation_queue if routing else None
            if target:
                from casework.routing.models import Queue

                if Queue.objects.filter(code=target).exists():
                    case = update_case(case, CaseChanges(queue=get_queue(target)), actor=SLA_ACTOR)
        elif action == SlaAction.NOTIFY_SUPERVISOR:
            record(
                "sla.supervisor_notified",
                actor=SLA_ACTOR,
                object_type="case",
                object_id=case.pk,
                payload={"kind": row.kind, "queue": case.queue.code},
            )
    notify_event(case, definition, "sla.breached" if row.breached_at else "sla.warning")


def describe(row: CaseSla) -> str:
    """ "8 h 30 min left" / "breached" / "met" / "paused", for the case screen."""
    from casework.cases.process import business_calendar

    if row.met_at:
        return _("met") if row.breached_at is None else _("met late")
    if row.paused_at:
        return _("paused (waiting for the customer)")
    if row.breached_at:
        return _("breached")
    left = business_time_between(clock.now(), row.due_at, business_calendar())
    hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
    return _("%(hours)s h %(minutes)s min left (business hours)") % {
        "hours": hours,
        "minutes": minutes,
    }

"""The only code that changes cases and tasks. Each operation: one transaction, the
change, its events; the web desktop, the API and the intake pipeline call these."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from casework.cases.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    Case,
    CaseSequence,
    CaseStatus,
    CaseType,
    Priority,
    ProcessStatus,
    ResolutionCode,
    ServiceType,
    Task,
    TaskStatus,
)
from casework.customers.models import Customer
from casework.events.services import record, recording_transaction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from casework.routing.models import Agent, Queue
from casework.routing.router import pick_next_task

# Checked for every new case: sets, not the enums' `values` (a new list each time).
_STATUSES = frozenset(CaseStatus.values)
_PRIORITIES = frozenset(Priority.values)
_SERVICE_TYPES = frozenset(ServiceType.values)


class InvalidTransition(Conflict):
    code = "invalid_transition"


def next_case_reference(at: datetime) -> str:
    """CW-<year>-<6 digits>, counted per year. Runs in the caller's transaction, which holds
    the year's row locked until commit, so two cases never share a number."""
    return next_case_references(at, 1)[0]


def next_case_references(at: datetime, count: int) -> list[str]:
    """`count` consecutive references with one counter update (see `next_case_reference`)."""
    year = clock.localtime(at).year
    last = _count_references(year, count)
    return [f"CW-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


# Set by `references_reserved()`: the year, and its numbers not used yet (last first).
_reserved: ContextVar[tuple[int, list[int]] | None] = ContextVar(
    "casework_case_references_reserved", default=None
)


@contextmanager
def references_reserved(count: int) -> Iterator[None]:
    """Within the block new cases take their references from `count` numbers counted in a
    transaction of its own, before the block's: a batch's transaction then holds no lock
    on the year's counter, which every other writer of a case waits for (ADR 18). Numbers
    the block leaves unused are given back when no one has counted further meanwhile, and
    are gaps in the references otherwise. Within a block that reserved already, nothing
    more is reserved."""
    if _reserved.get() is not None or count <= 0:
        yield
        return
    now = clock.now()
    year = clock.localtime(now).year
    with transaction.atomic():
        last = _count_references(year, count)
    numbers = list(range(last, last - count, -1))
    token = _reserved.set((year, numbers))
    try:
        yield
    finally:
        _reserved.reset(token)
        if numbers:  # unused: the top of the range, given back if still the counter's top
            with transaction.atomic():
                sql.execute(_GIVE_BACK, [len(numbers), year, last])


@contextmanager
def references_kept_if_failed() -> Iterator[None]:
    """Within `references_reserved`: when this block fails, and its cases with it, the
    numbers they took are reserved again for the block that tries the work once more."""
    reserved = _reserved.get()
    if reserved is None:
        yield
        return
    numbers = reserved[1]
    before = list(numbers)
    try:
        yield
    except BaseException:
        numbers[:] = before
        raise


_case_keys: ContextVar[list[int] | None] = ContextVar("casework_case_keys", default=None)


@contextmanager
def case_keys_reserved(count: int) -> Iterator[None]:
    """Within the block up to `count` new cases with a process take primary keys reserved
    now, in one statement, and are written once, when their first advance ends, instead
    of inserted and then updated (a batch of retention orders). Keys left unused are gaps,
    as keys may have."""
    keys = sql.reserve_keys(Case, count) if count > 0 else []
    keys.reverse()  # popped from the end: the lowest first
    token = _case_keys.set(keys)
    try:
        yield
    finally:
        _case_keys.reset(token)


def _references_for(at: datetime, count: int) -> list[str]:
    reserved = _reserved.get()
    year = clock.localtime(at).year
    if reserved is None or reserved[0] != year or len(reserved[1]) < count:
        return next_case_references(at, count)
    return [f"CW-{year}-{reserved[1].pop():06d}" for _ in range(count)]


_GIVE_BACK = (
    f"UPDATE {CaseSequence._meta.db_table} SET last_number = last_number - %s "
    "WHERE year = %s AND last_number = %s"
)


def _count_references(year: int, count: int) -> int:
    """Move the year's counter on by `count`; the last number counted."""
    row = sql.fetch_one(_NEXT_REFERENCES, [count, year])
    if row is None:
        CaseSequence.objects.create(year=year, last_number=count)
        return count
    return row[0]


_NEXT_REFERENCES = (
    f"UPDATE {CaseSequence._meta.db_table} SET last_number = last_number + %s "
    "WHERE year = %s RETURNING last_number"
)


@dataclass
class NewCase:
    case_type: CaseType
    subject: str
    customer_id: int | None = None
    priority: int | None = None
    service_type: str | None = None
    queue: Queue | None = None
    owner_id: int | None = None
    parent_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    task_title: str = ""
    # The customer's row when the caller has read it already: a process starting at once
    # reads its context from it instead of reading it again.
    customer: Customer | None = None


def open_case(new: NewCase, *, actor: Actor) -> Case:
    """Must run in a transaction (the intake pipeline's or `open_case_atomically`)."""
    return open_cases([new], actor=actor)[0]


def open_cases(news: Sequence[NewCase], *, actor: Actor) -> list[Case]:
    """`open_case()` for several cases in one go, as one after another would open them,
    with one counter update for their references and one INSERT for the cases and one for
    their first tasks (a batch of the intake). Must run in a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("open_case() must run inside a transaction")
    if not news:
        return []
    from casework.cases import process  # the engine builds on these services

    now = clock.now()
    cases = [_new_case_row(new, now) for new in news]
    definitions = [process.published_definition(new.case_type.code) for new in news]
    keys = _case_keys.get()
    for case, definition in zip(cases, definitions, strict=True):
        if definition is not None:
            process.prepare_start(case, definition, reserved_key=keys.pop() if keys else None)
    for case, reference in zip(cases, _references_for(now, len(cases)), strict=True):
        case.reference = reference
    sql.insert_returning([case for case in cases if case.pk is None])

    tasks = []
    for case, new, definition in zip(cases, news, definitions, strict=True):
        record(
            "case.opened",
            actor=actor,
            object_type="case",
            object_id=case.pk,
            payload={
                "reference": case.reference,
                "case_type": new.case_type.code,
                "service_type": case.service_type,
                "customer_id": new.customer_id,
                "queue": case.queue.code,
                "priority": case.priority,
                "parent_id": new.parent_id,
            },
        )
        if definition is None:
            title = new.task_title or case.subject
            tasks.append(_new_task_row(case, title=title, assignee_id=new.owner_id))
        else:
            # The process decides what work the case needs; it starts in this transaction.
            process.start_process(case, definition, actor=actor)
    sql.insert_returning(tasks)
    for task in tasks:
        _record_task_created(task, actor)
    return cases


def _new_case_row(new: NewCase, now: datetime) -> Case:
    subject = " ".join(new.subject.split())[:300]
    if not subject:
        raise InvalidInput(_("a case needs a subject"), field="subject")
    service_type = new.service_type or new.case_type.service_type
    if service_type not in _SERVICE_TYPES:
        raise InvalidInput(
            _("unknown service type “%(service_type)s”") % {"service_type": service_type},
            field="service_type",
        )
    priority = new.priority or new.case_type.default_priority
    if priority not in _PRIORITIES:
        raise InvalidInput(
            _("unknown priority “%(priority)s”") % {"priority": priority}, field="priority"
        )
    queue = new.queue or new.case_type.default_queue
    case = sql.new_row(
        Case,
        service_type=service_type,
        status=CaseStatus.NEW,
        priority=priority,
        tier=queue.team.tier,
        customer_id=new.customer_id,
        owner_id=new.owner_id,
        subject=subject,
        data=new.data,
        parent_id=new.parent_id,
        last_activity_at=now,
    )
    sql.relate(case, case_type=new.case_type, queue=queue)
    if new.customer is not None and new.customer.pk == new.customer_id:
        sql.relate(case, customer=new.customer)
    return case


@recording_transaction()
def open_case_atomically(new: NewCase, *, actor: Actor) -> Case:
    return open_case(new, actor=actor)


def create_task(
    case: Case,
    *,
    title: str,
    actor: Actor,
    queue: Queue | None = None,
    priority: int | None = None,
    due_at: datetime | None = None,
    assignee_id: int | None = None,
) -> Task:
    task = sql.insert(
        _new_task_row(
            case,
            title=title,
            queue=queue,
            priority=priority,
            due_at=due_at,
            assignee_id=assignee_id,
        )
    )
    _record_task_created(task, actor)
    return task


def _new_task_row(
    case: Case,
    *,
    title: str,
    queue: Queue | None = None,
    priority: int | None = None,
    due_at: datetime | None = None,
    assignee_id: int | None = None,
) -> Task:
    task = sql.new_row(
        Task,
        title=title[:300],
        priority=priority or case.priority,
        due_at=due_at,
        assignee_id=assignee_id,
        status=TaskStatus.IN_PROGRESS if assignee_id else TaskStatus.OPEN,
    )
    return sql.relate(task, case=case, queue=queue or case.queue)


def _record_task_created(task: Task, actor: Actor) -> None:
    record(
        "task.created",
        actor=actor,
        object_type="task",
        object_id=task.pk,
        payload={
            "case_id": task.case_id,
            "queue": task.queue.code,
            "title": task.title,
            "assignee_id": task.assignee_id,
        },
    )


def lock_case(case: Case) -> Case:
    """The case row, locked for the rest of the transaction (one writer per case)."""
    # Only the case's row: its queue and team are shared by every case in them.
    return (
        Case.objects.select_for_update(of=("self",)).select_related("queue__team").get(pk=case.pk)
    )


# Status changes allowed through `update_case`; resolving and reopening have their own
# services because they carry a resolution code or a reason.
_DIRECT_STATUS = {CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING}


@dataclass
class CaseChanges:
    status: str | None = None
    priority: int | None = None
    queue: Queue | None = None
    service_type: str | None = None
    subject: str | None = None


@recording_transaction()
def update_case(case: Case, changes: CaseChanges, *, actor: Actor) -> Case:
    case = lock_case(case)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(name: str, old: Any, new: Any) -> None:
        if old != new:
            before[name], after[name] = old, new

    if changes.status is not None:
        if changes.status not in _STATUSES:
            raise InvalidInput(
                _("unknown status “%(status)s”") % {"status": changes.status}, field="status"
            )
        if changes.status not in _DIRECT_STATUS or case.status not in OPEN_STATUSES:
            raise InvalidTransition(
                _("a case cannot go from %(current)s to %(requested)s this way")
                % {
                    "current": CaseStatus(case.status).label,
                    "requested": CaseStatus(changes.status).label,
                },
                field="status",
            )
        change("status", case.status, changes.status)
        case.status = changes.status
    if changes.priority is not None:
        if changes.priority not in _PRIORITIES:
            raise InvalidInput(
                _("unknown priority “%(priority)s”") % {"priority": changes.priority},
                field="priority",
            )
        change("priority", case.priority, changes.priority)
        case.priority = changes.priority
        # The case's urgency is what its waiting work is ordered by.
        Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES).update(
            priority=changes.priority
        )
    if changes.service_type is not None:
        if changes.service_type not in _SERVICE_TYPES:
            raise InvalidInput(
                _("unknown service type “%(service_type)s”")
                % {"service_type": changes.service_type},
                field="service_type",
            )
        change("service_type", case.service_type, changes.service_type)
        case.service_type = changes.service_type
    if changes.subject is not None:
        subject = " ".join(changes.subject.split())[:300]
        if not subject:
            raise InvalidInput(_("a case needs a subject"), field="subject")
        change("subject", case.subject, subject)
        case.subject = subject
    if changes.queue is not None and changes.queue.pk != case.queue_id:
        change("queue", case.queue.code, changes.queue.code)
        change("tier", case.tier, changes.queue.team.tier)
        case.queue, case.tier = changes.queue, changes.queue.team.tier
        Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES).update(queue=changes.queue)
    if not after:
        return case
    case.last_activity_at = clock.now()
    case.save(update_fields=[*after, "last_activity_at", "updated_at"])
    record(
        "case.updated",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"before": before, "after": after},
    )
    return case


def _may_assign(actor: Actor, case: Case, agent: Agent | None) -> bool:
    if actor.is_admin:
        return True
    if agent is None or agent.pk == actor.id:
        return True  # take it yourself, or hand it back to the queue
    in_team = agent.teams.filter(pk__in=actor.team_ids).exists()
    return actor.is_supervisor and in_team


@recording_transaction()
def assign_case(case: Case, agent: Agent | None, *, actor: Actor) -> Case:
    case = lock_case(case)
    if not _may_assign(actor, case, agent):
        raise PermissionDenied(_("only a supervisor may assign cases to other agents"))
    new_owner_id = agent.pk if agent else None
    if case.owner_id == new_owner_id:
        return case
    previous = case.owner_id
    case.owner_id = new_owner_id
    if case.status == CaseStatus.NEW and agent is not None:
        case.status = CaseStatus.OPEN
    case.last_activity_at = clock.now()
    case.save(update_fields=["owner", "status", "last_activity_at", "updated_at"])
    open_tasks = Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES)
    open_tasks.update(
        assignee_id=new_owner_id,
        status=TaskStatus.IN_PROGRESS if agent else TaskStatus.OPEN,
        updated_at=clock.now(),
    )
    record(
        "case.assigned",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"before": {"owner_id": previous}, "after": {"owner_id": new_owner_id}},
    )
    return case


@recording_transaction()
def add_note(case: Case, text: str, *, actor: Actor) -> None:
    text = text.strip()
    if not text:
        raise InvalidInput(_("a note needs text"), field="text")
    case = lock_case(case)
    now = clock.now()
    interaction = record_interaction(
        NewInteraction(
            channel="note",
            direction="internal",
            occurred_at=now,
            customer_id=case.customer_id,
            case_id=case.pk,
            agent_id=actor.id if actor.kind == "agent" else None,
            text=text,
        ),
        actor=actor,
    )
    case.last_activity_at = now
    case.save(update_fields=["last_activity_at", "updated_at"])
    record(
        "case.note_added",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"interaction_id": interaction.pk},
    )


@recording_transaction()
def resolve_case(case: Case, *, resolution_code: str, note: str = "", actor: Actor) -> Case:
    return resolve_in_transaction(case, resolution_code=resolution_code, note=note, actor=actor)


def _active_resolution_code(code: str | ResolutionCode) -> ResolutionCode:
    if isinstance(code, ResolutionCode):
        if code.is_active:
            return code
        code = code.code
    found = sql.select(ResolutionCode, _ACTIVE_RESOLUTION_CODE, [code, True])
    if not found:
        raise InvalidInput(
            _("unknown resolution code “%(resolution_code)s”") % {"resolution_code": code},
            field="resolution_code",
        )
    return found[0]


RESOLUTION_FIELDS = (
    "status",
    "resolution_code",
    "resolution_note",
    "resolved_at",
    "last_activity_at",
    "updated_at",
)


def resolve_in_transaction(
    case: Case,
    *,
    resolution_code: str | ResolutionCode,
    note: str = "",
    actor: Actor,
    current: bool = False,
    has_tasks: bool = True,
) -> Case:
    """`resolve_case()` in the caller's recording transaction (the case engine completing a
    process): no savepoint of its own, a failure undoes the caller's change with it. The
    engine passes the code it has read already (an active one needs no second look-up).
    `current`: the caller holds the row locked and `case` as it stands; `case` itself is
    resolved in memory and the caller writes it (`RESOLUTION_FIELDS`) with its own changes.
    `has_tasks=False`: the caller knows the case has none to close (no look-up)."""
    if not current:
        # Every case ends here: the row is locked in lean SQL (nothing below reads its
        # queue).
        case = sql.select_locked(Case, _CASE, [case.pk])[0]
    if case.status not in OPEN_STATUSES:
        raise InvalidTransition(
            _("case %(reference)s is %(status)s already")
            % {"reference": case.reference, "status": CaseStatus(case.status).label},
            field="status",
        )
    if case.process_key and case.process_status != ProcessStatus.COMPLETED:
        raise InvalidTransition(
            _("case %(reference)s is resolved by its process; use the actions it offers")
            % {"reference": case.reference},
            field="status",
        )
    code = _active_resolution_code(resolution_code)
    now = clock.now()
    previous = case.status
    case.status, case.resolution_code, case.resolution_note = CaseStatus.RESOLVED, code, note
    case.resolved_at = case.last_activity_at = now
    if not current:
        sql.update(case, list(RESOLUTION_FIELDS))
    open_tasks = (
        sql.select(Task, _OPEN_TASKS, [case.pk, *(s.value for s in OPEN_TASK_STATUSES)])
        if has_tasks
        else []
    )
    for task in open_tasks:
        task.status, task.completed_at = TaskStatus.DONE, now
        sql.update(task, ["status", "completed_at", "updated_at"])
        record(
            "task.completed",
            actor=actor,
            object_type="task",
            object_id=task.pk,
            payload={"case_id": case.pk},
        )
    record(
        "case.resolved",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={
            "before": {"status": previous},
            "after": {"status": CaseStatus.RESOLVED.value},
            "resolution_code": code.code,
            "note": note,
        },
    )
    return case


_CASE = "SELECT {columns} FROM cases_case t WHERE t.id = %s"
_ACTIVE_RESOLUTION_CODE = (
    "SELECT {columns} FROM cases_resolutioncode t WHERE t.code = %s AND t.is_active = %s"
)
_OPEN_TASKS = (
    "SELECT {columns} FROM cases_task t WHERE t.case_id = %s AND t.status IN ("
    + ", ".join(["%s"] * len(OPEN_TASK_STATUSES))
    + ")"
)


def reopen_case(case: Case, *, reason: str, actor: Actor) -> Case:
    """In the caller's transaction (the intake pipeline reopens on a new message)."""
    case = lock_case(case)
    if case.status != CaseStatus.RESOLVED:
        raise InvalidTransition(
            _("only resolved cases can be reopened, not %(status)s")
            % {"status": CaseStatus(case.status).label}
        )
    case.status = CaseStatus.OPEN
    case.resolved_at = None
    case.last_activity_at = clock.now()
    case.save(update_fields=["status", "resolved_at", "last_activity_at", "updated_at"])
    record(
        "case.reopened",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"reason": reason},
    )
    return case


def touch_case(case: Case, at: datetime) -> None:
    case.last_activity_at = at
    sql.update(case, ["last_activity_at", "updated_at"])  # `updated_at` is auto_now


def ensure_open_task(case: Case, *, title: str, actor: Actor) -> Task:
    """A new message on a case needs someone to look: reuse the open task or create one
    (for the owner, if the case has one — the customer returns to the same agent)."""
    found = sql.select(Task, _OPEN_TASK_OF_CASE, [case.pk, *OPEN_TASK_STATUSES])
    if found:
        return found[0]
    return create_task(case, title=title, actor=actor, assignee_id=case.owner_id)


_OPEN_TASK_OF_CASE = (
    f"SELECT {{columns}} FROM {Task._meta.db_table} t WHERE t.case_id = %s "
    f"AND t.status IN ({', '.join(['%s'] * len(OPEN_TASK_STATUSES))}) ORDER BY t.id LIMIT 1"
)


@recording_transaction()
def get_next_task(actor: Actor) -> Task | None:
    """Give the agent the most urgent unassigned task they may do (the router decides:
    `routing.router.pick_next_task`). The task and its case become theirs."""
    task = pick_next_task(actor)
    if task is None:
        return None
    if actor.id is None:
        raise InvalidInput(_("only an agent can take work"))
    task.assignee_id, task.status = actor.id, TaskStatus.IN_PROGRESS
    task.save(update_fields=["assignee", "status", "updated_at"])
    record(
        "task.assigned",
        actor=actor,
        object_type="task",
        object_id=task.pk,
        payload={"case_id": task.case_id, "assignee_id": actor.id},
    )
    case = task.case
    if case.owner_id is None:
        assign_case(case, Agent.objects.get(pk=actor.id), actor=actor)
    return task


def get_case_type(code: str) -> CaseType:
    case_type = (
        CaseType.objects.select_related("default_queue__team")
        .filter(code=code, is_active=True)
        .first()
    )
    if case_type is None:
        raise NotFound(_("unknown case type “%(code)s”") % {"code": code}, case_type=code)
    return case_type


def get_queue(code: str) -> Queue:
    queue = Queue.objects.select_related("team").filter(code=code).first()
    if queue is None:
        raise NotFound(_("unknown queue “%(code)s”") % {"code": code}, queue=code)
    return queue

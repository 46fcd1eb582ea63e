"""The case engine: moves a case through the stages and steps of its case type definition.

A case whose case type has a published definition starts its process when it is opened.
The engine runs automated steps (decisions, set data, notifications, sub-cases) itself and
stops where a person is needed (a form, a task, an approval), where the case waits (for
the customer, a date, sub-cases, an integration) or where an automated step failed (an
exception task with the reason and the options). Every move is an event in the case's
history, written in plain words by `cases.history`.

Advancing runs in the transaction of the change that allows it (`_advance_now`), and as a
job (`cases.advance`) where it must wait or retry; the job carries the case's process
revision, and the case row is locked while the engine works, so with several workers no
step runs twice and a stale job does nothing.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.calendar import BusinessCalendar, add_business_time
from casework.cases.definitions import configured_folders, load_case_types
from casework.cases.definitions.loading import CaseTypeRegistry
from casework.cases.definitions.specs import (
    ActionStep,
    ApprovalStep,
    BilingualText,
    CaseTypeDefinition,
    CollectDataStep,
    DecisionStep,
    IntegrationStep,
    NotifyStep,
    SetDataStep,
    StageSpec,
    StepSpec,
    SubcaseStep,
    TaskStep,
    WaitFor,
    WaitStep,
)
from casework.cases.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    Case,
    Priority,
    ProcessStatus,
    PublishedCaseType,
    ResolutionCode,
    Task,
    TaskKind,
    TaskStatus,
)
from casework.customers import bulk
from casework.customers.models import Contract
from casework.events.services import leaving_out_savepoints, record, recording_transaction
from casework.kernel import clock, jobs, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from casework.routing.models import Queue
from casework.rules import decisions
from casework.rules.expressions import ExpressionError

ENGINE_ACTOR = Actor.system("case-engine")
logger = logging.getLogger(__name__)
PRIORITY_NAMES = {
    Priority.LOW: "low",
    Priority.NORMAL: "normal",
    Priority.HIGH: "high",
    Priority.URGENT: "urgent",
}
# A process that moves through this many steps in one go has a loop its checks missed.
MAX_MOVES_PER_ADVANCE = 200


class ProcessConflict(Conflict):
    code = "process_conflict"


# -- definitions ---------------------------------------------------------------------------

_registry: CaseTypeRegistry | None = None
_published: dict[str, tuple[float, int | None]] = {}
_PUBLISHED_TTL_SECONDS = 10.0


def registry() -> CaseTypeRegistry:
    """Every case type definition on disk (shipped and the installation's), loaded once per
    process: definitions are versioned files and a version never changes."""
    global _registry
    if _registry is None:
        _registry = load_case_types(configured_folders())
    return _registry


def forget_loaded_definitions() -> None:
    """After publishing or changing definitions in this process (tests, the publish command).
    The loaded files stay: a version never changes, and loading them all takes a while."""
    _published.clear()


def reload_definitions() -> None:
    """Read the definition files again (a new version was added to a folder)."""
    global _registry
    _registry = None
    _published.clear()


def definition_of(case: Case) -> CaseTypeDefinition:
    definition = registry().find(case.process_key, case.process_version)
    if definition is None:
        raise NotFound(
            _("the definition %(key)s v%(version)s of case %(reference)s is missing")
            % {
                "key": case.process_key,
                "version": case.process_version,
                "reference": case.reference,
            }
        )
    return definition


def published_definition(case_type_code: str) -> CaseTypeDefinition | None:
    """The definition new cases of this case type start with: its newest published version.
    Asked for every new case, so each process remembers the answer for a few seconds."""
    cached = _published.get(case_type_code)
    if cached is None or time.monotonic() - cached[0] > _PUBLISHED_TTL_SECONDS:
        version = (
            PublishedCaseType.objects.filter(key=case_type_code)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        cached = (time.monotonic(), version)
        _published[case_type_code] = cached
    if cached[1] is None:
        return None
    return registry().find(case_type_code, cached[1])


@recording_transaction()
def publish(definition: CaseTypeDefinition, *, source: str, sha256: str, actor: Actor) -> bool:
    """Make a checked definition version the one new cases start with. Publishing the same
    version again is allowed only with the same text (a version never changes)."""
    existing = PublishedCaseType.objects.filter(
        key=definition.key, version=definition.version
    ).first()
    if existing is not None:
        if existing.sha256 != sha256:
            raise ProcessConflict(
                _(
                    "%(key)s v%(version)s was published with another text; a changed "
                    "definition needs a new version number"
                )
                % {"key": definition.key, "version": definition.version}
            )
        return False
    PublishedCaseType.objects.create(
        key=definition.key,
        version=definition.version,
        source=source,
        sha256=sha256,
        published_at=clock.now(),
        published_by=actor.label,
    )
    record(
        "casetype.published",
        actor=actor,
        object_type="casetype",
        object_id=definition.version,
        payload={"key": definition.key, "version": definition.version},
    )
    _published.pop(definition.key, None)
    return True


@dataclass(frozen=True)
class Published:
    key: str
    version: int
    is_new: bool


def publish_configured(keys: list[str] | None = None, *, actor: Actor) -> list[Published]:
    """Publish the newest version of every case type in the configured folders (or of the
    given keys). A case type that the installation does not know yet is created, routed to
    the queue its definition names; that queue must exist."""
    from casework.cases.models import CaseType

    reload_definitions()
    found = registry()
    chosen = keys or found.keys()
    results = []
    for key in chosen:
        definition = found.get(key)
        source = _source_text(definition)
        queue_code = definition.routing.queue if definition.routing else None
        with recording_transaction():
            if not CaseType.objects.filter(code=key).exists():
                queue = Queue.objects.filter(code=queue_code).first() if queue_code else None
                if queue is None:
                    raise NotFound(
                        _("%(key)s routes to queue %(queue)s, which does not exist")
                        % {"key": key, "queue": queue_code or "—"}
                    )
                CaseType.objects.create(
                    code=key,
                    name_de=definition.name.de,
                    name_en=definition.name.en,
                    service_type=definition.service_types[0],
                    default_queue=queue,
                )
            is_new = publish(
                definition,
                source=source,
                sha256=hashlib.sha256(source.encode()).hexdigest(),
                actor=actor,
            )
        results.append(Published(key, definition.version, is_new))
    return results


def _source_text(definition: CaseTypeDefinition) -> str:
    """The definition file and the decision tables it uses, as published."""
    path = Path(definition.source)
    parts = [f"# {path.name}\n{path.read_text(encoding='utf-8')}"]
    for stage in definition.stages:
        for step in stage.steps:
            if isinstance(step, DecisionStep):
                table = path.parent / step.table_path
                parts.append(f"# {step.table_path}\n{table.read_text(encoding='utf-8')}")
    return "\n".join(parts)


@dataclass(frozen=True)
class Migrated:
    reference: str
    stage_before: str
    stage_after: str
    step_after: str


def migrate_open_cases(
    key: str,
    *,
    from_version: int,
    to_version: int,
    stage_map: Mapping[str, str] | None = None,
    actor: Actor,
    dry_run: bool = False,
) -> list[Migrated]:
    """Move the open cases of one version of a case type to a newer published version:
    the explicit migration path (cases keep their version otherwise). Each case keeps its
    stage, or the stage `stage_map` names for it; it keeps its step when the new stage has
    it, and starts the stage again otherwise (its open process work is cancelled and the
    stage's steps run anew). All or nothing: a stage without a counterpart stops it."""
    old = registry().get(key, from_version)
    new = registry().get(key, to_version)
    if not PublishedCaseType.objects.filter(key=key, version=to_version).exists():
        raise ProcessConflict(
            _("%(key)s v%(version)s is not published") % {"key": key, "version": to_version}
        )
    mapping = {stage.key: stage.key for stage in old.stages} | dict(stage_map or {})
    new_stages = {stage.key for stage in new.stages}
    missing = sorted({old_key for old_key, new_key in mapping.items() if new_key not in new_stages})
    if missing:
        raise InvalidInput(
            _("stages without a counterpart in v%(version)s: %(stages)s (map them with --stage)")
            % {"version": to_version, "stages": ", ".join(missing)},
            field="stage_map",
        )
    moved: list[Migrated] = []
    with recording_transaction():
        for case in (
            Case.objects.select_for_update()
            .filter(process_key=key, process_version=from_version)
            .exclude(process_status=ProcessStatus.COMPLETED)
            .order_by("pk")
        ):
            stage = mapping[case.stage]
            keeps_step = any(step.key == case.step for step in new.stage(stage).steps)
            step = case.step if keeps_step else ""
            moved.append(Migrated(case.reference, case.stage, stage, step))
            if dry_run:
                continue
            if not keeps_step:
                Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES).exclude(
                    step_key=""
                ).update(status=TaskStatus.CANCELLED, completed_at=clock.now())
            before = {"version": from_version, "stage": case.stage, "step": case.step}
            case.process_version, case.stage, case.step = to_version, stage, step
            if not keeps_step:
                case.process_status = ProcessStatus.RUNNING
                case.process_revision += 1
                _schedule_advance(case)
            _save(case, "process_version", "process_status", "process_revision")
            _event(
                case,
                "case.process_migrated",
                before=before,
                after={"version": to_version, "stage": stage, "step": step},
            )
        if dry_run:
            transaction.set_rollback(True)
    return moved


def business_calendar() -> BusinessCalendar:
    return BusinessCalendar.from_hours(
        settings.CASEWORK_BUSINESS_HOURS, federal_state=settings.CASEWORK_FEDERAL_STATE or None
    )


# -- starting and advancing ----------------------------------------------------------------


def prepare_start(
    case: Case, definition: CaseTypeDefinition, *, reserved_key: int | None = None
) -> None:
    """Set a new case's process fields before its row is written (`open_cases`), so that
    starting the process needs no second write of the row. With a `reserved_key` the row
    is not written now but when the first advance ends, as it stands then (one INSERT
    instead of an INSERT and an UPDATE)."""
    if reserved_key is not None:
        case.pk = reserved_key
        setattr(case, _NOT_INSERTED, True)
    case.process_key, case.process_version = definition.key, definition.version
    case.stage, case.step = definition.initial_stage, ""
    case.process_status = ProcessStatus.RUNNING
    case.process_revision += 1
    if case.data:
        problems = definition.data_problems(case.data)
        if problems:
            raise InvalidInput(
                _("the case data does not fit %(key)s: %(problems)s")
                % {"key": definition.key, "problems": "; ".join(problems)},
                field="data",
            )


def start_process(case: Case, definition: CaseTypeDefinition, *, actor: Actor) -> None:
    """In the transaction that opens the case, whose row was written after `prepare_start`."""
    record(
        "case.process_started",
        actor=actor,
        object_type="case",
        object_id=case.pk,
        payload={"process": definition.key, "version": definition.version, "stage": case.stage},
    )
    from casework.cases import sla

    with sla.timers_when_still_running():
        sla.start_clocks(case, definition)
        notify_event(case, definition, "case.opened", case_is_new=True)
        _advance_now(case, is_new=True)


def _advance_now(case: Case, *, is_new: bool = False) -> None:
    """Run the automated steps that follow at once, in the transaction of the change that
    allows them (opening, a person's decision, a reply), so whoever looks next sees where
    the case stands. Calls to other systems and notifications still go through jobs. A
    step failing in an unforeseen way leaves the work to the advance job, which retries
    and ends in an exception task for a person — or, where the caller left out the
    savepoints, fails the caller's block, which runs again with them."""
    if leaving_out_savepoints():
        advance(case, is_new=is_new)
        return
    try:
        with recording_transaction():
            advance(case, is_new=is_new)
    except Exception:
        logger.exception("case %s could not advance at once; the worker takes over", case.pk)
        if getattr(case, _NOT_INSERTED, False):
            _insert(case)  # as it was opened (`advance` put it back)
        else:
            case.refresh_from_db()
        _schedule_advance(case)


def _schedule_advance(case: Case) -> None:
    jobs.enqueue(
        "cases.advance",
        {"case_id": case.pk, "revision": case.process_revision},
        key=f"advance:{case.pk}:{case.process_revision}",
    )


@jobs.handles("cases.advance")
def advance_job(payload: dict[str, Any]) -> None:
    case = Case.objects.select_for_update().filter(pk=payload["case_id"]).first()
    if case is None or case.process_revision != payload["revision"]:
        return  # stale: someone moved the case since this was scheduled
    if case.process_status != ProcessStatus.RUNNING:
        return
    advance(case)


def advance(case: Case, *, is_new: bool = False) -> None:
    """Run the process from where it stands until it needs someone or something. The case
    row must be locked by the caller (the advance job, or a service that changed it).

    The steps change the case in memory and the row is written once at the end (and
    before any step that may read it from the database), not once per step."""
    setattr(case, _UNSAVED, _Unsaved(case.stage, case.step))
    opened = _fields_of(case) if getattr(case, _NOT_INSERTED, False) else None
    try:
        _advance(case, is_new)
    except BaseException:
        delattr(case, _UNSAVED)  # the transaction rolls back: nothing to write
        if opened is not None:
            # The row to write is the case as it was opened (an insert before a step that
            # reads the row is rolled back with the rest).
            case.__dict__.update(opened)
            setattr(case, _NOT_INSERTED, True)
        raise
    _write_unsaved(case, keep_deferring=False)


# Steps that change only the case in memory and queue work for later: the case's row
# need not be written before them, nor before actions that promise not to read it. Before
# any other step the advance writes it.
_IN_MEMORY_STEPS = (DecisionStep, SetDataStep, NotifyStep)


def _runs_in_memory(step: StepSpec) -> bool:
    from casework.cases import actions

    if isinstance(step, _IN_MEMORY_STEPS):
        return True
    return isinstance(step, ActionStep) and not actions.reads_case_row(step.action)


def _advance(case: Case, is_new: bool) -> None:
    definition = definition_of(case)
    # Built once: within one advance only the case's data, stage and sub-cases change.
    context = build_context(case, is_new=is_new)
    for _move in range(MAX_MOVES_PER_ADVANCE):
        context["data"] = dict(case.data)
        context["case"]["stage"] = case.stage
        stage = definition.stage(case.stage)
        step = _next_step(stage, case.step)
        if step is None:
            if stage.is_final:
                # In the advance that started it a case has met no step that makes tasks.
                _complete(case, definition, stage, is_new=is_new)
                return
            if not _follow_transition(case, definition, stage, context):
                return
            continue
        case.step = step.key
        try:
            applies = step.condition is None or step.condition.is_true(context)
        except ExpressionError as error:
            raise_exception(case, step, _("its condition failed: %(e)s") % {"e": error.message})
            return
        if not applies:
            _event(case, "case.step_skipped", step=step.key, stage=stage.key)
            continue
        if not _runs_in_memory(step):
            _write_unsaved(case)
        if not _run_step(case, definition, stage, step, context, is_new=is_new):
            return
        if isinstance(step, SubcaseStep):
            context = build_context(case)  # `subcases.*` now knows the new one
    raise_exception(
        case,
        None,
        _("the process moved %(n)s times without stopping") % {"n": MAX_MOVES_PER_ADVANCE},
    )


def _next_step(stage: StageSpec, current: str) -> StepSpec | None:
    keys = [step.key for step in stage.steps]
    if not current:
        return stage.steps[0] if stage.steps else None
    if current not in keys:
        return None
    index = keys.index(current) + 1
    return stage.steps[index] if index < len(stage.steps) else None


def _follow_transition(
    case: Case, definition: CaseTypeDefinition, stage: StageSpec, context: Mapping[str, Any]
) -> bool:
    for transition in stage.transitions:
        if transition.action is not None:
            continue  # offered to agents, never taken by itself
        try:
            if transition.condition is None or transition.condition.is_true(context):
                enter_stage(case, definition, transition.to)
                return True
        except ExpressionError as error:
            raise_exception(
                case, None, _("a transition's condition failed: %(e)s") % {"e": error.message}
            )
            return False
    raise_exception(
        case,
        None,
        _("no way out of stage %(stage)s fits the case's data") % {"stage": stage.name.de},
    )
    return False


def enter_stage(case: Case, definition: CaseTypeDefinition, stage_key: str, **why: Any) -> None:
    previous = case.stage
    case.stage, case.step = stage_key, ""
    _save(case, "stage", "step")
    _event(case, "case.stage_changed", before=previous, after=stage_key, **why)


def _complete(
    case: Case, definition: CaseTypeDefinition, stage: StageSpec, *, is_new: bool = False
) -> None:
    """`is_new`: in the advance that opened the case, which has met no step that makes
    tasks and has nothing recorded on it yet."""
    from casework.cases import sla
    from casework.cases.services import RESOLUTION_FIELDS, resolve_in_transaction

    case.process_status = ProcessStatus.COMPLETED
    _save(case, "process_status")
    _event(case, "case.process_completed", stage=stage.key)
    code = _resolution_code(stage)
    if case.status in OPEN_STATUSES:
        # The row is locked (see `advance`) and `case` is how it stands: resolved in
        # memory, written with the advance's other changes at its end.
        resolve_in_transaction(
            case, resolution_code=code, actor=ENGINE_ACTOR, current=True, has_tasks=not is_new
        )
        _save(case, *RESOLUTION_FIELDS)
    sla.stop_clocks(case)
    notify_event(case, definition, "case.resolved", case_is_new=is_new)
    if case.parent_id is not None:
        _write_unsaved(case)  # the parent reads its sub-cases' rows
        resume_parent(case.parent_id)


_RESOLUTION_CODE = "SELECT {columns} FROM cases_resolutioncode t WHERE t.code = %s"


def _resolution_code(stage: StageSpec) -> ResolutionCode:
    """The resolution code named after the final stage, created the first time."""
    batch = _batch_reads.get()
    key = stage.key[:50]
    if batch is not None and key in batch.resolution_codes:
        return batch.resolution_codes[key]
    found = sql.select(ResolutionCode, _RESOLUTION_CODE, [key])
    if not found:
        # Not kept for the batch: a savepoint rolling back would take the new row along.
        code, _created = ResolutionCode.objects.get_or_create(
            code=key, defaults={"name_de": stage.name.de, "name_en": stage.name.en}
        )
        return code
    if batch is not None:
        batch.resolution_codes[key] = found[0]
    return found[0]


# -- the steps -----------------------------------------------------------------------------


def _run_step(
    case: Case,
    definition: CaseTypeDefinition,
    stage: StageSpec,
    step: StepSpec,
    context: Mapping[str, Any],
    *,
    is_new: bool = False,
) -> bool:
    """Run one step; True when the process goes on by itself, False when it waits."""
    if isinstance(step, DecisionStep):
        return _decide(case, step, context)
    if isinstance(step, SetDataStep):
        return _set_data(case, definition, step, context)
    if isinstance(step, NotifyStep):
        notify(case, definition, step.template, recipient=step.recipient, case_is_new=is_new)
        _event(case, "case.step_completed", step=step.key, kind=step.kind.value)
        return True
    if isinstance(step, CollectDataStep):
        missing = [name for name in (step.required or step.fields) if _empty(case.data.get(name))]
        if not missing:
            _event(case, "case.step_skipped", step=step.key, stage=stage.key, reason="data present")
            return True
        _create_task(
            case,
            step,
            kind=TaskKind.FORM,
            title=step.name or _default_title(step),
            details={
                "fields": list(step.fields),
                "required": list(step.required),
                "audience": step.audience,
            },
        )
        return _wait(case, "person")
    if isinstance(step, TaskStep):
        _create_task(
            case,
            step,
            kind=TaskKind.WORK,
            title=step.title,
            queue=step.queue,
            due_hours=step.due_business_hours,
        )
        return _wait(case, "person")
    if isinstance(step, ApprovalStep):
        _create_task(
            case,
            step,
            kind=TaskKind.APPROVAL,
            title=step.title,
            queue=step.queue,
            due_hours=step.due_business_hours,
            details={"four_eyes": step.is_four_eyes},
        )
        return _wait(case, "approval")
    if isinstance(step, SubcaseStep):
        return _open_subcase(case, step, context)
    if isinstance(step, WaitStep):
        return _wait_step(case, step, context)
    if isinstance(step, IntegrationStep):
        jobs.enqueue(
            "cases.integration",
            {"case_id": case.pk, "step": step.key, "revision": case.process_revision},
            key=f"integration:{case.pk}:{step.key}:{case.process_revision}",
            max_attempts=step.retries + 1,
        )
        return _wait(case, "integration")
    if isinstance(step, ActionStep):
        return _run_action(case, step, context)
    raise_exception(
        case, step, _("the engine cannot run steps of kind %(kind)s") % {"kind": step.kind}
    )
    return False


def _run_action(case: Case, step: ActionStep, context: Mapping[str, Any]) -> bool:
    from casework.cases import actions

    # A savepoint: a failed action's half-done writes go, the case's exception stays. (An
    # action that fails only before writing has nothing half-done.)
    block: AbstractContextManager[None] = (
        nullcontext() if actions.fails_before_writing(step.action) else recording_transaction()
    )
    try:
        with block:
            changes = dict(actions.run(step.action, case, context))
    except actions.ActionFailed as failure:
        if leaving_out_savepoints() and not actions.fails_before_writing(step.action):
            raise  # no savepoint to undo its half-done writes: the caller's block runs again
        raise_exception(case, step, failure.reason, options=failure.options)
        return False
    _event(case, "case.step_completed", step=step.key, kind=step.kind.value, action=step.action)
    return not changes or _write_data(case, step, {k: _plain(v) for k, v in changes.items()})


def _decide(case: Case, step: DecisionStep, context: Mapping[str, Any]) -> bool:
    try:
        result = decisions.evaluate(step.table, context)
    except ExpressionError as error:
        raise_exception(
            case, step, _("the decision table could not be evaluated: %(e)s") % {"e": error.message}
        )
        return False
    if isinstance(result, decisions.NoMatch):
        _event(
            case,
            "case.decision_failed",
            step=step.key,
            table=result.table,
            reason=result.reason.value,
            inputs=_plain(result.inputs),
        )
        raise_exception(
            case,
            step,
            _("no rule of table %(table)s fits (%(inputs)s)")
            % {"table": result.table, "inputs": _describe(result.inputs)},
            options=("retry", "fix_data", "choose_outcome", "cancel"),
            outputs=list(step.output_mapping),
        )
        return False
    changes = {
        field: _plain(result.outputs.get(output)) for output, field in step.output_mapping.items()
    }
    _event(
        case,
        "case.decision_taken",
        step=step.key,
        table=result.table,
        inputs=_plain(result.inputs),
        rules=[{"id": rule.id, "line": rule.line} for rule in result.matched],
        outputs=changes,
    )
    return _write_data(case, step, changes)


def _set_data(
    case: Case, definition: CaseTypeDefinition, step: SetDataStep, context: Mapping[str, Any]
) -> bool:
    try:
        changes = {
            field: _plain(expression.evaluate(context)) for field, expression in step.values.items()
        }
    except ExpressionError as error:
        raise_exception(case, step, error.message, options=("retry", "fix_data", "cancel"))
        return False
    return _write_data(case, step, changes)


def _write_data(case: Case, step: StepSpec | None, changes: Mapping[str, Any]) -> bool:
    definition = definition_of(case)
    data = {**case.data, **changes}
    problems = definition.data_problems(data)
    if problems:
        raise_exception(
            case,
            step,
            _("the data would be invalid: %(problems)s") % {"problems": "; ".join(problems)},
            options=("retry", "fix_data", "cancel"),
        )
        return False
    before = {field: case.data.get(field) for field in changes}
    case.data = data
    _save(case, "data")
    _event(
        case, "case.data_changed", step=step.key if step else "", before=before, after=dict(changes)
    )
    return True


def _open_subcase(case: Case, step: SubcaseStep, context: Mapping[str, Any]) -> bool:
    from casework.cases.services import NewCase, get_case_type, open_case

    try:
        data = {
            field: _plain(expression.evaluate(context))
            for field, expression in step.data_mapping.items()
        }
        case_type = get_case_type(step.case_type)
    except (ExpressionError, NotFound) as error:
        raise_exception(case, step, error.message)
        return False
    data = {key: value for key, value in data.items() if value is not None}
    child = open_case(
        NewCase(
            case_type=case_type,
            subject=f"{case.subject} ({case_type.name})",
            customer_id=case.customer_id,
            parent_id=case.pk,
            priority=case.priority,
            data=data,
        ),
        actor=ENGINE_ACTOR,
    )
    record(
        "case.subcase_opened",
        actor=ENGINE_ACTOR,
        object_type="case",
        object_id=case.pk,
        payload={
            "step": step.key,
            "subcase_id": child.pk,
            "reference": child.reference,
            "case_type": step.case_type,
        },
    )
    # Which step opened it, for `subcases.<step>.*` in the parent's conditions.
    Case.objects.filter(pk=child.pk).update(parent_step=step.key)
    return True


def _wait_step(case: Case, step: WaitStep, context: Mapping[str, Any]) -> bool:
    from casework.cases import sla

    if step.wait_for == WaitFor.SUBCASES:
        if not _open_subcases(case):
            _event(case, "case.step_completed", step=step.key, kind=step.kind.value)
            return True
        if step.timeout_business_hours:
            _schedule_timeout(case, step)
        return _wait(case, "subcases")
    if step.wait_for == WaitFor.UNTIL:
        try:
            until = step.until.evaluate(context) if step.until else None
        except ExpressionError as error:
            raise_exception(case, step, error.message)
            return False
        moment = _as_datetime(until)
        if moment is None:
            raise_exception(
                case,
                step,
                _("the date to wait for is empty"),
                options=("retry", "fix_data", "cancel"),
            )
            return False
        if moment <= clock.now():
            return True
        jobs.enqueue(
            "cases.resume",
            {"case_id": case.pk, "revision": case.process_revision + 1, "step": step.key},
            at=moment,
            key=f"resume:{case.pk}:{step.key}:{case.process_revision + 1}",
        )
        return _wait(case, "date")
    # Waiting for the customer stops the service-level clocks: the ball is in their court.
    sla.pause_clocks(case)
    if step.timeout_business_hours:
        _schedule_timeout(case, step)
    return _wait(case, "customer")


def _schedule_timeout(case: Case, step: WaitStep) -> None:
    due = add_business_time(
        clock.now(), timedelta(hours=step.timeout_business_hours or 0), business_calendar()
    )
    jobs.enqueue(
        "cases.wait_timeout",
        {"case_id": case.pk, "revision": case.process_revision + 1, "step": step.key},
        at=due,
        key=f"timeout:{case.pk}:{step.key}:{case.process_revision + 1}",
    )


def _wait(case: Case, waiting_for: str) -> bool:
    case.process_status = ProcessStatus.WAITING
    case.process_revision += 1
    _save(case, "process_status", "process_revision")
    _event(case, "case.waiting", step=case.step, waiting_for=waiting_for)
    return False


def _open_subcases(case: Case) -> list[int]:
    return list(
        Case.objects.filter(parent_id=case.pk, status__in=OPEN_STATUSES).values_list(
            "pk", flat=True
        )
    )


# -- resuming ------------------------------------------------------------------------------


def resume(case: Case, *, actor: Actor, reason: str) -> None:
    """Go on from the current step (after a person's work, a reply, a date, a sub-case)."""
    case.process_status = ProcessStatus.RUNNING
    case.process_revision += 1
    _save(case, "process_status", "process_revision")
    _event(case, "case.resumed", step=case.step, reason=reason, actor_label=actor.label)
    _advance_now(case)


def resume_parent(parent_id: int) -> None:
    """A sub-case closed: the parent goes on if it waits for its sub-cases and none is open."""
    from casework.cases.services import lock_case

    parent = Case.objects.filter(pk=parent_id).first()
    if parent is None:
        return
    parent = lock_case(parent)
    if parent.process_status != ProcessStatus.WAITING or not parent.process_key:
        return
    step = definition_of(parent).step(parent.step) if parent.step else None
    if (
        isinstance(step, WaitStep)
        and step.wait_for == WaitFor.SUBCASES
        and not _open_subcases(parent)
    ):
        resume(parent, actor=ENGINE_ACTOR, reason="subcases closed")


def on_customer_message(case: Case) -> bool:
    """A new message from the customer on this case (intake calls this in its transaction).
    True when it was what the process waited for and the process goes on."""
    from casework.cases import sla
    from casework.cases.services import lock_case

    if not case.process_key:
        return False
    case = lock_case(case)
    if case.process_status != ProcessStatus.WAITING or not case.step:
        return False
    step = definition_of(case).step(case.step)
    if not (isinstance(step, WaitStep) and step.wait_for == WaitFor.CUSTOMER_REPLY):
        return False
    sla.resume_clocks(case)
    resume(case, actor=ENGINE_ACTOR, reason="customer replied")
    return True


@jobs.handles("cases.resume")
def resume_job(payload: dict[str, Any]) -> None:
    case = Case.objects.select_for_update().filter(pk=payload["case_id"]).first()
    if case is None or case.process_revision != payload["revision"] or case.step != payload["step"]:
        return
    if case.process_status == ProcessStatus.WAITING:
        resume(case, actor=ENGINE_ACTOR, reason="date reached")


@jobs.handles("cases.wait_timeout")
def wait_timeout_job(payload: dict[str, Any]) -> None:
    case = Case.objects.select_for_update().filter(pk=payload["case_id"]).first()
    if case is None or case.process_revision != payload["revision"] or case.step != payload["step"]:
        return
    if case.process_status == ProcessStatus.WAITING:
        step = definition_of(case).step(case.step)
        raise_exception(
            case, step, _("waited longer than the step allows"), options=("retry", "cancel", "skip")
        )


# -- integrations --------------------------------------------------------------------------


def _integration_failed(payload: dict[str, Any], error: str) -> None:
    case = Case.objects.select_for_update().filter(pk=payload["case_id"]).first()
    if case is None or case.process_revision != payload["revision"] + 1:
        return
    step = definition_of(case).step(payload["step"])
    raise_exception(
        case,
        step,
        _("the call to %(url)s failed after all attempts: %(error)s")
        % {"url": getattr(step, "url", "?"), "error": error},
        options=("retry", "skip", "cancel"),
    )


@jobs.handles("cases.integration", on_failure=_integration_failed, transactional=False)
def integration_job(payload: dict[str, Any]) -> None:
    """Call the other system outside any transaction (a slow system must not hold the
    database), then apply its answer if the case still waits for it. A job run again after
    a crash calls again: the Idempotency-Key header lets the other system notice."""
    from casework.cases import integrations

    def still_waiting(case: Case | None) -> bool:
        # The step waits with the revision after the one it was scheduled under.
        return (
            case is not None
            and case.process_revision == payload["revision"] + 1
            and case.step == payload["step"]
        )

    case = Case.objects.filter(pk=payload["case_id"]).first()
    if case is None or not still_waiting(case):
        return
    step = definition_of(case).step(payload["step"])
    assert isinstance(step, IntegrationStep)
    key = f"casework-{case.pk}-{step.key}-{payload['revision']}"
    response = integrations.call(step, build_context(case), idempotency_key=key)
    with recording_transaction():
        case = Case.objects.select_for_update().filter(pk=payload["case_id"]).first()
        if case is None or not still_waiting(case):
            return  # moved on meanwhile (a person decided, or another worker was faster)
        changes = {field: _plain(response.get(name)) for name, field in step.result_mapping.items()}
        _event(case, "case.integration_called", step=step.key, url=step.url, result=changes)
        if changes and not _write_data(case, step, changes):
            return
        resume(case, actor=ENGINE_ACTOR, reason="integration answered")


# -- exceptions ----------------------------------------------------------------------------


def raise_exception(
    case: Case,
    step: StepSpec | None,
    reason: str,
    *,
    options: tuple[str, ...] = ("retry", "cancel"),
    outputs: list[str] | None = None,
) -> None:
    """An automated step failed: the case does not stall silently, a person decides."""
    case.process_status = ProcessStatus.EXCEPTION
    case.process_revision += 1
    _save(case, "process_status", "process_revision")
    details: dict[str, Any] = {"reason": reason, "options": list(options)}
    if outputs:
        details["outputs"] = outputs
    _create_task(
        case, step, kind=TaskKind.EXCEPTION, title=_exception_title(reason), details=details
    )
    _event(
        case,
        "case.exception_raised",
        step=step.key if step else "",
        reason=reason,
        options=list(options),
    )


def _exception_title(reason: str) -> BilingualText:
    titles = {}
    for language in ("de", "en"):
        with translation.override(language):
            titles[language] = (_("Exception: %(reason)s") % {"reason": reason})[:300]
    return BilingualText(**titles)


# -- people's part: forms, tasks, approvals, exceptions, actions ---------------------------


@recording_transaction()
def complete_task(
    task: Task,
    *,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
    approved: bool | None = None,
    option: str | None = None,
    note: str = "",
) -> Task:
    """A person finished a process task: filled a form, did the work, approved or declined,
    or decided an exception (retry, fix_data, choose_outcome, skip, cancel)."""
    from casework.cases.services import lock_case

    case = lock_case(task.case)
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status not in OPEN_TASK_STATUSES:
        raise ProcessConflict(_("this task is done already"))
    if (
        case.process_key
        and task.step_key
        and task.step_key != case.step
        and task.kind != TaskKind.EXCEPTION
    ):
        raise ProcessConflict(_("the case has moved on; this task is no longer current"))
    outcome: dict[str, Any] = {}
    if task.kind == TaskKind.FORM:
        outcome["data"] = _accept_form(case, task, data or {})
    elif task.kind == TaskKind.APPROVAL:
        if approved is None:
            raise InvalidInput(_("say whether you approve"), field="approved")
        _check_four_eyes(case, task, actor)
        outcome["approved"] = approved
    elif task.kind == TaskKind.EXCEPTION:
        outcome.update(_decide_exception(case, task, option, data or {}))
    if note:
        outcome["note"] = note
    task.status, task.completed_at = TaskStatus.DONE, clock.now()
    task.completed_by_id = actor.id if actor.kind == "agent" else None
    task.outcome = outcome
    task.save(update_fields=["status", "completed_at", "completed_by", "outcome", "updated_at"])
    record(
        "task.completed",
        actor=actor,
        object_type="task",
        object_id=task.pk,
        payload={
            "case_id": case.pk,
            "kind": task.kind,
            "step": task.step_key,
            "outcome": _plain(outcome),
        },
    )
    if case.process_key and case.process_status in (ProcessStatus.WAITING, ProcessStatus.EXCEPTION):
        if outcome.get("cancelled"):
            return task
        resume(case, actor=actor, reason=f"{task.kind} done")
    return task


def _accept_form(case: Case, task: Task, submitted: Mapping[str, Any]) -> dict[str, Any]:
    fields = task.details.get("fields", [])
    changes = {
        name: value for name, value in submitted.items() if name in fields and not _empty(value)
    }
    missing = [
        name
        for name in task.details.get("required", [])
        if _empty({**case.data, **changes}.get(name))
    ]
    if missing:
        raise InvalidInput(
            _("please fill in %(fields)s") % {"fields": ", ".join(missing)}, field=missing[0]
        )
    data = {**case.data, **changes}
    problems = definition_of(case).data_problems(data)
    if problems:
        raise InvalidInput(
            _("the data is not valid: %(problems)s") % {"problems": "; ".join(problems)},
            field="data",
        )
    before = {name: case.data.get(name) for name in changes}
    case.data = data
    _save(case, "data")
    _event(case, "case.data_changed", step=task.step_key, before=before, after=changes)
    return changes


def _check_four_eyes(case: Case, task: Task, actor: Actor) -> None:
    if not task.details.get("four_eyes"):
        return
    worked_by = set(
        Task.objects.filter(case=case, status=TaskStatus.DONE)
        .exclude(kind=TaskKind.APPROVAL)
        .exclude(completed_by=None)
        .values_list("completed_by_id", flat=True)
    )
    if actor.id in worked_by or (case.owner_id is not None and case.owner_id == actor.id):
        raise PermissionDenied(_("four eyes: someone who did not work on this case must approve"))


def _decide_exception(
    case: Case, task: Task, option: str | None, data: Mapping[str, Any]
) -> dict[str, Any]:
    options = task.details.get("options", [])
    if option not in options:
        raise InvalidInput(
            _("choose one of: %(options)s") % {"options": ", ".join(options)}, field="option"
        )
    definition = definition_of(case)
    failed_step = task.step_key
    if option in ("retry", "fix_data"):
        if option == "fix_data" and data:
            _write_fixed_data(case, definition, data)
        _step_back(case, definition, failed_step)
    elif option == "choose_outcome":
        step = definition.step(failed_step)
        assert isinstance(step, DecisionStep)
        chosen = {
            step.output_mapping[name]: value
            for name, value in data.items()
            if name in step.output_mapping
        }
        if len(chosen) != len(step.output_mapping):
            raise InvalidInput(
                _("give every outcome: %(outputs)s") % {"outputs": ", ".join(step.output_mapping)},
                field="data",
            )
        _write_fixed_data(case, definition, chosen)
        _event(
            case,
            "case.decision_taken",
            step=failed_step,
            table=step.table_path,
            by_person=True,
            outputs=chosen,
        )
    elif option == "skip":
        pass  # go on after the failed step
    elif option == "cancel":
        _cancel(case, definition)
        return {"option": option, "cancelled": True}
    _event(case, "case.exception_resolved", step=failed_step, option=option)
    return {"option": option}


def _write_fixed_data(
    case: Case, definition: CaseTypeDefinition, changes: Mapping[str, Any]
) -> None:
    data = {**case.data, **changes}
    problems = definition.data_problems(data)
    if problems:
        raise InvalidInput(
            _("the data is not valid: %(problems)s") % {"problems": "; ".join(problems)},
            field="data",
        )
    before = {name: case.data.get(name) for name in changes}
    case.data = data
    _save(case, "data")
    _event(case, "case.data_changed", step=case.step, before=before, after=dict(changes))


def _step_back(case: Case, definition: CaseTypeDefinition, step_key: str) -> None:
    """Make `step_key` the next step again (retry)."""
    if not step_key:
        return  # a failed transition: the stage's end is tried again as it stands
    stage = definition.stage_of_step(step_key)
    keys = [step.key for step in stage.steps]
    index = keys.index(step_key)
    case.stage = stage.key
    case.step = keys[index - 1] if index > 0 else ""
    _save(case, "stage", "step")


def _cancel(case: Case, definition: CaseTypeDefinition) -> None:
    alternates = [stage for stage in definition.stages if stage.is_alternate and stage.is_final]
    Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES, kind=TaskKind.EXCEPTION).update(
        status=TaskStatus.CANCELLED, completed_at=clock.now()
    )
    target = alternates[0] if alternates else definition.final_stages[0]
    enter_stage(case, definition, target.key, reason="cancelled")
    case.process_status = ProcessStatus.RUNNING
    case.process_revision += 1
    _save(case, "process_status", "process_revision")
    _advance_now(case)


def available_actions(case: Case) -> list[tuple[str, str, str]]:
    """(action, German label, English label) an agent may take now."""
    if not case.process_key or case.process_status == ProcessStatus.COMPLETED:
        return []
    definition = definition_of(case)
    context = build_context(case)
    found = []
    for transition in definition.stage(case.stage).transitions:
        if transition.action is None:
            continue
        try:
            if transition.condition is not None and not transition.condition.is_true(context):
                continue
        except ExpressionError:
            continue
        name = transition.name
        found.append(
            (
                transition.action,
                name.de if name else transition.action,
                name.en if name else transition.action,
            )
        )
    return found


@recording_transaction()
def take_action(case: Case, action: str, *, reason: str, actor: Actor) -> Case:
    """An agent moves the case by an offered action (escalate, withdraw, …) with a reason."""
    from casework.cases.services import lock_case

    case = lock_case(case)
    if not reason.strip():
        raise InvalidInput(_("give a reason"), field="reason")
    offered = {code for code, _de, _en in available_actions(case)}
    if action not in offered:
        raise ProcessConflict(
            _("“%(action)s” is not possible in this stage") % {"action": action}, field="action"
        )
    definition = definition_of(case)
    transition = next(t for t in definition.stage(case.stage).transitions if t.action == action)
    # The work of the stage left behind is over.
    Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES).exclude(
        kind=TaskKind.WORK, step_key=""
    ).update(status=TaskStatus.CANCELLED, completed_at=clock.now())
    _event(case, "case.action_taken", action=action, reason=reason.strip(), actor_label=actor.label)
    enter_stage(case, definition, transition.to, action=action, reason=reason.strip())
    if action == "escalate":
        notify_event(case, definition, "case.escalated")
    case.process_status = ProcessStatus.RUNNING
    case.process_revision += 1
    _save(case, "process_status", "process_revision")
    _advance_now(case)
    return case


# -- context -------------------------------------------------------------------------------


def build_context(case: Case, *, is_new: bool = False) -> dict[str, Any]:
    """Exactly the shape `definitions.schema.CONTEXT_FIELDS` promises conditions.
    `is_new`: the case was opened in this transaction, so it has no approvals or sub-cases
    to read yet."""
    now = clock.now()
    today = clock.localtime(now).date()
    customer = case.customer if case.customer_id else None
    context: dict[str, Any] = {
        "case": {
            "reference": case.reference,
            "priority": PRIORITY_NAMES.get(case.priority, "normal"),
            "service_type": case.service_type,
            "tier": case.tier,
            "stage": case.stage,
            "status": case.status,
            "opened_at": case.created_at,
        },
        "customer": _customer_context(customer),
        "contract": _contract_context(case, customer, today),
        "data": dict(case.data),
        "connected": _connected_hosts(),
        "now": now,
        "today": today,
        "approvals": {},
        "subcases": {},
    }
    if is_new:
        return context
    # Read for every step and transition: lean statements (kernel.sql), not the ORM.
    approvals = sql.select(
        Task, _DONE_APPROVALS, [case.pk, TaskStatus.DONE.value, TaskKind.APPROVAL.value]
    )
    for task in approvals:
        context["approvals"][task.step_key.replace("-", "_")] = {
            "approved": task.outcome.get("approved"),
            "by": task.completed_by_id,
        }
    for child in sql.select(Case, _SUBCASES, [case.pk]):
        code = (
            sql.fetch_one(_CODE_OF, [child.resolution_code_id])
            if child.resolution_code_id
            else None
        )
        context["subcases"][child.parent_step.replace("-", "_")] = {
            "status": child.status,
            "resolution_code": code[0] if code else None,
            "data": dict(child.data),
        }
    return context


_DONE_APPROVALS = (
    "SELECT {columns} FROM cases_task t WHERE t.case_id = %s AND t.status = %s AND t.kind = %s"
    " ORDER BY t.completed_at, t.id"
)
_SUBCASES = "SELECT {columns} FROM cases_case t WHERE t.parent_id = %s AND t.parent_step <> ''"
_CODE_OF = "SELECT code FROM cases_resolutioncode WHERE id = %s"
_INTERESTS = "SELECT DISTINCT tag FROM customers_interest WHERE customer_id = %s"
_ACTIVE_CONTRACT = (
    "SELECT {columns} FROM customers_contract t WHERE t.customer_id = %s AND t.status = %s"
    " ORDER BY t.start_date DESC, t.id DESC LIMIT 1"
)
_PRODUCT_CODE = "SELECT code FROM customers_product WHERE id = %s"
_OPTION_CODES = (
    "SELECT p.code FROM customers_contract_options o"
    " JOIN customers_product p ON p.id = o.product_id WHERE o.contract_id = %s"
)


def _connected_hosts() -> list[str]:
    """Hosts whose addresses the installation maps to a real system: a step may run only
    when its other system is there (`when: '"billing.example.invalid" in connected'`)."""
    from urllib.parse import urlsplit

    return sorted(
        {urlsplit(prefix).hostname or "" for prefix in settings.CASEWORK_INTEGRATION_ENDPOINTS}
        - {""}
    )


@dataclass(frozen=True)
class _CustomerRead:
    """What a case's context reads about its customer: interests and active contract."""

    interests: list[str]
    contract: Contract | None
    product_code: str | None
    option_codes: list[str]


@dataclass
class _BatchReads:
    customers: dict[int, _CustomerRead] = field(default_factory=dict)
    resolution_codes: dict[str, ResolutionCode] = field(default_factory=dict)


# Set by `read_once_per_batch()`.
_batch_reads: ContextVar[_BatchReads | None] = ContextVar(
    "casework_process_batch_reads", default=None
)


@contextmanager
def read_once_per_batch() -> Iterator[None]:
    """Around many cases' processes in one transaction (a batch of retention orders): the
    resolution codes their final stages name are read once, and the contexts take what
    they know of a customer from `read_customers_ahead()` (three statements for the batch
    instead of four per case). The caller forgets a customer whose contract or interests
    it changes (`forget_customer_read`)."""
    token = _batch_reads.set(_BatchReads())
    try:
        yield
    finally:
        _batch_reads.reset(token)


def read_customers_ahead(customer_ids: Iterable[int]) -> None:
    batch = _batch_reads.get()
    if batch is None:
        return
    read = batch.customers
    ids = [pk for pk in set(customer_ids) if pk not in read]
    if not ids:
        return
    interests = bulk.interest_tags(ids)
    contracts = bulk.newest_active_contracts(ids)
    for pk in ids:
        contract = contracts.get(pk)
        read[pk] = _CustomerRead(
            interests=interests.get(pk, []),
            contract=contract,
            product_code=contract.product.code if contract else None,
            option_codes=sorted(o.code for o in contract.options.all()) if contract else [],
        )


def forget_customer_read(customer_id: int) -> None:
    batch = _batch_reads.get()
    if batch is not None:
        batch.customers.pop(customer_id, None)


def _read_before(customer: Any) -> _CustomerRead | None:
    batch = _batch_reads.get()
    return batch.customers.get(customer.pk) if batch is not None and customer is not None else None


def _customer_context(customer: Any) -> dict[str, Any]:
    if customer is None:
        return {"is_known": False, "interests": []}
    known = _read_before(customer)
    return {
        "number": customer.customer_number,
        "kind": customer.kind,
        "language": customer.language,
        "segment": customer.segment or None,
        "interests": known.interests
        if known is not None
        else sorted(row[0] for row in sql.fetch_all(_INTERESTS, [customer.pk])),
        "federal_state": None,
        "is_known": True,
    }


def _contract_context(case: Case, customer: Any, today: date) -> dict[str, Any]:
    known = None if case.contract_id else _read_before(customer)
    if known is not None:
        return _contract_fields(known.contract, known.product_code, known.option_codes, today)
    contract = case.contract if case.contract_id else None
    if contract is None and customer is not None:
        found = sql.select(Contract, _ACTIVE_CONTRACT, [customer.pk, "active"])
        contract = found[0] if found else None
    if contract is None:
        return {"options": []}
    product = sql.fetch_one(_PRODUCT_CODE, [contract.product_id])
    options = sorted(row[0] for row in sql.fetch_all(_OPTION_CODES, [contract.pk]))
    return _contract_fields(contract, product[0] if product else None, options, today)


def _contract_fields(
    contract: Contract | None, product_code: str | None, options: list[str], today: date
) -> dict[str, Any]:
    if contract is None:
        return {"options": []}
    ends = contract.end_date
    return {
        "number": contract.contract_number,
        "product": product_code,
        "tariff": product_code,
        "options": options,
        "status": contract.status,
        "starts_on": contract.start_date,
        "ends_on": ends,
        "ends_in_days": (ends - today).days if ends else None,
        "tenure_months": (today.year - contract.start_date.year) * 12
        + today.month
        - contract.start_date.month,
        "monthly_fee": contract.monthly_fee,
    }


# -- notifications -------------------------------------------------------------------------


def notifies_on_opening(case: Case) -> bool:
    """Whether the case's process tells the customer that it was opened (so a channel's own
    acknowledgement would be a second mail)."""
    if not case.process_key:
        return False
    return "case.opened" in definition_of(case).notifications


def notify_event(
    case: Case, definition: CaseTypeDefinition, event: str, *, case_is_new: bool = False
) -> None:
    template = definition.notifications.get(event)
    if template:
        notify(case, definition, template, case_is_new=case_is_new)


def notify(
    case: Case,
    definition: CaseTypeDefinition,
    template: str,
    *,
    recipient: str = "customer",
    case_is_new: bool = False,
) -> None:
    """Queue a message from a template for the customer (through their preferred channel).
    `case_is_new`: asked in the advance that opened the case, before anything was recorded
    on it (no customer's e-mail to answer)."""
    from casework.cases import notifications

    if notifications.sends_at_once():
        try:
            notification = notifications.rendered(case, template, case_is_new=case_is_new)
        except Exception:
            # The change stands; the job tries again and keeps the error for an administrator.
            logger.exception("notifying case %s at once failed; a job takes it", case.pk)
        else:
            # No savepoint of its own: writing it failing fails the advance, whose savepoint
            # leaves the case to the advance job (`_advance_now`).
            notifications.send(notification)
            return
    jobs.enqueue(
        "cases.notify",
        {"case_id": case.pk, "template": template, "recipient": recipient},
        key=f"notify:{case.pk}:{template}:{case.process_revision}:{case.step}",
    )


# -- small helpers -------------------------------------------------------------------------


def _create_task(
    case: Case,
    step: StepSpec | None,
    *,
    kind: str,
    title: Any,
    queue: str | None = None,
    due_hours: float | None = None,
    details: dict[str, Any] | None = None,
) -> Task:
    from casework.cases.services import create_task

    target = Queue.objects.select_related("team").filter(code=queue).first() if queue else None
    due_at = (
        add_business_time(clock.now(), timedelta(hours=due_hours), business_calendar())
        if due_hours
        else None
    )
    task = create_task(
        case,
        title=title.de if hasattr(title, "de") else str(title),
        actor=ENGINE_ACTOR,
        queue=target,
        due_at=due_at,
        assignee_id=case.owner_id if kind in (TaskKind.WORK, TaskKind.FORM) else None,
    )
    task.kind, task.step_key = kind, step.key if step else ""
    task.details = {
        **(details or {}),
        "title": {"de": title.de, "en": title.en}
        if hasattr(title, "de")
        else {"de": str(title), "en": str(title)},
        **({"queue_missing": queue} if queue and target is None else {}),
    }
    task.save(update_fields=["kind", "step_key", "details"])
    return task


def _default_title(step: CollectDataStep) -> BilingualText:
    titles = {}
    for language in ("de", "en"):
        with translation.override(language):
            titles[language] = _("Collect the data")
    return BilingualText(**titles)


def _save(case: Case, *fields: str) -> None:
    # Where the process stands is saved with every change: the engine moves `step` in
    # memory as it goes. Within an advance the write waits for its end (`advance`).
    unsaved = getattr(case, _UNSAVED, None)
    if unsaved is not None:
        unsaved.fields.update(fields)
        return
    sql.update(case, sorted({*fields, "stage", "step", "updated_at"}))


_UNSAVED = "_casework_unsaved"
# A case opened with a reserved key whose row is not written yet (`prepare_start`).
_NOT_INSERTED = "_casework_not_inserted"


# Set by `cases_written_together()`: cases whose row waits for the block's end.
_written_later: ContextVar[list[Case] | None] = ContextVar(
    "casework_cases_written_later", default=None
)


@contextmanager
def cases_written_together() -> Iterator[None]:
    """Within the block a case opened with a reserved key whose first advance ends without
    anyone needing its row is written when the block ends, with the others in one INSERT
    (a batch of retention orders). Only where nothing rolls back halfway
    (`events.services.savepoints_left_out`) and nothing reads those rows inside."""
    later: list[Case] = []
    token = _written_later.set(later)
    try:
        yield
        sql.insert_many(later, with_pk=True)
        for case in later:
            case._state.adding = False
    finally:
        _written_later.reset(token)


def _insert(case: Case) -> None:
    delattr(case, _NOT_INSERTED)
    # Rows that name the case (its clocks, tasks, events' objects) may be written first:
    # the foreign keys are checked at commit.
    sql.insert_many([case], with_pk=True)
    case._state.adding = False


def _fields_of(case: Case) -> dict[str, Any]:
    values = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}
    values["data"] = copy.deepcopy(values["data"])
    return values


@dataclass
class _Unsaved:
    """What an advance changed in memory since the row was last written."""

    stage: str  # as written
    step: str
    fields: set[str] = field(default_factory=set)


def _write_unsaved(case: Case, *, keep_deferring: bool = True) -> None:
    """Write what an advance changed in memory so far (see `advance`); a case opened with
    a reserved key (`prepare_start`) is inserted now."""
    unsaved = getattr(case, _UNSAVED, None)
    if unsaved is None:
        return
    if keep_deferring:
        setattr(case, _UNSAVED, _Unsaved(case.stage, case.step))
    else:
        delattr(case, _UNSAVED)
    later = _written_later.get()
    if getattr(case, _NOT_INSERTED, False) and not keep_deferring and later is not None:
        delattr(case, _NOT_INSERTED)
        later.append(case)
    elif getattr(case, _NOT_INSERTED, False):
        _insert(case)
    elif unsaved.fields or (unsaved.stage, unsaved.step) != (case.stage, case.step):
        sql.update(case, sorted({*unsaved.fields, "stage", "step", "updated_at"}))


def _event(case: Case, code: str, **payload: Any) -> None:
    record(code, actor=ENGINE_ACTOR, object_type="case", object_id=case.pk, payload=_plain(payload))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _plain(value: Any) -> Any:
    """JSON-friendly: exact decimals as int or float, dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _describe(inputs: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {_plain(value)!r}" for name, value in inputs.items())


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        from django.utils import timezone

        return timezone.make_aware(datetime(value.year, value.month, value.day))
    return None


@dataclass(frozen=True)
class ProcessView:
    """What the case screen shows of the process."""

    definition: CaseTypeDefinition
    stages: list[tuple[StageSpec, str]]  # (stage, "done" | "current" | "todo")
    actions: list[tuple[str, str, str]]


def process_view(case: Case) -> ProcessView | None:
    if not case.process_key:
        return None
    definition = definition_of(case)
    main = [stage for stage in definition.stages if not stage.is_alternate]
    current_index = next((i for i, stage in enumerate(main) if stage.key == case.stage), None)
    stages = []
    for index, stage in enumerate(main):
        state = "todo"
        if current_index is not None and index < current_index:
            state = "done"
        if stage.key == case.stage:
            state = "current"
        stages.append((stage, state))
    if current_index is None:  # in an alternate stage
        stages.append((definition.stage(case.stage), "current"))
    return ProcessView(definition, stages, available_actions(case))

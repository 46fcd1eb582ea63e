"""Case type definitions as the engine sees them: frozen, checked, versioned.

A `CaseTypeDefinition` is loaded from one YAML file (`loading.py`) and never changes; a new
version of a case type is a new file with a higher `version`, and running cases keep the
version they were opened with. Every spec remembers the line it came from, so the engine
can point an administrator at the definition behind an exception.

The life cycle: a case enters `initial_stage`, works through the stage's steps in order
(a step whose `condition` is false is skipped), then follows the first automatic transition
(one without `action`) whose condition holds. Transitions with an `action` are offered to
agents (e.g. "withdraw") while their condition holds. A case ends in a `final` stage.
Alternate stages (`is_alternate`) are the ways out of the main path: withdrawn, rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar

from jsonschema import Draft202012Validator

from casework.rules.decisions import DecisionTable
from casework.rules.expressions import Expression


class StepKind(StrEnum):
    """collect_data: a form for an agent or the customer fills data fields.
    decision: a decision table decides; its outputs are stored in data fields.
    set_data: data fields are computed from expressions.
    task: a person does something (a work item in a queue).
    approval: a second person approves (four eyes) before the case goes on.
    notify: a message from a template goes out.
    wait: the case waits for the customer, a date, or its sub-cases.
    subcase: a case of another department's case type is opened.
    integration: an HTTP call to another system; failure becomes an exception.
    action: a function the product ships (`cases.actions`), run in the case's transaction."""

    COLLECT_DATA = "collect_data"
    DECISION = "decision"
    SET_DATA = "set_data"
    TASK = "task"
    APPROVAL = "approval"
    NOTIFY = "notify"
    WAIT = "wait"
    SUBCASE = "subcase"
    INTEGRATION = "integration"
    ACTION = "action"


class WaitFor(StrEnum):
    CUSTOMER_REPLY = "customer_reply"
    UNTIL = "until"
    SUBCASES = "subcases"


class SlaAction(StrEnum):
    RAISE_PRIORITY = "raise_priority"
    ESCALATE = "escalate"
    NOTIFY_SUPERVISOR = "notify_supervisor"


@dataclass(frozen=True)
class BilingualText:
    de: str
    en: str

    def in_language(self, language: str | None) -> str:
        return self.de if (language or "de").startswith("de") else self.en


@dataclass(frozen=True, kw_only=True)
class StepSpec:
    kind: ClassVar[StepKind]
    key: str
    name: BilingualText | None = None
    condition: Expression | None = None  # the step runs only when this holds
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class CollectDataStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.COLLECT_DATA
    audience: str  # "agent" or "customer"
    fields: tuple[str, ...]  # data field paths, without the "data." prefix
    required: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DecisionStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.DECISION
    table: DecisionTable
    table_path: str  # as written in the definition, relative to its file
    output_mapping: Mapping[str, str]  # table output → data field


@dataclass(frozen=True, kw_only=True)
class SetDataStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.SET_DATA
    values: Mapping[str, Expression]  # data field → its new value


@dataclass(frozen=True, kw_only=True)
class TaskStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.TASK
    title: BilingualText
    queue: str | None = None  # None: the case's queue
    skills: tuple[str, ...] = ()
    due_business_hours: float | None = None


@dataclass(frozen=True, kw_only=True)
class ApprovalStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.APPROVAL
    title: BilingualText
    queue: str | None = None
    skills: tuple[str, ...] = ()
    is_four_eyes: bool = True  # the approver must not be whoever worked the case
    due_business_hours: float | None = None


@dataclass(frozen=True, kw_only=True)
class NotifyStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.NOTIFY
    template: str
    recipient: str = "customer"


@dataclass(frozen=True, kw_only=True)
class WaitStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.WAIT
    wait_for: WaitFor
    until: Expression | None = None  # a date or datetime, for WaitFor.UNTIL
    subcases: tuple[str, ...] = ()  # subcase step keys; empty: all of the stage's
    timeout_business_hours: float | None = None


@dataclass(frozen=True, kw_only=True)
class SubcaseStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.SUBCASE
    case_type: str
    version: int | None = None  # None: the latest version when the sub-case is opened
    department: str | None = None
    data_mapping: Mapping[str, Expression] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class IntegrationStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.INTEGRATION
    url: str
    method: str
    retries: int = 3
    timeout_seconds: float = 10
    payload: Mapping[str, Expression] = field(default_factory=dict)
    result_mapping: Mapping[str, str] = field(default_factory=dict)  # response field → data


@dataclass(frozen=True, kw_only=True)
class ActionStep(StepSpec):
    kind: ClassVar[StepKind] = StepKind.ACTION
    action: str  # a name registered in `casework.cases.actions`


@dataclass(frozen=True, kw_only=True)
class TransitionSpec:
    to: str
    condition: Expression | None = None
    action: str | None = None  # None: taken automatically when the stage's steps are done
    name: BilingualText | None = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class StageSpec:
    key: str
    name: BilingualText
    is_alternate: bool = False
    is_final: bool = False
    steps: tuple[StepSpec, ...] = ()
    transitions: tuple[TransitionSpec, ...] = ()
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class SlaSpec:
    first_response_business_hours: Mapping[str, float]  # per priority
    resolution_business_hours: Mapping[str, float]
    warning_at_percent: tuple[int, ...] = ()
    on_warning: tuple[SlaAction, ...] = ()
    on_breach: tuple[SlaAction, ...] = ()

    def first_response(self, priority: str) -> timedelta:
        return timedelta(hours=self.first_response_business_hours[priority])

    def resolution(self, priority: str) -> timedelta:
        return timedelta(hours=self.resolution_business_hours[priority])


@dataclass(frozen=True, kw_only=True)
class RoutingSpec:
    queue: str
    skills: tuple[str, ...] = ()
    escalation_queue: str | None = None
    escalation_skills: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaseTypeDefinition:
    key: str
    version: int
    name: BilingualText
    description: BilingualText | None
    service_types: tuple[str, ...]
    channels: tuple[str, ...]
    department: str | None
    data_schema: Mapping[str, Any]  # JSON Schema of the case's data; read-only
    stages: tuple[StageSpec, ...]
    initial_stage: str
    sla: SlaSpec | None
    routing: RoutingSpec | None
    notifications: Mapping[str, str]  # event code → template key
    source: str  # the file, as shown in problems
    known_names: frozenset[str]  # what conditions may name

    def stage(self, key: str) -> StageSpec:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def step(self, key: str) -> StepSpec:
        for stage in self.stages:
            for step in stage.steps:
                if step.key == key:
                    return step
        raise KeyError(key)

    def stage_of_step(self, key: str) -> StageSpec:
        for stage in self.stages:
            if any(step.key == key for step in stage.steps):
                return stage
        raise KeyError(key)

    @property
    def final_stages(self) -> tuple[StageSpec, ...]:
        return tuple(stage for stage in self.stages if stage.is_final)

    def data_problems(self, data: Mapping[str, object]) -> list[str]:
        """What is wrong with a case's data under this case type's data schema."""
        validator = Draft202012Validator(self.data_schema)
        return [
            f"{'.'.join(map(str, error.absolute_path)) or 'data'}: {error.message}"
            for error in validator.iter_errors(data)
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

"""Loading case type files: schema, meaning, and the registry of all versions.

Checks beyond the schema, each reported with file and line:

- every step kind is known, every stage and step a definition names exists, keys are unique;
- every stage is reachable from the initial stage, and every stage can reach a final one
  (a cycle with no way out would keep a case forever);
- every condition parses and names only known fields (`schema.CONTEXT_FIELDS` and the
  case type's own `data` schema), every data field a step fills is declared;
- every decision table exists inside the case type's folder and passes its own checks;
  output mappings name real outputs;
- across a folder: (key, version) pairs are unique, sub-case types exist and their data
  mappings fill declared fields.

A folder holds one case type per YAML file at its top level; decision tables live in
sub-folders (by convention `decisions/`) and are found through the case types that use
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from casework.cases.definitions.schema import (
    CASE_TYPE_SCHEMA,
    CONTEXT_FIELDS,
    STEP_KINDS,
    step_schema,
)
from casework.cases.definitions.specs import (
    ActionStep,
    ApprovalStep,
    BilingualText,
    CaseTypeDefinition,
    CollectDataStep,
    DecisionStep,
    IntegrationStep,
    NotifyStep,
    RoutingSpec,
    SetDataStep,
    SlaAction,
    SlaSpec,
    StageSpec,
    StepSpec,
    SubcaseStep,
    TaskStep,
    TransitionSpec,
    WaitFor,
    WaitStep,
)
from casework.kernel.errors import NotFound
from casework.rules.decisions import DecisionTable, load_table
from casework.rules.expressions import (
    Expression,
    ExpressionError,
    KnownNames,
    compile_expression,
)
from casework.rules.problems import InvalidDefinition, Problem, sorted_problems
from casework.rules.sources import LineDict, LineList, parse_yaml, read_text, schema_problems
from casework.rules.translation import gettext as _

SHIPPED_CASETYPES_DIR = Path(__file__).resolve().parent.parent / "casetypes"
YAML_SUFFIXES = (".yaml", ".yml")


def _quoted(text: object) -> str:
    return f'"{text}"'


# ---------------------------------------------------------------------------- registry


class CaseTypeRegistry:
    """Every loaded case type, by (key, version)."""

    def __init__(self, definitions: Iterable[CaseTypeDefinition] = ()) -> None:
        self._by_version: dict[tuple[str, int], CaseTypeDefinition] = {}
        for definition in definitions:
            self._by_version[(definition.key, definition.version)] = definition

    def find(self, key: str, version: int | None = None) -> CaseTypeDefinition | None:
        """The case type in `version`, or its latest version; None if there is none."""
        if version is not None:
            return self._by_version.get((key, version))
        versions = self.versions(key)
        return self._by_version[(key, versions[-1])] if versions else None

    def get(self, key: str, version: int | None = None) -> CaseTypeDefinition:
        definition = self.find(key, version)
        if definition is None:
            raise NotFound(
                _("no case type %(key)s%(version)s")
                % {"key": _quoted(key), "version": "" if version is None else f" v{version}"},
                key=key,
                version=version,
            )
        return definition

    def versions(self, key: str) -> list[int]:
        return sorted(version for (known, version) in self._by_version if known == key)

    def keys(self) -> list[str]:
        return sorted({key for key, _version in self._by_version})

    def __iter__(self) -> Iterator[CaseTypeDefinition]:
        return iter(self._by_version[pair] for pair in sorted(self._by_version))

    def __len__(self) -> int:
        return len(self._by_version)

    def __contains__(self, pair: object) -> bool:
        return pair in self._by_version


@dataclass
class CheckReport:
    """What `check_path` found: the usable definitions and every problem."""

    problems: list[Problem] = field(default_factory=list)
    case_types: list[CaseTypeDefinition] = field(default_factory=list)
    tables: list[DecisionTable] = field(default_factory=list)
    files: int = 0

    @property
    def is_clean(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------- public API


def load_case_type(path: Path, *, display: str | None = None) -> CaseTypeDefinition:
    """The case type in `path`; InvalidDefinition lists every problem (references to
    other case types are checked only when loading a folder)."""
    builder = _CaseTypeBuilder(path, display or str(path))
    definition = builder.build()
    if builder.problems or definition is None:
        raise InvalidDefinition(builder.problems)
    return definition


def load_case_types(folders: Iterable[Path]) -> CaseTypeRegistry:
    """Every case type in `folders` (later folders may add versions, not repeat them);
    InvalidDefinition lists every problem in all of them."""
    report = CheckReport()
    for folder in folders:
        _check_folder(folder, str(folder), report, check_tables=False)
    report.problems.extend(cross_check(report.case_types))
    if report.problems:
        raise InvalidDefinition(report.problems)
    return CaseTypeRegistry(report.case_types)


def check_path(path: Path) -> CheckReport:
    """Check a case type file, a decision table file (`.csv`, or YAML with `rules:`) or a
    folder of case types; problems are returned, not raised."""
    report = CheckReport()
    if path.is_dir():
        _check_folder(path, str(path), report, check_tables=True)
    elif path.suffix.lower() == ".csv" or (path.is_file() and _looks_like_table(path)):
        report.files += 1
        try:
            report.tables.append(load_table(path))
        except InvalidDefinition as error:
            report.problems.extend(error.problems)
    else:
        report.files += 1
        builder = _CaseTypeBuilder(path, str(path))
        definition = builder.build()
        report.problems.extend(builder.problems)
        if definition is not None and not builder.problems:
            report.case_types.append(definition)
    report.problems = sorted_problems(report.problems)
    return report


def cross_check(definitions: Sequence[CaseTypeDefinition]) -> list[Problem]:
    """Problems between case types: repeated versions, sub-cases of unknown types."""
    problems: list[Problem] = []
    seen: dict[tuple[str, int], CaseTypeDefinition] = {}
    for definition in definitions:
        pair = (definition.key, definition.version)
        if pair in seen:
            problems.append(
                Problem(
                    definition.source,
                    1,
                    _("case type %(key)s version %(version)d is also defined in %(other)s")
                    % {
                        "key": _quoted(definition.key),
                        "version": definition.version,
                        "other": seen[pair].source,
                    },
                )
            )
        seen.setdefault(pair, definition)
    registry = CaseTypeRegistry(definitions)
    for definition in definitions:
        for stage in definition.stages:
            for step in stage.steps:
                if isinstance(step, SubcaseStep):
                    problems.extend(_subcase_problems(definition, step, registry))
    return problems


def _subcase_problems(
    definition: CaseTypeDefinition, step: SubcaseStep, registry: CaseTypeRegistry
) -> Iterator[Problem]:
    target = registry.find(step.case_type, step.version)
    where = _("step %(key)s") % {"key": _quoted(step.key)}
    if target is None:
        known = ", ".join(registry.keys())
        yield Problem(
            definition.source,
            step.line,
            _("%(where)s: unknown case type %(key)s%(version)s (known: %(known)s)")
            % {
                "where": where,
                "key": _quoted(step.case_type),
                "version": "" if step.version is None else f" v{step.version}",
                "known": known,
            },
        )
        return
    target_fields = KnownNames(_data_paths(target.data_schema))
    for name in step.data_mapping:
        if not target_fields.admits(f"data.{name}"):
            yield Problem(
                definition.source,
                step.line,
                _("%(where)s: case type %(key)s has no data field %(field)s")
                % {"where": where, "key": _quoted(target.key), "field": _quoted(name)},
            )


def _check_folder(folder: Path, shown: str, report: CheckReport, *, check_tables: bool) -> None:
    if not folder.is_dir():
        report.problems.append(Problem(shown, None, _("not a folder")))
        return
    files = sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix in YAML_SUFFIXES
    )
    for path in files:
        report.files += 1
        builder = _CaseTypeBuilder(path, str(Path(shown) / path.name))
        definition = builder.build()
        report.problems.extend(builder.problems)
        if definition is not None and not builder.problems:
            report.case_types.append(definition)
    if check_tables:
        # Tables no case type uses still deserve a check; those in use were checked already
        # (with the case type's field names), and repeated problems are dropped by sorting.
        for path in sorted(folder.rglob("*")):
            if path.parent == folder or not path.is_file():
                continue
            if path.suffix.lower() not in (*YAML_SUFFIXES, ".csv"):
                continue
            report.files += 1
            try:
                report.tables.append(
                    load_table(path, display=str(Path(shown) / path.relative_to(folder)))
                )
            except InvalidDefinition as error:
                report.problems.extend(error.problems)
        report.problems.extend(cross_check(report.case_types))
    report.problems[:] = sorted_problems(report.problems)


def _looks_like_table(path: Path) -> bool:
    try:
        document = parse_yaml(read_text(path), str(path))
    except InvalidDefinition:
        return False
    return isinstance(document, dict) and "rules" in document and "stages" not in document


def _data_paths(schema: Mapping[str, Any], prefix: str = "data") -> set[str]:
    """The dotted names a JSON Schema of an object declares, for KnownNames: an object
    without declared properties (or open to more) admits everything below it."""
    paths = {prefix}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        if schema.get("type") in (None, "object"):
            paths.add(f"{prefix}.*")
        return paths
    for name, child in properties.items():
        child_prefix = f"{prefix}.{name}"
        if isinstance(child, Mapping) and (child.get("type") == "object" or "properties" in child):
            paths |= _data_paths(child, child_prefix)
        else:
            paths.add(child_prefix)
    if schema.get("additionalProperties", True) is not False:
        paths.add(f"{prefix}.*")
    return paths


# ---------------------------------------------------------------------------- one file


class _CaseTypeBuilder:
    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.problems: list[Problem] = []
        self.known = KnownNames(())
        self.data_fields = KnownNames(())

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.shown, line, message))

    def build(self) -> CaseTypeDefinition | None:
        try:
            document = parse_yaml(read_text(self.path, self.shown), self.shown)
        except InvalidDefinition as error:
            self.problems.extend(error.problems)
            return None
        if not isinstance(document, LineDict):
            self.problem(
                document.line if isinstance(document, LineList) else None,
                _("a case type must be a YAML mapping"),
            )
            return None
        self.problems.extend(schema_problems(document, CASE_TYPE_SCHEMA, self.shown))
        if self.problems:
            return None
        # A malformed step is reported and left out, so that the checks of meaning still
        # run on the rest of the file and the author sees all problems at once.
        for stage in document["stages"]:
            steps = stage.get("steps", [])
            for index in reversed(range(len(steps))):
                if not self.is_step_well_formed(steps[index]):
                    del steps[index]
                    del steps.item_lines[index]
        definition = self.definition(document)
        return None if self.problems else definition

    def is_step_well_formed(self, step: LineDict) -> bool:
        kind = step["kind"]
        where = _("step %(key)s") % {"key": _quoted(step["key"])}
        if kind not in STEP_KINDS:
            self.problem(
                step.line_of("kind"),
                _("%(where)s: unknown kind %(kind)s (known: %(known)s)")
                % {"where": where, "kind": _quoted(kind), "known": ", ".join(STEP_KINDS)},
            )
            return False
        problems = schema_problems(step, step_schema(kind), self.shown, prefix=f"{where}: ")
        if kind == "wait" and step.get("for") == "until" and "until" not in step:
            problems.append(
                Problem(
                    self.shown,
                    step.line,
                    _("%(where)s: waiting until needs until:") % {"where": where},
                )
            )
        self.problems.extend(problems)
        return not problems

    # -------------------------------------------------------------- meaning

    def definition(self, document: LineDict) -> CaseTypeDefinition | None:
        data_schema = document["data"]
        try:
            Draft202012Validator.check_schema(data_schema)
        except SchemaError as error:
            self.problem(
                document.line_of("data"),
                _("data: not a valid JSON Schema: %(reason)s") % {"reason": error.message},
            )
        stages_raw: LineList = document["stages"]
        steps_raw = [(stage, step) for stage in stages_raw for step in stage.get("steps", [])]
        data_paths = _data_paths(data_schema)
        self.data_fields = KnownNames(data_paths)
        # Conditions may ask how an approval or a sub-case of this case type went; names in
        # expressions cannot hold hyphens, so a step key's hyphens become underscores.
        step_names = set()
        for _stage, step in steps_raw:
            name = step["key"].replace("-", "_")
            if step["kind"] == "approval":
                step_names |= {f"approvals.{name}.approved", f"approvals.{name}.by"}
            if step["kind"] == "subcase":
                step_names |= {
                    f"subcases.{name}.status",
                    f"subcases.{name}.resolution_code",
                    f"subcases.{name}.data.*",
                }
        self.known = KnownNames({*CONTEXT_FIELDS, *data_paths, *step_names})

        self.check_unique_keys(stages_raw, steps_raw)
        stages = tuple(self.stage(stage) for stage in stages_raw)
        stage_keys = [stage.key for stage in stages]
        initial = document.get("initial_stage", stage_keys[0])
        if initial not in stage_keys:
            self.problem(
                document.line_of("initial_stage"),
                _("initial_stage: unknown stage %(key)s (stages: %(known)s)")
                % {"key": _quoted(initial), "known": ", ".join(stage_keys)},
            )
        else:
            self.check_life_cycle(stages, initial)
        self.check_wait_references(stages)
        service_type = document["service_type"]
        sla = self.sla(document["sla"]) if "sla" in document else None
        routing = document.get("routing")
        if self.problems:
            return None
        return CaseTypeDefinition(
            key=document["key"],
            version=document["version"],
            name=_bilingual(document["name"]),
            description=_bilingual(document["description"]) if "description" in document else None,
            service_types=(service_type,) if isinstance(service_type, str) else tuple(service_type),
            channels=tuple(document.get("channels", ())),
            department=document.get("department"),
            data_schema=MappingProxyType(_plain(data_schema)),
            stages=stages,
            initial_stage=initial,
            sla=sla,
            routing=None
            if routing is None
            else RoutingSpec(
                queue=routing["queue"],
                skills=tuple(routing.get("skills", ())),
                escalation_queue=routing.get("escalation", {}).get("queue"),
                escalation_skills=tuple(routing.get("escalation", {}).get("skills", ())),
            ),
            notifications=MappingProxyType(dict(document.get("notifications", {}))),
            source=self.shown,
            known_names=self.known.paths,
        )

    def check_unique_keys(
        self, stages: LineList, steps: Sequence[tuple[LineDict, LineDict]]
    ) -> None:
        seen: dict[str, int] = {}
        for stage in stages:
            if stage["key"] in seen:
                self.problem(
                    stage.line_of("key"),
                    _("stage %(key)s is defined twice (first on line %(line)d)")
                    % {"key": _quoted(stage["key"]), "line": seen[stage["key"]]},
                )
            seen.setdefault(stage["key"], stage.line_of("key"))
        seen = {}
        for _stage, step in steps:
            if step["key"] in seen:
                self.problem(
                    step.line_of("key"),
                    _("step %(key)s is defined twice (first on line %(line)d)")
                    % {"key": _quoted(step["key"]), "line": seen[step["key"]]},
                )
            seen.setdefault(step["key"], step.line_of("key"))

    def expression(self, source: str, line: int, where: str) -> Expression | None:
        try:
            return compile_expression(source, self.known)
        except ExpressionError as error:
            self.problem(
                line,
                _("%(where)s: expression %(source)s: %(error)s")
                % {"where": where, "source": f"'{source}'", "error": error},
            )
            return None

    def data_field(self, name: str, line: int, where: str) -> None:
        if not self.data_fields.admits(f"data.{name}"):
            suggestion = self.data_fields.suggest(f"data.{name}")
            message = _("%(where)s: unknown data field %(name)s") % {
                "where": where,
                "name": _quoted(name),
            }
            if suggestion:
                message += " " + _("(did you mean %(name)s?)") % {
                    "name": _quoted(suggestion.removeprefix("data."))
                }
            self.problem(line, message)

    def stage(self, raw: LineDict) -> StageSpec:
        where = _("stage %(key)s") % {"key": _quoted(raw["key"])}
        transitions = []
        for item in raw.get("transitions", []):
            condition = None
            if "when" in item:
                condition = self.expression(
                    item["when"],
                    item.line_of("when"),
                    _("%(where)s, transition to %(to)s")
                    % {"where": where, "to": _quoted(item["to"])},
                )
            transitions.append(
                TransitionSpec(
                    to=item["to"],
                    condition=condition,
                    action=item.get("action"),
                    name=_bilingual(item["name"]) if "name" in item else None,
                    line=item.line,
                )
            )
        if raw.get("final") and transitions:
            self.problem(
                raw.line_of("transitions"),
                _("%(where)s: a final stage has no transitions") % {"where": where},
            )
        steps = tuple(
            step for step in (self.step(item) for item in raw.get("steps", [])) if step is not None
        )
        return StageSpec(
            key=raw["key"],
            name=_bilingual(raw["name"]),
            is_alternate=bool(raw.get("alternate", False)),
            is_final=bool(raw.get("final", False)),
            steps=steps,
            transitions=tuple(transitions),
            line=raw.line,
        )

    def step(self, raw: LineDict) -> StepSpec | None:
        where = _("step %(key)s") % {"key": _quoted(raw["key"])}
        common: dict[str, Any] = {
            "key": raw["key"],
            "name": _bilingual(raw["name"]) if "name" in raw else None,
            "line": raw.line,
        }
        if "when" in raw:
            common["condition"] = self.expression(raw["when"], raw.line_of("when"), where)
        kind = raw["kind"]
        if kind == "collect_data":
            for index, name in enumerate(raw["fields"]):
                self.data_field(name, raw["fields"].line_of(index), where)
            for name in raw.get("required", []):
                if name not in raw["fields"]:
                    self.problem(
                        raw.line_of("required"),
                        _("%(where)s: required field %(name)s is not among the fields")
                        % {"where": where, "name": _quoted(name)},
                    )
            return CollectDataStep(
                **common,
                audience=raw["for"],
                fields=tuple(raw["fields"]),
                required=tuple(raw.get("required", ())),
            )
        if kind == "decision":
            return self.decision_step(raw, where, common)
        if kind == "set_data":
            return SetDataStep(**common, values=self.expressions(raw["values"], where, fill=True))
        if kind == "task":
            return TaskStep(
                **common,
                title=_bilingual(raw["title"]),
                queue=raw.get("queue"),
                skills=tuple(raw.get("skills", ())),
                due_business_hours=raw.get("due_business_hours"),
            )
        if kind == "approval":
            return ApprovalStep(
                **common,
                title=_bilingual(raw["title"]),
                queue=raw.get("queue"),
                skills=tuple(raw.get("skills", ())),
                is_four_eyes=raw.get("four_eyes", True),
                due_business_hours=raw.get("due_business_hours"),
            )
        if kind == "notify":
            return NotifyStep(
                **common, template=raw["template"], recipient=raw.get("to", "customer")
            )
        if kind == "wait":
            until = None
            if "until" in raw:
                until = self.expression(raw["until"], raw.line_of("until"), where)
            return WaitStep(
                **common,
                wait_for=WaitFor(raw["for"]),
                until=until,
                subcases=tuple(raw.get("subcases", ())),
                timeout_business_hours=raw.get("timeout_business_hours"),
            )
        if kind == "subcase":
            return SubcaseStep(
                **common,
                case_type=raw["case_type"],
                version=raw.get("version"),
                department=raw.get("department"),
                data_mapping=self.expressions(raw.get("data_mapping", {}), where, fill=False),
            )
        if kind == "action":
            from casework.cases import actions

            # Actions register when their app is ready; outside Django nothing is known yet.
            if actions.registered_names() and not actions.is_registered(raw["action"]):
                self.problem(
                    raw.line_of("action"),
                    _("%(where)s: unknown action %(name)s (installed: %(known)s)")
                    % {
                        "where": where,
                        "name": _quoted(raw["action"]),
                        "known": ", ".join(actions.registered_names()),
                    },
                )
            return ActionStep(**common, action=raw["action"])
        result_mapping = raw.get("result_mapping", {})
        for response_field, name in result_mapping.items():
            self.data_field(name, result_mapping.line_of(response_field), where)
        return IntegrationStep(
            **common,
            url=raw["url"],
            method=raw["method"],
            retries=raw.get("retries", 3),
            timeout_seconds=raw.get("timeout_seconds", 10),
            payload=self.expressions(raw.get("payload", {}), where, fill=False),
            result_mapping=MappingProxyType(dict(result_mapping)),
        )

    def expressions(self, raw: LineDict, where: str, *, fill: bool) -> Mapping[str, Expression]:
        """Compiled expressions by name; with `fill`, the names are data fields to set."""
        compiled = {}
        for name, source in raw.items():
            if fill:
                self.data_field(name, raw.line_of(name), where)
            expression = self.expression(source, raw.line_of(name), f"{where}, {name}")
            if expression is not None:
                compiled[name] = expression
        return MappingProxyType(compiled)

    def decision_step(self, raw: LineDict, where: str, common: dict[str, Any]) -> StepSpec | None:
        reference = raw["table"]
        line = raw.line_of("table")
        folder = self.path.resolve().parent
        table_path = (folder / reference).resolve()
        if not table_path.is_relative_to(folder):
            self.problem(
                line,
                _("%(where)s: decision table %(path)s must be inside the case type's folder")
                % {"where": where, "path": _quoted(reference)},
            )
            return None
        if not table_path.is_file():
            self.problem(
                line,
                _("%(where)s: decision table %(path)s not found")
                % {"where": where, "path": _quoted(reference)},
            )
            return None
        shown = str(Path(self.shown).parent / reference)
        try:
            table = load_table(table_path, display=shown, known_names=self.known)
        except InvalidDefinition as error:
            self.problems.extend(error.problems)
            return None
        mapping = raw["output_mapping"]
        for output, name in mapping.items():
            if table.output(output) is None:
                self.problem(
                    mapping.line_of(output),
                    _(
                        "%(where)s: decision table %(path)s has no output %(name)s "
                        "(outputs: %(known)s)"
                    )
                    % {
                        "where": where,
                        "path": _quoted(reference),
                        "name": _quoted(output),
                        "known": ", ".join(o.name for o in table.outputs),
                    },
                )
            self.data_field(name, mapping.line_of(output), where)
        return DecisionStep(
            **common,
            table=table,
            table_path=reference,
            output_mapping=MappingProxyType(dict(mapping)),
        )

    def check_wait_references(self, stages: Sequence[StageSpec]) -> None:
        for stage in stages:
            subcases = {step.key for step in stage.steps if isinstance(step, SubcaseStep)}
            for step in stage.steps:
                if not isinstance(step, WaitStep):
                    continue
                for key in step.subcases:
                    if key not in subcases:
                        self.problem(
                            step.line,
                            _("step %(step)s: %(key)s is not a subcase step of stage %(stage)s")
                            % {
                                "step": _quoted(step.key),
                                "key": _quoted(key),
                                "stage": _quoted(stage.key),
                            },
                        )
                if step.wait_for is WaitFor.SUBCASES and not subcases:
                    self.problem(
                        step.line,
                        _("step %(step)s: waits for sub-cases, but stage %(stage)s opens none")
                        % {"step": _quoted(step.key), "stage": _quoted(stage.key)},
                    )

    def check_life_cycle(self, stages: Sequence[StageSpec], initial: str) -> None:
        by_key = {stage.key: stage for stage in stages}
        for stage in stages:
            for transition in stage.transitions:
                if transition.to not in by_key:
                    self.problem(
                        transition.line,
                        _("stage %(stage)s: transition to unknown stage %(to)s (stages: %(known)s)")
                        % {
                            "stage": _quoted(stage.key),
                            "to": _quoted(transition.to),
                            "known": ", ".join(by_key),
                        },
                    )
        if not any(stage.is_final for stage in stages):
            self.problem(stages[0].line, _("no stage is final; a case could never end"))
            return
        if by_key[initial].is_alternate:
            self.problem(
                by_key[initial].line, _("the initial stage must not be an alternate stage")
            )
        successors = {
            stage.key: {t.to for t in stage.transitions if t.to in by_key} for stage in stages
        }
        reachable = _reach(successors, initial)
        for stage in stages:
            if stage.key not in reachable:
                self.problem(
                    stage.line,
                    _("stage %(stage)s is unreachable from the initial stage %(initial)s")
                    % {"stage": _quoted(stage.key), "initial": _quoted(initial)},
                )
        finals = {stage.key for stage in stages if stage.is_final}
        stuck = [
            stage
            for stage in stages
            if stage.key in reachable and not (_reach(successors, stage.key) & finals)
        ]
        reported: set[str] = set()
        for stage in stuck:
            if stage.key in reported:
                continue
            members = [
                other.key
                for other in stages
                if other.key != stage.key
                and other.key in _reach(successors, stage.key)
                and stage.key in _reach(successors, other.key)
            ]
            is_looping = bool(members) or stage.key in successors[stage.key]
            cycle = [stage.key, *members] if is_looping else []
            reported |= set(cycle)
            if cycle:
                self.problem(
                    stage.line,
                    _(
                        "stage %(stage)s cannot reach a final stage: "
                        "the cycle %(cycle)s has no way out"
                    )
                    % {"stage": _quoted(stage.key), "cycle": " → ".join([*cycle, cycle[0]])},
                )
            else:
                self.problem(
                    stage.line,
                    _("stage %(stage)s cannot reach a final stage") % {"stage": _quoted(stage.key)},
                )

    def sla(self, raw: LineDict) -> SlaSpec:
        first = raw["first_response_business_hours"]
        resolution = raw["resolution_business_hours"]
        for priority, hours in first.items():
            if resolution[priority] < hours:
                self.problem(
                    resolution.line_of(priority),
                    _(
                        "sla: resolution for %(priority)s (%(resolution)s h) comes before "
                        "the first response (%(first)s h)"
                    )
                    % {"priority": priority, "resolution": resolution[priority], "first": hours},
                )
        return SlaSpec(
            first_response_business_hours=MappingProxyType(dict(first)),
            resolution_business_hours=MappingProxyType(dict(resolution)),
            warning_at_percent=tuple(sorted(raw.get("warning_at_percent", ()))),
            on_warning=tuple(SlaAction(action) for action in raw.get("on_warning", ())),
            on_breach=tuple(SlaAction(action) for action in raw.get("on_breach", ())),
        )


def _reach(successors: Mapping[str, set[str]], start: str) -> set[str]:
    """Every stage reachable from `start`, itself included."""
    seen = {start}
    frontier = [start]
    while frontier:
        for following in successors.get(frontier.pop(), ()):
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return seen


def _bilingual(raw: Mapping[str, str]) -> BilingualText:
    return BilingualText(de=raw["de"], en=raw["en"])


def _plain(value: Any) -> Any:
    """The YAML value without line bookkeeping (for the data schema the engine keeps)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value

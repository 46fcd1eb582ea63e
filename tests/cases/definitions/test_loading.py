from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from casework.cases.definitions import (
    SHIPPED_CASETYPES_DIR,
    StepKind,
    check_path,
    load_case_type,
    load_case_types,
)
from casework.cases.definitions.specs import ApprovalStep, DecisionStep, SubcaseStep, WaitFor
from casework.kernel.errors import NotFound
from casework.rules.decisions import Decision, NoMatch, evaluate
from casework.rules.problems import InvalidDefinition

MINIMAL = """\
key: small-request
version: 2
name: {de: Kleines Anliegen, en: Small request}
service_type: advice
data:
  type: object
  additionalProperties: false
  properties:
    topic: {type: string}
    amount: {type: number}
stages:
  - key: open
    name: {de: Offen, en: Open}
    steps:
      - key: answer
        kind: task
        title: {de: Antworten, en: Answer}
    transitions:
      - to: done
        when: data.amount > 10
      - to: done
  - key: done
    name: {de: Erledigt, en: Done}
    final: true
"""


def write(folder: Path, text: str, name: str = "small-request.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    return [str(problem).removeprefix(f"{path.parent}/") for problem in check_path(path).problems]


def test_shipped_case_types_pass_every_check():
    report = check_path(SHIPPED_CASETYPES_DIR)
    assert report.problems == []
    assert {definition.key for definition in report.case_types} == {
        "collecting-society-request",
        "licensing-request",
        "distribution-request",
        "telecom-contract-change",
        "complaint-goodwill",
        "retention-order",
    }
    assert len(report.tables) == 5


def test_registry_finds_versions():
    registry = load_case_types([SHIPPED_CASETYPES_DIR])
    telecom = registry.get("telecom-contract-change")
    assert telecom.version == 3
    assert registry.get("telecom-contract-change", 3) is telecom
    assert registry.find("telecom-contract-change", 2) is None
    with pytest.raises(NotFound):
        registry.get("no-such-type")
    assert ("retention-order", 1) in registry and ("retention-order", 2) in registry
    assert registry.get("retention-order").version == 2
    assert len(registry) == 7


def test_a_definition_exposes_what_the_engine_needs():
    registry = load_case_types([SHIPPED_CASETYPES_DIR])
    complaint = registry.get("complaint-goodwill")
    approval = complaint.step("approve-goodwill")
    assert isinstance(approval, ApprovalStep)
    assert approval.is_four_eyes
    assert approval.condition is not None
    assert approval.condition.is_true({"data": {"goodwill_amount": 50.5}})
    assert not approval.condition.is_true({"data": {"goodwill_amount": 50}})
    assert complaint.stage_of_step("approve-goodwill").key == "approval"
    assert complaint.sla is not None
    assert complaint.sla.resolution("high").total_seconds() == 24 * 3600
    assert [stage.key for stage in complaint.final_stages] == ["resolved", "withdrawn"]
    assert complaint.data_problems({"complaint_reason": "outage"}) == []
    assert complaint.data_problems({"complaint_reason": "boredom"})

    society = registry.get("collecting-society-request")
    subcase = society.step("ask-licensing")
    assert isinstance(subcase, SubcaseStep)
    assert subcase.case_type == "licensing-request"
    assert society.service_types == ("advice", "support", "complaint")
    wait = society.step("wait-for-department")
    assert wait.kind is StepKind.WAIT and wait.wait_for is WaitFor.SUBCASES  # type: ignore[attr-defined]


def test_retention_order_decides_straight_through_or_yields_no_match():
    retention = load_case_types([SHIPPED_CASETYPES_DIR]).get("retention-order")
    step = retention.step("choose-offer")
    assert isinstance(step, DecisionStep)
    loyal = {"customer": {"segment": "gold"}, "contract": {"ends_in_days": 30, "tenure_months": 40}}
    decision = evaluate(step.table, loyal)
    assert isinstance(decision, Decision)
    assert decision.outputs == {"offer": "discount-20"}
    not_ending = {"customer": {"segment": "gold"}, "contract": {"ends_in_days": 400}}
    assert isinstance(evaluate(step.table, not_ending), NoMatch)


def test_minimal_definition_loads(tmp_path):
    definition = load_case_type(write(tmp_path, MINIMAL))
    assert (definition.key, definition.version) == ("small-request", 2)
    assert definition.initial_stage == "open"
    assert definition.stage("open").transitions[0].condition.source == "data.amount > 10"
    assert "data.topic" in definition.known_names


def test_unknown_step_kind_is_reported_with_file_line_and_known_kinds(tmp_path):
    path = write(tmp_path, MINIMAL.replace("kind: task", "kind: desicion"))
    assert problems_of(path) == [
        'small-request.yaml:16: step "answer": unknown kind "desicion" (known: collect_data, '
        "decision, set_data, task, approval, notify, wait, subcase, integration, action)"
    ]


def test_invalid_yaml_reports_its_line(tmp_path):
    path = write(tmp_path, MINIMAL.replace("    final: true\n", "    final: [true\n"))
    (problem,) = problems_of(path)
    assert problem.startswith("small-request.yaml:25: invalid YAML")


def test_unreachable_stages_are_reported(tmp_path):
    text = MINIMAL + (
        "  - key: forgotten\n    name: {de: Vergessen, en: Forgotten}\n"
        "    transitions:\n      - to: done\n"
    )
    assert problems_of(write(tmp_path, text)) == [
        'small-request.yaml:25: stage "forgotten" is unreachable from the initial stage "open"'
    ]


def test_cycles_without_exit_are_reported(tmp_path):
    text = MINIMAL.replace(
        "      - to: done\n        when: data.amount > 10\n      - to: done\n",
        "      - to: rework\n",
    ) + (
        "  - key: rework\n    name: {de: Nacharbeit, en: Rework}\n"
        "    transitions:\n      - to: open\n"
    )
    assert problems_of(write(tmp_path, text)) == [
        'small-request.yaml:12: stage "open" cannot reach a final stage: the cycle '
        "open → rework → open has no way out",
        'small-request.yaml:20: stage "done" is unreachable from the initial stage "open"',
    ]


def test_dead_ends_and_missing_final_stages(tmp_path):
    dead_end = MINIMAL.replace("    final: true\n", "")
    assert problems_of(write(tmp_path, dead_end)) == [
        "small-request.yaml:12: no stage is final; a case could never end"
    ]
    stuck = (
        MINIMAL.replace(
            "      - to: done\n        when: data.amount > 10\n      - to: done\n",
            "      - to: waiting\n",
        )
        + "  - key: waiting\n    name: {de: W, en: W}\n"
    )
    assert problems_of(write(tmp_path, stuck)) == [
        'small-request.yaml:12: stage "open" cannot reach a final stage',
        'small-request.yaml:20: stage "done" is unreachable from the initial stage "open"',
        'small-request.yaml:23: stage "waiting" cannot reach a final stage',
    ]


def test_unparseable_expressions_and_unknown_fields(tmp_path):
    text = MINIMAL.replace("when: data.amount > 10", "when: data.amount >> 10").replace(
        "kind: task\n", "kind: task\n        when: data.amout > 5\n"
    )
    assert problems_of(write(tmp_path, text)) == [
        "small-request.yaml:17: step \"answer\": expression 'data.amout > 5': column 1: "
        'unknown field "data.amout" (did you mean "data.amount"?)',
        'small-request.yaml:21: stage "open", transition to "done": expression '
        "'data.amount >> 10': column 14: unexpected '>'",
    ]


def test_hostile_expression_in_a_definition_is_rejected_with_its_line(tmp_path):
    deep = "(" * 500 + "true" + ")" * 500
    text = MINIMAL.replace("when: data.amount > 10", f"when: '{deep}'")
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.startswith('small-request.yaml:20: stage "open", transition to "done"')
    assert "nested too deeply" in problem
    huge = MINIMAL.replace("when: data.amount > 10", "when: '" + "true and " * 400 + "true'")
    (problem,) = problems_of(write(tmp_path, huge))
    assert "too long" in problem


def test_schema_problems_name_the_field_and_line(tmp_path):
    text = MINIMAL.replace("version: 2", "version: two").replace(
        "service_type: advice", "service_type: advise\ncolour: blue"
    )
    assert problems_of(write(tmp_path, text)) == [
        'small-request.yaml:2: version: expected integer, got "two"',
        "small-request.yaml:4: service_type: 'advise' is not valid under any of the given schemas",
        'small-request.yaml:5: unknown field "colour" (known: channels, data, department, '
        "description, initial_stage, key, name, notifications, routing, service_type, sla, "
        "stages, version)",
    ]


def test_step_fields_are_checked_per_kind(tmp_path):
    text = MINIMAL.replace(
        "        title: {de: Antworten, en: Answer}\n",
        "        title: {de: Antworten, en: Answer}\n"
        "        queue: Not A Key\n        colour: red\n",
    )
    assert problems_of(write(tmp_path, text)) == [
        "small-request.yaml:18: step \"answer\": queue: 'Not A Key' does not match "
        "'^[a-z0-9][a-z0-9-]*$'",
        'small-request.yaml:19: step "answer": unknown field "colour" (known: description, '
        "due_business_hours, key, kind, name, queue, skills, title, when)",
    ]


def test_unknown_data_fields_and_references(tmp_path):
    steps = (
        "      - key: ask\n        kind: collect_data\n        for: customer\n"
        "        fields: [topic, topik]\n"
        "      - key: compute\n        kind: set_data\n        values: {total: data.amount * 2}\n"
        "      - key: waiting\n        kind: wait\n        for: subcases\n"
        "        subcases: [nothing]\n"
        "    transitions:\n      - to: nowhere\n"
    )
    text = MINIMAL.replace("    transitions:\n", steps, 1)
    assert problems_of(write(tmp_path, text)) == [
        'small-request.yaml:21: step "ask": unknown data field "topik" (did you mean "topic"?)',
        'small-request.yaml:24: step "compute": unknown data field "total" (did you mean "topic"?)',
        'small-request.yaml:25: step "waiting": "nothing" is not a subcase step of stage "open"',
        'small-request.yaml:25: step "waiting": waits for sub-cases, but stage "open" opens none',
        'small-request.yaml:30: stage "open": transition to unknown stage "nowhere" '
        "(stages: open, done)",
    ]


def test_decision_table_problems_and_missing_tables(tmp_path):
    step = (
        "      - key: decide\n        kind: decision\n        table: decisions/TABLE\n"
        "        output_mapping: {offer: topic, bonus: amount}\n"
    )
    base = MINIMAL.replace("    transitions:\n", step + "    transitions:\n", 1)
    assert problems_of(write(tmp_path, base.replace("TABLE", "missing.yaml"))) == [
        'small-request.yaml:20: step "decide": decision table "decisions/missing.yaml" not found'
    ]
    assert problems_of(write(tmp_path, base.replace("TABLE", "../../escape.yaml"))) == [
        'small-request.yaml:20: step "decide": decision table "decisions/../../escape.yaml" '
        "must be inside the case type's folder"
    ]
    write(
        tmp_path / "decisions",
        """\
        inputs:
          - name: amount
            expression: data.amont
        outputs:
          - name: offer
        rules:
          - when: {amount: "< 10"}
            then: {offer: small}
          - when: {amount: "<= 10"}
            then: {offer: big}
        """,
        "offers.yaml",
    )
    assert problems_of(write(tmp_path, base.replace("TABLE", "offers.yaml"))) == [
        'decisions/offers.yaml:3: input "amount": expression "data.amont": column 1: '
        'unknown field "data.amont" (did you mean "data.amount"?)',
    ]
    fixed = (tmp_path / "decisions" / "offers.yaml").read_text().replace("amont", "amount")
    (tmp_path / "decisions" / "offers.yaml").write_text(fixed)
    assert problems_of(write(tmp_path, base.replace("TABLE", "offers.yaml"))) == [
        "decisions/offers.yaml:6: no rule matches amount > 10 "
        "(set allow_gaps: true if that is intended)",
        'decisions/offers.yaml:9: rules "1" (line 7) and "2" overlap under hit policy UNIQUE, '
        "e.g. for amount < 10",
    ]
    gaps = fixed.replace('"<= 10"', '"> 10"')
    (tmp_path / "decisions" / "offers.yaml").write_text(gaps)
    assert problems_of(write(tmp_path, base.replace("TABLE", "offers.yaml"))) == [
        "decisions/offers.yaml:6: no rule matches amount = 10 "
        "(set allow_gaps: true if that is intended)",
    ]
    (tmp_path / "decisions" / "offers.yaml").write_text("allow_gaps: true\n" + gaps)
    assert problems_of(write(tmp_path, base.replace("TABLE", "offers.yaml"))) == [
        'small-request.yaml:21: step "decide": decision table "decisions/offers.yaml" has no '
        'output "bonus" (outputs: offer)',
    ]


def test_folder_checks_subcase_types_and_duplicate_versions(tmp_path):
    subcase = (
        "      - key: ask-other\n        kind: subcase\n        case_type: other-type\n"
        "        data_mapping: {question: data.topic}\n"
    )
    write(tmp_path, MINIMAL.replace("    transitions:\n", subcase + "    transitions:\n", 1))
    write(tmp_path, MINIMAL, "copy.yaml")
    problems = [str(problem) for problem in check_path(tmp_path).problems]
    assert problems == [
        f'{tmp_path}/small-request.yaml:1: case type "small-request" version 2 is also '
        f"defined in {tmp_path}/copy.yaml",
        f'{tmp_path}/small-request.yaml:18: step "ask-other": unknown case type "other-type" '
        "(known: small-request)",
    ]
    with pytest.raises(InvalidDefinition):
        load_case_types([tmp_path])


def test_subcase_data_mapping_must_fill_declared_fields(tmp_path):
    shutil.copy(SHIPPED_CASETYPES_DIR / "licensing-request.yaml", tmp_path)
    subcase = (
        "      - key: ask-licensing\n        kind: subcase\n        case_type: licensing-request\n"
        "        data_mapping: {question: data.topic, colour: data.topic}\n"
    )
    write(tmp_path, MINIMAL.replace("    transitions:\n", subcase + "    transitions:\n", 1))
    assert [str(problem) for problem in check_path(tmp_path).problems] == [
        f'{tmp_path}/small-request.yaml:18: step "ask-licensing": case type "licensing-request" '
        'has no data field "colour"'
    ]


def test_empty_and_non_mapping_files(tmp_path):
    assert problems_of(write(tmp_path, "")) == [
        "small-request.yaml: a case type must be a YAML mapping"
    ]
    assert problems_of(write(tmp_path, "- a\n- b\n")) == [
        "small-request.yaml:1: a case type must be a YAML mapping"
    ]
    assert [str(p) for p in check_path(tmp_path / "missing.yaml").problems] == [
        f"{tmp_path}/missing.yaml: file not found"
    ]


def test_sla_resolution_cannot_come_before_the_first_response(tmp_path):
    sla = (
        "sla:\n  first_response_business_hours: {urgent: 1, high: 4, normal: 8, low: 16}\n"
        "  resolution_business_hours: {urgent: 8, high: 2, normal: 24, low: 40}\n"
    )
    assert problems_of(write(tmp_path, MINIMAL + sla)) == [
        "small-request.yaml:27: sla: resolution for high (2 h) comes before the first response "
        "(4 h)"
    ]

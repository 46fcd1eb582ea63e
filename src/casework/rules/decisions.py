"""Decision tables in the manner of DMN: inputs, outputs, rules and a hit policy.

A table is a YAML file (or a CSV file with a YAML header in comment lines, see
docs/case-types.md). Loading checks everything that can be checked without data, and
reports each problem with its file and line:

- structure: unknown fields, unknown input or output names in rules, missing outputs;
- entries: every cell parses (`casework.rules.unary_tests`), names only declared values;
- hit policy UNIQUE: no two rules can match the same inputs (overlaps);
- hit policies UNIQUE, FIRST and PRIORITY: every combination of declared input values and
  every number is covered by some rule (gaps), over the inputs whose domain is known: an
  input with `values:`, or one that is tested only with numbers. Inputs of unknown domain
  are assumed covered, so a gap there goes unreported, never falsely reported.

`evaluate(table, data)` returns a `Decision` (outputs, matched rules, the input values:
everything needed to log an explainable decision) or a `NoMatch` when no rule (or, under
UNIQUE, more than one) matches. A missing decision is a business outcome for the engine
(it opens an exception task), not a crash.

Hit policies:

- UNIQUE: at most one rule may match;
- FIRST: the first matching rule in table order wins;
- PRIORITY: of the matching rules, the one whose outputs come first in the outputs'
  declared `values:` order wins;
- COLLECT: every matching rule contributes; without `aggregation` each output is the list
  of values, with SUM, MIN, MAX the single (numeric) output is aggregated, with COUNT it is
  the number of matches.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from casework.rules.expressions import (
    Expression,
    ExpressionError,
    KnownNames,
    Value,
    compile_expression,
)
from casework.rules.problems import InvalidDefinition, Problem
from casework.rules.sources import LineDict, LineList, parse_yaml, read_text, schema_problems
from casework.rules.translation import gettext as _
from casework.rules.unary_tests import (
    ANY,
    EVERYTHING,
    Interval,
    UnaryTest,
    UnaryTestError,
    ValueSet,
    parse_unary_test,
    point,
)

OutputValue = str | int | float | bool | None

# Bounds for the load-time analysis: how many input combinations the gap search may visit,
# and how many overlaps or gaps are worth reporting before the author gets the idea.
MAX_GAP_SEARCH_STEPS = 200_000
MAX_REPORTED = 10


class HitPolicy(StrEnum):
    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    COLLECT = "COLLECT"


class Aggregation(StrEnum):
    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"


class NoMatchReason(StrEnum):
    """no_rule: no rule matched. several_rules: more than one matched under UNIQUE (possible
    only for input values outside the declared `values:`)."""

    NO_RULE = "no_rule"
    SEVERAL_RULES = "several_rules"


@dataclass(frozen=True)
class TableInput:
    name: str
    expression: Expression  # evaluated over the data; by default the input's name
    values: tuple[OutputValue, ...] | None  # the declared domain, if any
    type: str | None  # "number", "text", "boolean" when declared
    line: int


@dataclass(frozen=True)
class TableOutput:
    name: str
    values: tuple[OutputValue, ...] | None  # allowed values, in priority order
    line: int


@dataclass(frozen=True)
class Rule:
    id: str
    line: int
    entries: tuple[UnaryTest, ...]  # one per input, in input order
    outputs: tuple[OutputValue, ...]  # one per output, in output order
    description: str = ""


@dataclass(frozen=True)
class DecisionTable:
    key: str
    path: str
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    inputs: tuple[TableInput, ...]
    outputs: tuple[TableOutput, ...]
    rules: tuple[Rule, ...]
    allow_gaps: bool = False

    def output(self, name: str) -> TableOutput | None:
        return next((output for output in self.outputs if output.name == name), None)


@dataclass(frozen=True)
class MatchedRule:
    id: str
    line: int


@dataclass(frozen=True)
class Decision:
    """The table's answer. `outputs` maps each output name to its value (COLLECT without
    aggregation: the list of values of all matched rules)."""

    table: str
    outputs: Mapping[str, OutputValue | list[OutputValue]]
    matched: tuple[MatchedRule, ...]
    inputs: Mapping[str, Value]


@dataclass(frozen=True)
class NoMatch:
    """The table has no answer for these inputs; `matched` lists the rules when several
    matched under UNIQUE."""

    table: str
    reason: NoMatchReason
    inputs: Mapping[str, Value]
    matched: tuple[MatchedRule, ...] = ()


# ---------------------------------------------------------------------------- evaluation


def evaluate(table: DecisionTable, data: Mapping[str, object]) -> Decision | NoMatch:
    """Decide over `data` (the same nested mapping the case's conditions see).

    Raises ExpressionEvaluationError only if an input expression does not fit the data.
    """
    values = {
        table_input.name: table_input.expression.evaluate(data) for table_input in table.inputs
    }
    ordered = [values[table_input.name] for table_input in table.inputs]
    matched = [
        rule
        for rule in table.rules
        if all(entry.matches(value) for entry, value in zip(rule.entries, ordered, strict=True))
    ]
    matched_ids = tuple(MatchedRule(rule.id, rule.line) for rule in matched)
    if table.hit_policy is HitPolicy.COLLECT:
        return Decision(table.key, _collect(table, matched), matched_ids, values)
    if not matched:
        return NoMatch(table.key, NoMatchReason.NO_RULE, values)
    if table.hit_policy is HitPolicy.UNIQUE and len(matched) > 1:
        return NoMatch(table.key, NoMatchReason.SEVERAL_RULES, values, matched_ids)
    winner = matched[0]
    if table.hit_policy is HitPolicy.PRIORITY:
        winner = min(matched, key=lambda rule: _priority(table, rule))
    outputs = {
        output.name: value for output, value in zip(table.outputs, winner.outputs, strict=True)
    }
    return Decision(table.key, outputs, (MatchedRule(winner.id, winner.line),), values)


def _priority(table: DecisionTable, rule: Rule) -> tuple[int, ...]:
    return tuple(
        (output.values or ()).index(value)
        if value in (output.values or ())
        else len(output.values or ())
        for output, value in zip(table.outputs, rule.outputs, strict=True)
    )


def _collect(
    table: DecisionTable, matched: Sequence[Rule]
) -> dict[str, OutputValue | list[OutputValue]]:
    if table.aggregation is None:
        return {
            output.name: [rule.outputs[index] for rule in matched]
            for index, output in enumerate(table.outputs)
        }
    output = table.outputs[0]
    if table.aggregation is Aggregation.COUNT:
        return {output.name: len(matched)}
    numbers = [Decimal(str(rule.outputs[0])) for rule in matched]
    if not numbers:
        return {output.name: None}
    if table.aggregation is Aggregation.SUM:
        total = sum(numbers, Decimal(0))
    elif table.aggregation is Aggregation.MIN:
        total = min(numbers)
    else:
        total = max(numbers)
    return {output.name: int(total) if total == total.to_integral_value() else float(total)}


# ---------------------------------------------------------------------------- loading

_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_SCALAR = {"type": ["string", "number", "boolean", "null"]}

TABLE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["inputs", "outputs", "rules"],
    "properties": {
        "key": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$"},
        "description": {"type": "string"},
        "hit_policy": {"enum": [policy.value for policy in HitPolicy]},
        "aggregation": {"enum": [aggregation.value for aggregation in Aggregation]},
        "allow_gaps": {"type": "boolean"},
        "inputs": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": _NAME_PATTERN},
                    "expression": {"type": "string"},
                    "values": {"type": "array", "minItems": 1, "items": _SCALAR},
                    "type": {"enum": ["number", "text", "boolean"]},
                    "description": {"type": "string"},
                },
            },
        },
        "outputs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": _NAME_PATTERN},
                    "values": {"type": "array", "minItems": 1, "items": _SCALAR},
                    "type": {"enum": ["number", "text", "boolean"]},
                    "description": {"type": "string"},
                },
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["then"],
                "properties": {
                    "id": {"type": ["string", "integer"]},
                    "description": {"type": "string"},
                    "when": {"type": "object"},
                    "then": {"type": "object"},
                },
            },
        },
    },
}


def load_table(
    path: Path,
    *,
    display: str | None = None,
    known_names: Collection[str] | KnownNames | None = None,
) -> DecisionTable:
    """Read and check the table in `path` (`.csv`, or YAML otherwise).

    `display` is how problems name the file (default: the path as given); with
    `known_names`, the input expressions may name only those fields. Raises
    InvalidDefinition listing every problem found.
    """
    shown = display or str(path)
    text = read_text(path, shown)
    if path.suffix.lower() == ".csv":
        return parse_csv_table(text, shown, key=path.stem, known_names=known_names)
    return parse_yaml_table(text, shown, key=path.stem, known_names=known_names)


def parse_yaml_table(
    text: str,
    path: str,
    *,
    key: str,
    known_names: Collection[str] | KnownNames | None = None,
) -> DecisionTable:
    document = parse_yaml(text, path)
    return _TableBuilder(path, key, known_names).build(document)


def parse_csv_table(
    text: str,
    path: str,
    *,
    key: str,
    known_names: Collection[str] | KnownNames | None = None,
) -> DecisionTable:
    """A CSV table: leading `#` lines are a YAML header (hit_policy, inputs, outputs, …);
    the first other line names the columns: `id` and `description` are optional, `out:NAME`
    is an output, any other name an input. Each further line is a rule."""
    lines = text.splitlines(keepends=True)
    header_count = 0
    while header_count < len(lines) and lines[header_count].lstrip().startswith("#"):
        header_count += 1
    header_text = "".join(
        line.lstrip()[1:].removeprefix(" ") if line.strip() != "#" else "\n"
        for line in lines[:header_count]
    )
    header = parse_yaml(header_text, path) if header_text.strip() else None
    problems: list[Problem] = []
    if header is None:
        header = LineDict()
        header.line, header.key_lines = 1, {}
    elif not isinstance(header, LineDict):
        raise InvalidDefinition([Problem(path, 1, _("the # header must be a YAML mapping"))])
    body = "".join(lines[header_count:])
    first_line = body.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    try:
        rows = [
            (header_count + reader.line_num, row)
            for row in reader
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as error:
        raise InvalidDefinition(
            [
                Problem(
                    path,
                    header_count + reader.line_num,
                    _("invalid CSV: %(reason)s") % {"reason": error},
                )
            ]
        ) from error
    if not rows:
        raise InvalidDefinition([Problem(path, None, _("the table has no header row"))])
    (columns_line, columns), *rule_rows = rows
    columns = [column.strip() for column in columns]

    declared_inputs = {
        item.get("name"): item for item in header.get("inputs") or [] if isinstance(item, dict)
    }
    declared_outputs = {
        item.get("name"): item for item in header.get("outputs") or [] if isinstance(item, dict)
    }
    inputs = LineList()
    outputs = LineList()
    inputs.line = outputs.line = columns_line
    inputs.item_lines, outputs.item_lines = [], []
    input_columns: list[tuple[int, str]] = []
    output_columns: list[tuple[int, str]] = []
    for index, column in enumerate(columns):
        if column in ("id", "description"):
            continue
        if column.startswith("out:"):
            name = column[4:].strip()
            output_columns.append((index, name))
            outputs.append(
                declared_outputs.pop(name, None) or _line_dict({"name": name}, columns_line)
            )
            outputs.item_lines.append(columns_line)
        else:
            input_columns.append((index, column))
            inputs.append(
                declared_inputs.pop(column, None) or _line_dict({"name": column}, columns_line)
            )
            inputs.item_lines.append(columns_line)
    for name, item in declared_inputs.items():
        problems.append(
            Problem(
                path,
                _line(item),
                _("input %(name)s is declared but has no column") % {"name": f'"{name}"'},
            )
        )
    for name, item in declared_outputs.items():
        problems.append(
            Problem(
                path,
                _line(item),
                _("output %(name)s is declared but has no column") % {"name": f'"{name}"'},
            )
        )

    rules = LineList()
    rules.line = columns_line
    rules.item_lines = []
    for line, row in rule_rows:
        if len(row) > len(columns):
            problems.append(
                Problem(
                    path,
                    line,
                    _("more cells than columns (%(cells)d, %(columns)d)")
                    % {"cells": len(row), "columns": len(columns)},
                )
            )
            continue
        cells = [cell.strip() for cell in row] + [""] * (len(columns) - len(row))
        rule: dict[str, object] = {
            "when": _line_dict({name: cells[index] for index, name in input_columns}, line),
            "then": _line_dict(
                {name: _csv_value(cells[index]) for index, name in output_columns}, line
            ),
        }
        if "id" in columns and cells[columns.index("id")]:
            rule["id"] = cells[columns.index("id")]
        if "description" in columns:
            rule["description"] = cells[columns.index("description")]
        rules.append(_line_dict(rule, line))
        rules.item_lines.append(line)

    document = _line_dict(
        {key_: value for key_, value in header.items() if key_ not in ("inputs", "outputs")},
        header.line,
    )
    document.key_lines.update(header.key_lines)
    document["inputs"] = inputs
    document["outputs"] = outputs
    document["rules"] = rules
    document.key_lines.update(
        {"inputs": columns_line, "outputs": columns_line, "rules": columns_line}
    )
    builder = _TableBuilder(path, key, known_names)
    builder.problems.extend(problems)
    return builder.build(document)


def _line_dict(items: Mapping[str, object], line: int) -> LineDict:
    result = LineDict(items)
    result.line = line
    result.key_lines = dict.fromkeys(items, line)
    return result


def _line(item: object) -> int | None:
    return item.line if isinstance(item, LineDict) else None


def _csv_value(cell: str) -> OutputValue:
    """A CSV output cell as the YAML scalar it would be: number, boolean, null or text."""
    if cell in ("", "null"):
        return None
    if cell in ("true", "false"):
        return cell == "true"
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1]
    try:
        number = Decimal(cell)
    except ArithmeticError:
        return cell
    if not number.is_finite():
        return cell
    return (
        int(number) if number == number.to_integral_value() and "." not in cell else float(number)
    )


class _TableBuilder:
    def __init__(
        self, path: str, key: str, known_names: Collection[str] | KnownNames | None
    ) -> None:
        self.path = path
        self.key = key
        self.known_names = known_names
        self.problems: list[Problem] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def build(self, document: object) -> DecisionTable:
        if not isinstance(document, LineDict):
            raise InvalidDefinition(
                [
                    *self.problems,
                    Problem(
                        self.path,
                        line_of_document(document),
                        _("a decision table must be a YAML mapping"),
                    ),
                ]
            )
        schema_errors = schema_problems(document, TABLE_SCHEMA, self.path)
        if schema_errors:
            raise InvalidDefinition([*self.problems, *schema_errors])

        hit_policy = HitPolicy(document.get("hit_policy", HitPolicy.UNIQUE))
        aggregation = Aggregation(document["aggregation"]) if "aggregation" in document else None
        if aggregation is not None and hit_policy is not HitPolicy.COLLECT:
            self.problem(
                document.line_of("aggregation"),
                _("aggregation is only for hit policy COLLECT"),
            )
        inputs = self.inputs(document["inputs"])
        outputs = self.outputs(document["outputs"], hit_policy, aggregation)
        rules = self.rules(document["rules"], inputs, outputs, aggregation)
        table = DecisionTable(
            key=str(document.get("key", self.key)),
            path=self.path,
            hit_policy=hit_policy,
            aggregation=aggregation,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            rules=tuple(rules),
            allow_gaps=bool(document.get("allow_gaps", False)),
        )
        if not self.problems:
            if hit_policy is HitPolicy.UNIQUE:
                self.find_overlaps(table)
            if hit_policy is not HitPolicy.COLLECT and not table.allow_gaps:
                self.find_gaps(table, document.line_of("rules"))
        if self.problems:
            raise InvalidDefinition(self.problems)
        return table

    def inputs(self, items: LineList) -> list[TableInput]:
        inputs = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            line = items.line_of(index)
            name = item["name"]
            if name in seen:
                self.problem(line, _("input %(name)s is declared twice") % {"name": f'"{name}"'})
            seen.add(name)
            source = item.get("expression", name)
            try:
                expression = compile_expression(source, self.known_names)
            except ExpressionError as error:
                self.problem(
                    item.line_of("expression"),
                    _("input %(name)s: expression %(source)s: %(error)s")
                    % {"name": f'"{name}"', "source": f'"{source}"', "error": error},
                )
                expression = compile_expression("null")
            values = tuple(item["values"]) if "values" in item else None
            inputs.append(TableInput(name, expression, values, item.get("type"), line))
        return inputs

    def outputs(
        self, items: LineList, hit_policy: HitPolicy, aggregation: Aggregation | None
    ) -> list[TableOutput]:
        outputs = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            line = items.line_of(index)
            name = item["name"]
            if name in seen:
                self.problem(line, _("output %(name)s is declared twice") % {"name": f'"{name}"'})
            seen.add(name)
            values = tuple(item["values"]) if "values" in item else None
            if hit_policy is HitPolicy.PRIORITY and values is None:
                self.problem(
                    line,
                    _("output %(name)s needs values: in priority order for hit policy PRIORITY")
                    % {"name": f'"{name}"'},
                )
            outputs.append(TableOutput(name, values, line))
        if aggregation is not None and len(outputs) != 1:
            self.problem(items.line, _("an aggregation needs exactly one output"))
        return outputs

    def rules(
        self,
        items: LineList,
        inputs: Sequence[TableInput],
        outputs: Sequence[TableOutput],
        aggregation: Aggregation | None,
    ) -> list[Rule]:
        rules = []
        seen: dict[str, int] = {}
        input_names = {table_input.name for table_input in inputs}
        output_names = {output.name for output in outputs}
        for index, item in enumerate(items):
            line = items.line_of(index)
            rule_id = str(item.get("id", index + 1))
            label = _("rule %(id)s") % {"id": f'"{rule_id}"'}
            if rule_id in seen:
                self.problem(
                    line,
                    _("%(rule)s: id already used on line %(line)d")
                    % {"rule": label, "line": seen[rule_id]},
                )
            seen[rule_id] = line
            when = item.get("when") or _line_dict({}, line)
            then = item["then"]
            for name in when:
                if name not in input_names:
                    self.problem(
                        when.line_of(name),
                        _("%(rule)s: unknown input %(name)s (inputs: %(known)s)")
                        % {
                            "rule": label,
                            "name": f'"{name}"',
                            "known": ", ".join(sorted(input_names)),
                        },
                    )
            for name in then:
                if name not in output_names:
                    self.problem(
                        then.line_of(name),
                        _("%(rule)s: unknown output %(name)s (outputs: %(known)s)")
                        % {
                            "rule": label,
                            "name": f'"{name}"',
                            "known": ", ".join(sorted(output_names)),
                        },
                    )
            entries = tuple(self.entry(label, table_input, when) for table_input in inputs)
            values = tuple(
                self.output_value(label, output, then, aggregation) for output in outputs
            )
            rules.append(Rule(rule_id, line, entries, values, str(item.get("description", ""))))
        return rules

    def entry(self, label: str, table_input: TableInput, when: LineDict) -> UnaryTest:
        if table_input.name not in when:
            return ANY
        raw = when[table_input.name]
        line = when.line_of(table_input.name)
        where = _("%(rule)s, input %(name)s") % {"rule": label, "name": f'"{table_input.name}"'}
        try:
            test = _entry_from_yaml(raw)
        except UnaryTestError as error:
            self.problem(
                line,
                _("%(where)s: bad entry %(entry)s: %(error)s")
                % {"where": where, "entry": _quoted(raw), "error": error},
            )
            return ANY
        if table_input.values is not None:
            domain = _domain(table_input.values)
            for literal in test.literals:
                if not domain.contains(literal):
                    self.problem(
                        line,
                        _("%(where)s: %(value)s is not one of the declared values (%(known)s)")
                        % {
                            "where": where,
                            "value": _quoted(literal),
                            "known": ", ".join(_quoted(value) for value in table_input.values),
                        },
                    )
        if table_input.type == "number" and not test.is_any and not test.is_numeric:
            self.problem(
                line,
                _("%(where)s: the input is a number, the entry %(entry)s is not")
                % {"where": where, "entry": _quoted(raw)},
            )
        if table_input.type in ("text", "boolean") and test.is_numeric:
            self.problem(
                line,
                _("%(where)s: the input is not a number, the entry %(entry)s is")
                % {"where": where, "entry": _quoted(raw)},
            )
        return test

    def output_value(
        self,
        label: str,
        output: TableOutput,
        then: LineDict,
        aggregation: Aggregation | None,
    ) -> OutputValue:
        if output.name not in then:
            self.problem(
                then.line,
                _("%(rule)s: no value for output %(name)s")
                % {"rule": label, "name": f'"{output.name}"'},
            )
            return None
        value = then[output.name]
        line = then.line_of(output.name)
        if isinstance(value, list | dict):
            self.problem(
                line,
                _("%(rule)s, output %(name)s: a value must be a text, number, boolean or null")
                % {"rule": label, "name": f'"{output.name}"'},
            )
            return None
        if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
            self.problem(line, _("%(rule)s: numbers must be finite") % {"rule": label})
            return None
        if output.values is not None and not any(
            _same(value, allowed) for allowed in output.values
        ):
            self.problem(
                line,
                _(
                    "%(rule)s, output %(name)s: %(value)s is not one of the declared "
                    "values (%(known)s)"
                )
                % {
                    "rule": label,
                    "name": f'"{output.name}"',
                    "value": _quoted(value),
                    "known": ", ".join(_quoted(allowed) for allowed in output.values),
                },
            )
        if aggregation in (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX) and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            self.problem(
                line,
                _("%(rule)s, output %(name)s: %(aggregation)s needs a number, got %(value)s")
                % {
                    "rule": label,
                    "name": f'"{output.name}"',
                    "aggregation": aggregation,
                    "value": _quoted(value),
                },
            )
        return value  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ analysis

    def find_overlaps(self, table: DecisionTable) -> None:
        domains = [_domain(table_input.values) for table_input in table.inputs]
        overlaps = (
            (earlier, later, example)
            for later_index, later in enumerate(table.rules)
            for earlier in table.rules[:later_index]
            if (example := _overlap(table, domains, earlier, later)) is not None
        )
        for earlier, later, example in itertools.islice(overlaps, MAX_REPORTED):
            self.problem(
                later.line,
                _(
                    "rules %(first)s (line %(first_line)d) and %(second)s overlap "
                    "under hit policy UNIQUE, e.g. for %(example)s"
                )
                % {
                    "first": f'"{earlier.id}"',
                    "first_line": earlier.line,
                    "second": f'"{later.id}"',
                    "example": example,
                },
            )

    def find_gaps(self, table: DecisionTable, line: int) -> None:
        dimensions = []
        for index, table_input in enumerate(table.inputs):
            cells = _cells(table_input, [rule.entries[index] for rule in table.rules])
            if cells is not None:
                dimensions.append((index, table_input.name, cells))
        gaps: list[str] = []
        budget = [MAX_GAP_SEARCH_STEPS]

        def search(depth: int, rules: Sequence[Rule], described: list[str]) -> None:
            if len(gaps) >= MAX_REPORTED or budget[0] <= 0:
                return
            budget[0] -= 1
            if not rules:
                gaps.append(", ".join(described) or _("any input"))
                return
            if depth == len(dimensions):
                return
            index, name, cells = dimensions[depth]
            for label, sample in cells:
                covering = [rule for rule in rules if rule.entries[index].matches(sample)]
                search(depth + 1, covering, [*described, f"{name} {label}"])

        search(0, table.rules, [])
        for gap in gaps:
            self.problem(
                line,
                _("no rule matches %(inputs)s (set allow_gaps: true if that is intended)")
                % {"inputs": gap},
            )


def _overlap(
    table: DecisionTable, domains: Sequence[ValueSet], first: Rule, second: Rule
) -> str | None:
    """Inputs both rules match, described for a message; None if there are none."""
    example = []
    for table_input, domain, a, b in zip(
        table.inputs, domains, first.entries, second.entries, strict=True
    ):
        common = a.values.intersect(b.values).intersect(domain)
        if common.is_empty:
            return None
        example.append(f"{table_input.name} {_describe_set(common)}")
    return ", ".join(example) or _("any input")


def line_of_document(document: object) -> int | None:
    return document.line if isinstance(document, LineDict | LineList) else None


def _entry_from_yaml(raw: object) -> UnaryTest:
    """A cell from YAML: text is parsed as a unary test; a plain number or boolean is an
    equality test; a list is "any of" its items (YAML reads `[gold, silver]` as a list)."""
    if raw is None:
        raise UnaryTestError(_('empty entry: write - for any value, or "null" in quotes'))
    if isinstance(raw, bool | int | float):
        return UnaryTest(
            _quoted(raw),
            point(raw),
            (raw if isinstance(raw, bool) else Decimal(str(raw)),),
            not isinstance(raw, bool),
        )
    if isinstance(raw, str):
        return parse_unary_test(raw)
    if isinstance(raw, list) and raw:
        parts = [_entry_from_yaml(item) for item in raw]
        values = parts[0].values
        for part in parts[1:]:
            values = values.union(part.values)
        literals = tuple(literal for part in parts for literal in part.literals)
        return UnaryTest(
            ", ".join(part.text for part in parts),
            values,
            literals,
            all(part.is_numeric for part in parts),
        )
    raise UnaryTestError(_("an entry must be text, a number, a boolean or a list of them"))


def _domain(values: Sequence[OutputValue] | None) -> ValueSet:
    if values is None:
        return EVERYTHING
    domain = ValueSet()
    for value in values:
        domain = domain.union(point(value))
    return domain


def _cells(
    table_input: TableInput, entries: Sequence[UnaryTest]
) -> list[tuple[str, object]] | None:
    """The input's domain cut into pieces that every entry either wholly covers or wholly
    misses, as (description, a sample value); None if the domain is unknown."""
    if table_input.values is not None:
        return [(f"= {_quoted(value)}", value) for value in table_input.values]
    tested = [entry for entry in entries if not entry.is_any]
    if table_input.type != "number" and not (tested and all(entry.is_numeric for entry in tested)):
        return None
    bounds = sorted(
        {
            bound
            for entry in tested
            for interval in entry.values.numbers
            for bound in (interval.low, interval.high)
            if bound is not None
        }
    )
    if not bounds:
        return [(_("any number"), Decimal(0))]
    cells: list[tuple[str, object]] = [(f"< {bounds[0]}", bounds[0] - 1)]
    for low, high in zip(bounds, bounds[1:], strict=False):
        cells.append((f"= {low}", low))
        cells.append((f"in ({low}..{high})", (low + high) / 2))
    cells.append((f"= {bounds[-1]}", bounds[-1]))
    cells.append((f"> {bounds[-1]}", bounds[-1] + 1))
    return cells


def _describe_set(values: ValueSet) -> str:
    """A short, readable sample of the set for an overlap message."""
    if values.others and not values.others_excluded:
        return f"= {_quoted(sorted(values.others, key=str)[0])}"
    if values.numbers:
        interval: Interval = values.numbers[0]
        if interval.low is not None and interval.low == interval.high:
            return f"= {interval.low}"
        if interval.low is None and interval.high is None:
            return _("any value")
        low = (
            ""
            if interval.low is None
            else ("[" if interval.low_closed else "(") + str(interval.low)
        )
        high = (
            ""
            if interval.high is None
            else str(interval.high) + ("]" if interval.high_closed else ")")
        )
        if interval.low is None:
            return f"{'<=' if interval.high_closed else '<'} {interval.high}"
        if interval.high is None:
            return f"{'>=' if interval.low_closed else '>'} {interval.low}"
        return f"in {low}..{high}"
    return _("any value")


def _same(value: object, allowed: object) -> bool:
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    return bool(value == allowed)


def _quoted(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = [
    "Aggregation",
    "Decision",
    "DecisionTable",
    "HitPolicy",
    "MatchedRule",
    "NoMatch",
    "NoMatchReason",
    "Rule",
    "TableInput",
    "TableOutput",
    "evaluate",
    "load_table",
    "parse_csv_table",
    "parse_yaml_table",
]

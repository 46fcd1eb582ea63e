from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest

from casework.rules.decisions import (
    Decision,
    HitPolicy,
    MatchedRule,
    NoMatch,
    NoMatchReason,
    evaluate,
    load_table,
)
from casework.rules.problems import InvalidDefinition
from casework.rules.unary_tests import UnaryTestError, parse_unary_test

RETENTION = """\
hit_policy: {policy}
inputs:
  - name: segment
    expression: customer.segment
    values: [gold, silver, bronze]
  - name: tenure
    expression: contract.tenure_months
outputs:
  - name: offer
    values: [discount-20, discount-10, none]
rules:
  - id: gold-long
    when: {{segment: gold, tenure: ">= 24"}}
    then: {{offer: discount-20}}
  - id: gold-short
    when: {{segment: gold, tenure: "< 24"}}
    then: {{offer: discount-10}}
  - id: others
    when: {{segment: "silver, bronze"}}
    then: {{offer: none}}
"""


def write(tmp_path: Path, text: str, name: str = "table.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(InvalidDefinition) as raised:
        load_table(path, display=path.name, **kwargs)  # type: ignore[arg-type]
    return [str(problem) for problem in raised.value.problems]


def data(segment: object, tenure: object) -> dict[str, object]:
    return {"customer": {"segment": segment}, "contract": {"tenure_months": tenure}}


# ---------------------------------------------------------------- unary tests


@pytest.mark.parametrize(
    ("entry", "inside", "outside"),
    [
        ("-", ["x", 1, None, True], []),
        ("", ["x"], []),
        ("gold", ["gold"], ["Gold", 1, None]),
        ('"Gold Plus"', ["Gold Plus"], ["Gold"]),
        ("42", [42, Decimal("42.0"), 42.0], [41, "42"]),
        ("true", [True], [1, "true"]),
        ("null", [None], ["null", 0]),
        ("< 50", [49.9, -3], [50, "10", None]),
        ("<= 50", [50], [50.01]),
        ("> 5", [5.5], [5]),
        (">= 5", [5], [4.99]),
        ("= 7", [7], [8]),
        ("[1..10]", [1, 10, 5.5], [0.9, 10.1]),
        ("(1..10]", [1.01, 10], [1]),
        ("]1..10[", [2], [1, 10]),
        ("[1..10)", [1], [10]),
        ('"a","b"', ["a", "b"], ["c"]),
        ("a, b, < 0", ["a", -1], ["c", 0]),
        ("not(gold, silver)", ["bronze", 3, None], ["gold", "silver"]),
        ("not([1..10])", [0, 11, "x"], [5]),
        ("not(< 5)", [5, "x"], [4]),
    ],
)
def test_unary_tests_match(entry, inside, outside):
    test = parse_unary_test(entry)
    assert all(test.matches(value) for value in inside)
    assert not any(test.matches(value) for value in outside)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("< gold", "expected a number, found 'gold'"),
        ("[1..]", "expected a number, found ']'"),
        ("[10..1]", "the range is empty"),
        ("1..10", "write a range in brackets"),
        ("not(a", "expected ')', found the end"),
        ("a b", "unexpected 'b'"),
        ('"open', "text is not closed"),
        ("a ; b", "unexpected character ';'"),
        ("gold, not silver", "not is written not(...)"),
        ("x" * 600, "entry too long"),
    ],
)
def test_bad_unary_tests_are_refused(entry, message):
    with pytest.raises(UnaryTestError) as raised:
        parse_unary_test(entry)
    assert message in str(raised.value)


# ---------------------------------------------------------------- evaluation


def test_unique_table_decides_and_explains(tmp_path):
    table = load_table(write(tmp_path, RETENTION.format(policy="UNIQUE")))
    decision = evaluate(table, data("gold", 30))
    assert decision == Decision(
        table="table",
        outputs={"offer": "discount-20"},
        matched=(MatchedRule("gold-long", 12),),
        inputs={"segment": "gold", "tenure": Decimal(30)},
    )
    assert evaluate(table, data("silver", None)).outputs == {"offer": "none"}


def test_no_match_is_a_result_not_an_exception(tmp_path):
    table = load_table(write(tmp_path, RETENTION.format(policy="UNIQUE")))
    result = evaluate(table, data("platinum", 30))
    assert isinstance(result, NoMatch)
    assert result.reason is NoMatchReason.NO_RULE
    assert result.inputs == {"segment": "platinum", "tenure": Decimal(30)}
    assert isinstance(evaluate(table, data("gold", None)), NoMatch)  # missing data


def test_first_takes_the_first_matching_rule(tmp_path):
    text = RETENTION.format(policy="FIRST").replace('"< 24"', "-")
    table = load_table(write(tmp_path, text))
    assert table.hit_policy is HitPolicy.FIRST
    assert evaluate(table, data("gold", 30)).outputs == {"offer": "discount-20"}
    assert evaluate(table, data("gold", 3)).outputs == {"offer": "discount-10"}


def test_priority_takes_the_output_listed_first(tmp_path):
    text = RETENTION.format(policy="PRIORITY").replace('"< 24"', "-")
    table = load_table(write(tmp_path, text))
    decision = evaluate(table, data("gold", 30))
    assert decision.outputs == {"offer": "discount-20"}
    assert decision.matched == (MatchedRule("gold-long", 12),)


def test_collect_lists_or_aggregates(tmp_path):
    text = """\
    hit_policy: COLLECT
    {aggregation}
    inputs:
      - name: amount
        expression: data.amount
    outputs:
      - name: points
    rules:
      - when: {{amount: "> 10"}}
        then: {{points: 5}}
      - when: {{amount: "> 100"}}
        then: {{points: 20}}
      - when: {{amount: "> 1000"}}
        then: {{points: 0.5}}
    """
    listed = load_table(write(tmp_path, text.format(aggregation="")))
    assert evaluate(listed, {"data": {"amount": 500}}).outputs == {"points": [5, 20]}
    assert evaluate(listed, {"data": {"amount": 1}}).outputs == {"points": []}
    expected = {"SUM": 25.5, "MIN": 0.5, "MAX": 20, "COUNT": 3}
    for aggregation, total in expected.items():
        table = load_table(write(tmp_path, text.format(aggregation=f"aggregation: {aggregation}")))
        assert evaluate(table, {"data": {"amount": 5000}}).outputs == {"points": total}
    summed = load_table(write(tmp_path, text.format(aggregation="aggregation: SUM")))
    assert evaluate(summed, {"data": {"amount": 1}}).outputs == {"points": None}


def test_unique_with_a_value_outside_the_domain_matching_twice_is_no_match(tmp_path):
    text = """\
    inputs:
      - name: segment
        values: [gold, silver]
    outputs:
      - name: offer
    rules:
      - when: {segment: "not(gold)"}
        then: {offer: a}
      - when: {segment: "not(silver)"}
        then: {offer: b}
    """
    table = load_table(write(tmp_path, text))
    result = evaluate(table, {"segment": "bronze"})
    assert isinstance(result, NoMatch)
    assert result.reason is NoMatchReason.SEVERAL_RULES
    assert [rule.line for rule in result.matched] == [7, 9]


# ---------------------------------------------------------------- load-time problems


def test_overlapping_rules_under_unique_are_reported_with_lines(tmp_path):
    text = RETENTION.format(policy="UNIQUE").replace('"< 24"', '"<= 24"')
    assert problems_of(write(tmp_path, text)) == [
        'table.yaml:15: rules "gold-long" (line 12) and "gold-short" overlap under hit policy '
        'UNIQUE, e.g. for segment = "gold", tenure = 24'
    ]


def test_gaps_in_enumerated_and_numeric_inputs_are_reported(tmp_path):
    text = RETENTION.format(policy="UNIQUE").replace('"silver, bronze"', "silver")
    text = text.replace('">= 24"', '"> 24"')
    assert problems_of(write(tmp_path, text)) == [
        'table.yaml:11: no rule matches segment = "gold", tenure = 24 '
        "(set allow_gaps: true if that is intended)",
        'table.yaml:11: no rule matches segment = "bronze" '
        "(set allow_gaps: true if that is intended)",
    ]
    allowed = text.replace("hit_policy: UNIQUE", "hit_policy: UNIQUE\nallow_gaps: true")
    assert isinstance(evaluate(load_table(write(tmp_path, allowed)), data("bronze", 1)), NoMatch)


def test_collect_tables_may_have_gaps(tmp_path):
    text = RETENTION.format(policy="COLLECT").replace('"silver, bronze"', "silver")
    table = load_table(write(tmp_path, text))  # a gap is no problem under COLLECT

    assert table.hit_policy.value == "COLLECT"


def test_structural_problems_are_all_reported_with_their_lines(tmp_path):
    text = """\
    hit_policy: PRIORITY
    inputs:
      - name: segment
        values: [gold, silver]
      - name: amount
        type: number
        expression: data.amount +
    outputs:
      - name: offer
    rules:
      - id: a
        when: {segment: gld, amount: "< x", colour: red}
        then: {offer: x, bonus: 1}
      - id: a
        when: {segment: silver, amount: big}
        then: {}
    """
    assert problems_of(write(tmp_path, text)) == [
        'table.yaml:7: input "amount": expression "data.amount +": column 14: '
        "the expression ends too early",
        'table.yaml:9: output "offer" needs values: in priority order for hit policy PRIORITY',
        'table.yaml:12: rule "a": unknown input "colour" (inputs: amount, segment)',
        'table.yaml:12: rule "a", input "segment": "gld" is not one of the declared values '
        '("gold", "silver")',
        'table.yaml:12: rule "a", input "amount": bad entry "< x": column 3: '
        "expected a number, found 'x'",
        'table.yaml:13: rule "a": unknown output "bonus" (outputs: offer)',
        'table.yaml:14: rule "a": id already used on line 11',
        'table.yaml:15: rule "a", input "amount": the input is a number, the entry "big" is not',
        'table.yaml:16: rule "a": no value for output "offer"',
    ]


def test_schema_problems_name_the_line(tmp_path):
    text = """\
    hit_policy: SOMETIMES
    inputs:
      - name: segment
        colour: red
    outputs: []
    rules: []
    """
    assert problems_of(write(tmp_path, text)) == [
        'table.yaml:1: hit_policy: "SOMETIMES" is not one of "UNIQUE", "FIRST", "PRIORITY", '
        '"COLLECT"',
        'table.yaml:4: inputs[0]: unknown field "colour" (known: description, expression, '
        "name, type, values)",
        "table.yaml:5: outputs: [] should be non-empty",
    ]


def test_unknown_fields_in_input_expressions(tmp_path):
    text = RETENTION.format(policy="UNIQUE")
    assert problems_of(write(tmp_path, text), known_names={"customer.segment"}) == [
        'table.yaml:7: input "tenure": expression "contract.tenure_months": column 1: '
        'unknown field "contract.tenure_months"'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  - {when: x\n", "table.yaml:2: invalid YAML"),
        ("a: 1\na: 2\n", 'table.yaml:2: invalid YAML: duplicate key "a"'),
        ("a: &x [1]\nb: *x\n", "table.yaml:2: invalid YAML: aliases (*name) are not supported"),
        ("- 1\n- 2\n", "table.yaml:1: a decision table must be a YAML mapping"),
        ("", "table.yaml: a decision table must be a YAML mapping"),
    ],
)
def test_invalid_yaml_is_reported_with_its_line(tmp_path, text, expected):
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.startswith(expected)


def test_missing_and_binary_files(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == ["nope.yaml: file not found"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert problems_of(binary) == ["binary.yaml: not UTF-8 text"]


def test_yaml_booleans_are_only_true_and_false(tmp_path):
    text = """\
    inputs:
      - name: country
    outputs:
      - name: vat
    rules:
      - when: {country: no}
        then: {vat: on}
    """
    table = load_table(write(tmp_path, text))
    assert table.rules[0].outputs == ("on",)
    assert evaluate(table, {"country": "no"}).outputs == {"vat": "on"}


# ---------------------------------------------------------------- CSV


CSV_TABLE = """\
# hit_policy: FIRST
# inputs:
#   - name: segment
#     expression: customer.segment
#     values: [gold, silver, bronze]
#   - name: tenure
#     expression: contract.tenure_months
id;segment;tenure;out:goodwill;description
loyal;gold;>= 24;50;long-standing gold customers
gold;gold;-;25;
rest;silver,bronze;-;10.5;
"""


def test_csv_tables_read_a_yaml_header_and_rows(tmp_path):
    table = load_table(write(tmp_path, CSV_TABLE, "goodwill.csv"))
    assert table.key == "goodwill"
    assert [rule.line for rule in table.rules] == [9, 10, 11]
    assert evaluate(table, data("gold", 30)).outputs == {"goodwill": 50}
    assert evaluate(table, data("gold", 2)).matched == (MatchedRule("gold", 10),)
    assert evaluate(table, data("bronze", 2)).outputs == {"goodwill": 10.5}


def test_csv_problems_name_the_row(tmp_path):
    text = CSV_TABLE.replace("gold;-;25;", "gold;< soon;25;").replace(
        "#   - name: tenure", "#   - name: age\n#     expression: customer.age\n#   - name: tenure"
    )
    assert problems_of(write(tmp_path, text, "goodwill.csv")) == [
        'goodwill.csv:6: input "age" is declared but has no column',
        'goodwill.csv:12: rule "gold", input "tenure": bad entry "< soon": column 3: '
        "expected a number, found 'soon'",
    ]


def test_csv_without_header_comments_defaults_to_unique(tmp_path):
    text = "colour,out:ok\nred,true\n-,false\n"
    assert problems_of(write(tmp_path, text, "plain.csv")) == [
        'plain.csv:3: rules "1" (line 2) and "2" overlap under hit policy UNIQUE, '
        'e.g. for colour = "red"'
    ]

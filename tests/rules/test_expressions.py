from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.rules.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    KnownNames,
    compile_expression,
)

KNOWN = {
    "case.priority",
    "case.channel",
    "contract.ends_in_days",
    "customer.interests",
    "customer.segment",
    "data.goodwill_amount",
    "data.comment",
    "data.preferred_date",
    "data.extra.*",
}

DATA = {
    "case": {"priority": "high", "channel": "email"},
    "contract": {"ends_in_days": 30},
    "customer": {"interests": ["international", "jazz"], "segment": "gold"},
    "data": {"goodwill_amount": 75.5, "comment": "Bitte Rückruf", "preferred_date": "2025-03-01"},
}


def evaluate(text: str, data: dict | None = None) -> object:
    return compile_expression(text).evaluate(DATA if data is None else data)


def test_the_example_condition_holds_for_matching_data():
    condition = compile_expression(
        'case.priority == "high" and contract.ends_in_days <= 90 '
        'and "international" in customer.interests',
        KNOWN,
    )
    assert condition.is_true(DATA)
    assert condition.names == {"case.priority", "contract.ends_in_days", "customer.interests"}
    assert not condition.is_true({**DATA, "case": {"priority": "low"}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 / 4", Decimal("2.5")),
        ("0.1 + 0.2 == 0.3", True),  # decimals, not binary floats
        ("-2 - -3", Decimal(1)),
        ('"a" + "b"', "ab"),
        ("[1, 2] + [3]", [Decimal(1), Decimal(2), Decimal(3)]),
        ("not true or true", True),
        ("not (true or true)", False),
        ("true and false or true", True),
        ("1 in [1, 2]", True),
        ("3 not in [1, 2]", True),
        ('"ück" in data.comment', True),
        ('1 == "1"', False),
        ("true == 1", False),
        ("null == null", True),
        ("data.goodwill_amount > 50", True),
        ("len(customer.interests)", Decimal(2)),
        ('lower("ÄB")', "äb"),
        ("upper(case.channel)", "EMAIL"),
        ('contains(customer.interests, "jazz")', True),
        ('startswith(data.comment, "Bitte")', True),
        ('days_between("2025-01-01", data.preferred_date)', Decimal(59)),
        ("add_days(data.preferred_date, -1)", date(2025, 2, 28)),
        ("'single' == \"single\"", True),
        (r'"say \"hi\""', 'say "hi"'),
    ],
)
def test_evaluation(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "data.missing",
        "data.missing + 1",
        "len(data.missing)",
        "lower(nothing.at.all)",
        "days_between(data.missing, data.preferred_date)",
    ],
)
def test_missing_values_are_null(text):
    assert evaluate(text) is None


@pytest.mark.parametrize(
    "text",
    ["data.missing < 5", "data.missing >= 5", "1 in data.missing", "data.missing and true"],
)
def test_comparisons_with_null_are_false(text):
    assert evaluate(text) is False


@pytest.mark.parametrize(
    ("text", "data", "message"),
    [
        ("case.priority < 3", DATA, "cannot compare a text with a number"),
        ("1 / 0", {}, "division by zero"),
        ('"a" - 1', {}, "cannot apply - to a text and a number"),
        ("case.priority and true", DATA, "and needs true or false, got a text"),
        ("-case.priority", DATA, "cannot negate a text"),
        ("1 in case.priority", DATA, "only a text can be found in a text"),
        ("1 in 2", {}, "in needs a list or a text on the right"),
        ("case.priority.level", DATA, 'case.priority is a text and has no field "level"'),
        ("len(1)", {}, "len needs a text or a list"),
        ('days_between("soon", "2025-01-01")', {}, "days_between needs a date"),
        ("x > 1", {"x": object()}, "unsupported value of type object"),
        ("x > 1", {"x": float("nan")}, "a number must be finite"),
    ],
)
def test_type_mismatches_are_expression_errors(text, data, message):
    with pytest.raises(ExpressionEvaluationError) as raised:
        compile_expression(text).evaluate(data)
    assert message in str(raised.value)


def test_a_condition_must_be_boolean():
    with pytest.raises(ExpressionEvaluationError, match="a condition must be true or false"):
        compile_expression("1 + 1").is_true({})
    assert compile_expression("data.missing").is_true({}) is False


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 1, "the expression is empty"),
        ("1 +", 4, "the expression ends too early"),
        ("a = 1", 3, "use == to compare"),
        ('"open', 1, 'text is not closed (missing ")'),
        ("1 $ 2", 3, "unexpected character '$'"),
        ("1 2", 3, "unexpected '2'"),
        ("(1 + 2", 7, "expected ')'"),
        ("a < b < c", 7, "comparisons cannot be chained"),
        ("eval(1)", 1, 'unknown function "eval"'),
        ("__import__(1)", 1, 'unknown function "__import__"'),
        ("len(1, 2)", 1, "len takes 1 argument(s), got 2"),
        ("a.", 3, "expected a field name after the dot"),
        (r'"\q"', 2, r"unknown escape \q"),
        ("[1, 2", 6, "expected ']'"),
    ],
)
def test_syntax_errors_name_the_column(text, column, message):
    with pytest.raises(ExpressionSyntaxError) as raised:
        compile_expression(text)
    assert raised.value.column == column
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"column {column}: ")


def test_unknown_fields_are_rejected_at_compile_time_with_a_suggestion():
    with pytest.raises(ExpressionSyntaxError) as raised:
        compile_expression("data.goodwil_amount > 50", KNOWN)
    assert raised.value.column == 1
    assert 'unknown field "data.goodwil_amount" (did you mean "data.goodwill_amount"?)' in str(
        raised.value
    )
    with pytest.raises(ExpressionSyntaxError, match="column 18: unknown field"):
        compile_expression("case.priority == custmer.segment", KNOWN)


def test_known_names_admit_prefixes_and_open_paths():
    known = KnownNames(KNOWN)
    assert known.admits("customer")
    assert known.admits("data.extra.anything.below")
    assert not known.admits("data.extra2")
    assert not known.admits("case.priority.sub")
    compile_expression("len(customer) > 0 and data.extra.x == 1", known)


def test_python_is_never_evaluated():
    for text in ["__class__", "().__class__", "import os", "lambda: 1", "a[0]", "a if b else c"]:
        with pytest.raises(ExpressionError):
            compile_expression(text, KNOWN)


def test_hostile_expressions_are_bounded():
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        compile_expression("(" * 900 + "1" + ")" * 900)
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        compile_expression("not " * 300 + "true")
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        compile_expression(" + ".join(["1"] * 300))  # a long flat chain is a deep tree
    with pytest.raises(ExpressionSyntaxError, match="too long"):
        compile_expression("1" * (MAX_LENGTH + 1))
    with pytest.raises(ExpressionSyntaxError, match="too long"):
        compile_expression("x" * 10_000_000)
    assert compile_expression("(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1))


def test_huge_numbers_give_an_error_not_an_overflow():
    with pytest.raises(ExpressionEvaluationError, match="number out of range"):
        compile_expression("x * x").evaluate({"x": Decimal("1e999000")})
    assert compile_expression(" * ".join(["9" * 60] * 30)).evaluate({})  # rounded, not huge


def test_evaluation_errors_carry_the_source():
    with pytest.raises(ExpressionEvaluationError) as raised:
        compile_expression("x < 1").evaluate({"x": "text"})
    assert raised.value.source == "x < 1"
    assert raised.value.code == "expression_failed"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_random_text_raises_only_expression_errors(text):
    try:
        expression = compile_expression(text)
    except ExpressionError:
        return
    with contextlib.suppress(ExpressionError):
        expression.evaluate({"a": 1, "b": "x", "c": [1, None], "d": {"e": None}})


_TOKENS = st.sampled_from(
    [
        "a",
        "b.c",
        "1",
        "2.5",
        '"x"',
        "true",
        "null",
        "(",
        ")",
        "[",
        "]",
        ",",
        "==",
        "<",
        "and",
        "or",
        "not",
        "in",
        "+",
        "-",
        "*",
        "/",
        "len(",
        "lower(",
        "days_between(",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=60))
def test_random_token_soup_raises_only_expression_errors(tokens):
    text = " ".join(tokens)
    with contextlib.suppress(ExpressionError):
        compile_expression(text).evaluate({"a": 1, "b": {"c": "x"}})

"""Unary tests: the cells of a decision table's input columns (DMN's "input entries").

An entry tests one input value::

    -                    any value (so does an empty cell)
    gold                 equal to the text "gold" (a bare word is a text)
    "Gold Plus"          a quoted text, for spaces, commas or words like "true"
    42, 3.5, true, null  equal to that number, boolean, or null
    < 50   >= 18   = 7   a comparison with a number
    [1..10]  (1..10]  ]1..10[  [1..10)   a numeric range; ( ] or ] [ leave an end out
    gold, silver, < 0    any of these (a comma-separated list)
    not(gold, silver)    none of these

Each entry is also a `ValueSet`, a small algebra of numeric intervals and finite sets of
other values, so that the table loader can prove two rules overlap, or find inputs no rule
covers, without evaluating anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from casework.rules.translation import gettext as _

OtherValue = str | bool | None  # every value a unary test can name that is not a number


class UnaryTestError(ValueError):
    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return _("column %(column)d: %(message)s") % {
            "column": self.column,
            "message": self.message,
        }


# ---------------------------------------------------------------------------- value sets


@dataclass(frozen=True)
class Interval:
    """A set of numbers; None for `low`/`high` means unbounded on that side."""

    low: Decimal | None
    high: Decimal | None
    low_closed: bool = True
    high_closed: bool = True

    @property
    def is_empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (
            self.low == self.high and not (self.low_closed and self.high_closed)
        )

    def contains(self, number: Decimal) -> bool:
        if self.low is not None and (
            number < self.low or (number == self.low and not self.low_closed)
        ):
            return False
        return not (
            self.high is not None
            and (number > self.high or (number == self.high and not self.high_closed))
        )

    def intersect(self, other: Interval) -> Interval:
        low, low_closed = self.low, self.low_closed
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and not other.low_closed)
        ):
            low, low_closed = other.low, other.low_closed
        high, high_closed = self.high, self.high_closed
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and not other.high_closed)
        ):
            high, high_closed = other.high, other.high_closed
        return Interval(low, high, low_closed, high_closed)


EVERY_NUMBER = Interval(None, None, False, False)


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, disjoint, non-empty intervals covering the same numbers."""
    ordered = sorted(
        (interval for interval in intervals if not interval.is_empty),
        key=lambda i: (i.low is not None, i.low or 0, not i.low_closed),
    )
    merged: list[Interval] = []
    for interval in ordered:
        if merged:
            last = merged[-1]
            touches = (
                last.high is None
                or interval.low is None
                or interval.low < last.high
                or (interval.low == last.high and (interval.low_closed or last.high_closed))
            )
            if touches:
                if last.high is None or (
                    interval.high is not None
                    and (
                        interval.high < last.high
                        or (interval.high == last.high and last.high_closed)
                    )
                ):
                    continue
                merged[-1] = Interval(
                    last.low, interval.high, last.low_closed, interval.high_closed
                )
                continue
        merged.append(interval)
    return tuple(merged)


def _complement(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    gaps: list[Interval] = []
    low: Decimal | None = None
    low_closed = False
    for interval in intervals:
        if interval.low is not None:
            gap = Interval(low, interval.low, low_closed, not interval.low_closed)
            if not gap.is_empty:
                gaps.append(gap)
        if interval.high is None:
            return tuple(gaps)
        low, low_closed = interval.high, not interval.high_closed
    gaps.append(Interval(low, None, low_closed, False))
    return tuple(gaps)


@dataclass(frozen=True)
class ValueSet:
    """Numbers (a union of intervals) plus other values (a finite set, or everything but a
    finite set when `others_excluded`)."""

    numbers: tuple[Interval, ...] = ()
    others: frozenset[OtherValue] = frozenset()
    others_excluded: bool = False  # True: `others` are the values NOT in the set

    @property
    def is_empty(self) -> bool:
        return not self.numbers and not self.others and not self.others_excluded

    @property
    def is_everything(self) -> bool:
        return self.numbers == (EVERY_NUMBER,) and self.others_excluded and not self.others

    def contains(self, value: object) -> bool:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return (value in self.others) != self.others_excluded
        if isinstance(value, int | float | Decimal):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            return any(interval.contains(number) for interval in self.numbers)
        return False

    def union(self, other: ValueSet) -> ValueSet:
        numbers = _merge(self.numbers + other.numbers)
        if self.others_excluded and other.others_excluded:
            return ValueSet(numbers, self.others & other.others, True)
        if self.others_excluded:
            return ValueSet(numbers, self.others - other.others, True)
        if other.others_excluded:
            return ValueSet(numbers, other.others - self.others, True)
        return ValueSet(numbers, self.others | other.others, False)

    def intersect(self, other: ValueSet) -> ValueSet:
        numbers = _merge(a.intersect(b) for a in self.numbers for b in other.numbers)
        if self.others_excluded and other.others_excluded:
            return ValueSet(numbers, self.others | other.others, True)
        if self.others_excluded:
            return ValueSet(numbers, other.others - self.others, False)
        if other.others_excluded:
            return ValueSet(numbers, self.others - other.others, False)
        return ValueSet(numbers, self.others & other.others, False)

    def complement(self) -> ValueSet:
        return ValueSet(_complement(self.numbers), self.others, not self.others_excluded)


EVERYTHING = ValueSet((EVERY_NUMBER,), frozenset(), True)


def point(value: object) -> ValueSet:
    """The set holding just `value`."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return ValueSet((), frozenset({value}), False)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return ValueSet((Interval(number, number),), frozenset(), False)
    raise TypeError(f"not a table value: {value!r}")


# ---------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
   |(?P<number>-?\d+(?:\.\d+)?)
   |(?P<string>"(?:[^"\\]|\\.)*")
   |(?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
   |(?P<op><=|>=|<|>|=|\.\.|\[|\]|\(|\)|,)
    """,
    re.VERBOSE,
)

# Cells are short; a limit keeps a hostile table from costing time in the analysis.
MAX_ENTRY_LENGTH = 500


@dataclass(frozen=True)
class UnaryTest:
    """One parsed cell. `literals` are the plain values it names (to check them against an
    input's declared values); `is_numeric` says it speaks only of numbers."""

    text: str
    values: ValueSet
    literals: tuple[OtherValue | Decimal, ...] = field(default=())
    is_numeric: bool = False

    @property
    def is_any(self) -> bool:
        return self.values.is_everything

    def matches(self, value: object) -> bool:
        return self.values.contains(value)


ANY = UnaryTest("-", EVERYTHING)


@dataclass
class _Token:
    kind: str
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            if char == '"':
                raise UnaryTestError(_('text is not closed (missing ")'), position + 1)
            raise UnaryTestError(
                _("unexpected character %(char)s") % {"char": repr(char)}, position + 1
            )
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def parse_unary_test(text: str) -> UnaryTest:
    """Parse one cell; raises UnaryTestError naming the column."""
    stripped = text.strip()
    if stripped in ("", "-"):
        return ANY
    if len(stripped) > MAX_ENTRY_LENGTH:
        raise UnaryTestError(
            _("entry too long (at most %(limit)d characters)") % {"limit": MAX_ENTRY_LENGTH}
        )
    parser = _Parser(_tokens(text))
    negated = False
    first = parser.tokens[0]
    if first.kind == "word" and first.text == "not" and parser.tokens[1].text == "(":
        negated = True
        parser.index = 2
    values, literals, is_numeric = parser.items()
    if negated:
        parser.expect(")")
        values = values.complement()
    end = parser.current
    if end.kind != "end":
        raise UnaryTestError(_("unexpected %(found)s") % {"found": repr(end.text)}, end.column)
    return UnaryTest(text.strip(), values, tuple(literals), is_numeric)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.advance()
        if token.text != text:
            found = repr(token.text) if token.kind != "end" else _("the end")
            raise UnaryTestError(
                _("expected %(expected)s, found %(found)s")
                % {"expected": repr(text), "found": found},
                token.column,
            )

    def number(self) -> Decimal:
        token = self.advance()
        if token.kind != "number":
            found = repr(token.text) if token.kind != "end" else _("the end")
            raise UnaryTestError(
                _("expected a number, found %(found)s") % {"found": found}, token.column
            )
        return Decimal(token.text)

    def items(self) -> tuple[ValueSet, list[OtherValue | Decimal], bool]:
        values = ValueSet()
        literals: list[OtherValue | Decimal] = []
        is_numeric = True
        while True:
            item, literal, item_is_numeric = self.item()
            values = values.union(item)
            is_numeric = is_numeric and item_is_numeric
            if literal is not _NO_LITERAL:
                literals.append(literal)  # type: ignore[arg-type]
            if self.current.text != ",":
                return values, literals, is_numeric
            self.advance()

    def item(self) -> tuple[ValueSet, object, bool]:
        token = self.current
        if token.kind == "op" and token.text in ("<", "<=", ">", ">=", "="):
            self.advance()
            number = self.number()
            interval = {
                "<": Interval(None, number, False, False),
                "<=": Interval(None, number, False, True),
                ">": Interval(number, None, False, False),
                ">=": Interval(number, None, True, False),
                "=": Interval(number, number),
            }[token.text]
            return ValueSet((interval,)), _NO_LITERAL, True
        if token.kind == "op" and token.text in ("[", "(", "]"):
            self.advance()
            low = self.number()
            self.expect("..")
            high = self.number()
            closing = self.advance()
            if closing.text not in ("]", ")", "["):
                raise UnaryTestError(_("a range ends with ] or ) or ["), closing.column)
            interval = Interval(low, high, token.text == "[", closing.text == "]")
            if interval.is_empty:
                raise UnaryTestError(_("the range is empty"), token.column)
            return ValueSet((interval,)), _NO_LITERAL, True
        self.advance()
        if token.kind == "number":
            if self.current.text == "..":
                raise UnaryTestError(
                    _("write a range in brackets, e.g. [1..10] (in YAML, in quotes)"),
                    token.column,
                )
            number = Decimal(token.text)
            return point(number), number, True
        if token.kind == "string":
            text = re.sub(r"\\(.)", r"\1", token.text[1:-1])
            return point(text), text, False
        if token.kind == "word":
            value: OtherValue = {"true": True, "false": False, "null": None}.get(
                token.text, token.text
            )
            if token.text == "not":
                raise UnaryTestError(
                    _("not is written not(...) around the whole entry"), token.column
                )
            return point(value), value, False
        found = repr(token.text) if token.kind != "end" else _("the end")
        raise UnaryTestError(
            _("expected a value, a comparison or a range, found %(found)s") % {"found": found},
            token.column,
        )


_NO_LITERAL = object()

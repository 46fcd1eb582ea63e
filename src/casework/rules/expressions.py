"""A small, safe expression language for conditions in case types and decision tables.

Authors write conditions such as::

    case.priority == "high" and contract.ends_in_days <= 90
        and "international" in customer.interests

The text is tokenised and parsed by our own Pratt parser into a tree of frozen nodes, which
is then evaluated against a mapping of data. Nothing is ever handed to Python's `eval`, so a
definition cannot run code, import modules or reach attributes of Python objects.

Grammar, loosest binding first::

    or                      a or b
    and                     a and b
    not                     not a
    comparison              == != < <= > >= in, not in     (not chained: a < b < c is an error)
    + -                     numbers; + also joins two texts or two lists
    * /                     numbers
    unary -                 -a
    primary                 42, 3.5, "text", 'text', true, false, null, [1, 2],
                            dotted.name, function(args), (expression)

Values are null, booleans, numbers (exact decimals, never binary floats), texts, lists,
mappings, dates and datetimes. Rules of evaluation:

- a name whose value is missing in the data is null (optional data needs no guard);
- `==`/`!=` compare values of different types as unequal (`1 == "1"` is false);
- `<`, `<=`, `>`, `>=` with null are false; with values of different types (text and
  number) they are an `ExpressionEvaluationError`;
- `+ - * /` with null give null; `and`, `or`, `not` take null as false;
- `x in list` tests membership, `"sub" in text` tests for a substring, `x in null` is false.

Functions: `len(text or list)`, `lower(text)`, `upper(text)`, `contains(text or list, value)`,
`startswith(text, prefix)`, `days_between(date, date)` (whole days from the first to the
second; dates may be ISO texts), `add_days(date, number)`. Each returns null for a null
argument.

Bounds: at most `MAX_LENGTH` characters and `MAX_DEPTH` levels of nesting, so hostile text
cannot exhaust the parser, the stack or the evaluator.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import TypeAlias

from casework.kernel.errors import InvalidInput
from casework.rules.translation import gettext as _

MAX_LENGTH = 2000
MAX_DEPTH = 32

Value: TypeAlias = (
    "None | bool | Decimal | str | date | datetime | list[Value] | Mapping[str, object]"
)

# Money and durations must add up exactly; traps turn overflows into errors, not infinities.
_DECIMALS = Context(
    prec=34, Emax=999_999, Emin=-999_999, traps=[InvalidOperation, DivisionByZero, Overflow]
)


class ExpressionError(InvalidInput):
    """Anything wrong with an expression. `column` (1-based) points into `source` when the
    problem is in the text; it is None for problems found only while evaluating."""

    code = "expression_invalid"

    def __init__(self, message: str, *, column: int | None = None, source: str = "") -> None:
        super().__init__(message, column=column)
        self.column = column
        self.source = source

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return _("column %(column)d: %(message)s") % {
            "column": self.column,
            "message": self.message,
        }


class ExpressionSyntaxError(ExpressionError):
    """The text does not parse, is too long or deep, or names an unknown field or function."""


class ExpressionEvaluationError(ExpressionError):
    """The data does not fit the expression, e.g. comparing a text with a number."""

    code = "expression_failed"


# ---------------------------------------------------------------------------- tokens

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
   |(?P<number>\d+(?:\.\d+)?)
   |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
   |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,|\.)
    """,
    re.VERBOSE,
)

_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    column: int
    value: object = None


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        column = position + 1
        if match is None:
            char = source[position]
            if char in "\"'":
                raise ExpressionSyntaxError(
                    _("text is not closed (missing %(quote)s)") % {"quote": char},
                    column=column,
                    source=source,
                )
            if char == "=":
                raise ExpressionSyntaxError(_("use == to compare"), column=column, source=source)
            raise ExpressionSyntaxError(
                _("unexpected character %(char)s") % {"char": repr(char)},
                column=column,
                source=source,
            )
        kind = match.lastgroup or ""
        text = match.group()
        position = match.end()
        if kind == "space":
            continue
        if kind == "number":
            tokens.append(_Token("number", text, column, Decimal(text)))
        elif kind == "string":
            tokens.append(_Token("string", text, column, _unescape(text, column, source)))
        elif kind == "name":
            tokens.append(_Token("keyword" if text in _KEYWORDS else "name", text, column))
        else:
            tokens.append(_Token("op", text, column))
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


def _unescape(text: str, column: int, source: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    result = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped not in _ESCAPES:
                raise ExpressionSyntaxError(
                    _("unknown escape \\%(char)s in text") % {"char": escaped},
                    column=column + index + 1,
                    source=source,
                )
            result.append(_ESCAPES[escaped])
            index += 2
        else:
            result.append(char)
            index += 1
    return "".join(result)


# ---------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Node:
    column: int
    depth: int


@dataclass(frozen=True)
class Literal(Node):
    value: Value


@dataclass(frozen=True)
class Name(Node):
    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class ListDisplay(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    operator: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    operator: str  # arithmetic, comparison, "in", "not in", "and", "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]


def _depth(*children: Node) -> int:
    return 1 + max((child.depth for child in children), default=0)


# ---------------------------------------------------------------------------- parser

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
_BINDING = {
    "or": 10,
    "and": 20,
    **dict.fromkeys(_COMPARISONS, 40),
    "+": 50,
    "-": 50,
    "*": 60,
    "/": 60,
}
_NOT_POWER = 30
_NEGATE_POWER = 70


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0
        self.nesting = 0

    def error(self, message: str, token: _Token) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, column=token.column, source=self.source)

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.current
        if token.text != text or token.kind not in ("op", "keyword"):
            raise self.error(
                _("expected %(expected)s, found %(found)s")
                % {"expected": repr(text), "found": _describe_token(token)},
                token,
            )
        return self.advance()

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.error(_("the expression is empty"), self.current)
        node = self.expression(0)
        if self.current.kind != "end":
            raise self.error(
                _("unexpected %(found)s") % {"found": _describe_token(self.current)},
                self.current,
            )
        return node

    def binding_of(self, token: _Token) -> tuple[str, int]:
        """The infix operator starting at `token` and how tightly it binds (0: none)."""
        if token.kind == "keyword" and token.text == "not":
            following = self.tokens[self.index + 1]
            if following.kind == "keyword" and following.text == "in":
                return "not in", _BINDING["not in"]
            return "", 0
        if token.kind in ("op", "keyword") and token.text in _BINDING:
            return token.text, _BINDING[token.text]
        return "", 0

    def expression(self, right_binding: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(
                _("nested too deeply (at most %(limit)d levels)") % {"limit": MAX_DEPTH},
                self.current,
            )
        left = self.prefix(self.advance())
        while True:
            operator, binding = self.binding_of(self.current)
            if binding <= right_binding:
                break
            token = self.advance()
            if operator == "not in":
                self.advance()
            right = self.expression(binding)
            if operator in _COMPARISONS:
                following, following_binding = self.binding_of(self.current)
                if following in _COMPARISONS:
                    raise self.error(
                        _("comparisons cannot be chained; join them with and"), self.current
                    )
            left = self.node(Binary, token, operator, left, right)
        self.nesting -= 1
        return left

    def node(self, kind: type[Node], token: _Token, *parts: object) -> Node:
        children = [part for part in parts if isinstance(part, Node)]
        for part in parts:
            if isinstance(part, tuple):
                children.extend(child for child in part if isinstance(child, Node))
        depth = _depth(*children)
        if depth > MAX_DEPTH:
            raise self.error(
                _("nested too deeply (at most %(limit)d levels)") % {"limit": MAX_DEPTH}, token
            )
        return kind(token.column, depth, *parts)  # type: ignore[call-arg]

    def prefix(self, token: _Token) -> Node:
        if token.kind in ("number", "string"):
            return Literal(token.column, 1, token.value)  # type: ignore[arg-type]
        if token.kind == "keyword":
            if token.text in ("true", "false", "null"):
                value = {"true": True, "false": False, "null": None}[token.text]
                return Literal(token.column, 1, value)
            if token.text == "not":
                return self.node(Unary, token, "not", self.expression(_NOT_POWER))
        if token.kind == "op":
            if token.text == "(":
                inner = self.expression(0)
                self.expect(")")
                return inner
            if token.text == "-":
                return self.node(Unary, token, "-", self.expression(_NEGATE_POWER))
            if token.text == "[":
                return self.list_display(token)
        if token.kind == "name":
            if self.current.kind == "op" and self.current.text == "(":
                return self.call(token)
            return self.name(token)
        if token.kind == "end":
            raise self.error(_("the expression ends too early"), token)
        raise self.error(_("unexpected %(found)s") % {"found": _describe_token(token)}, token)

    def name(self, first: _Token) -> Node:
        path = [first.text]
        while self.current.kind == "op" and self.current.text == ".":
            self.advance()
            part = self.advance()
            if part.kind not in ("name", "keyword"):
                raise self.error(
                    _("expected a field name after the dot, found %(found)s")
                    % {"found": _describe_token(part)},
                    part,
                )
            path.append(part.text)
        return Name(first.column, 1, tuple(path))

    def items(self, closing: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if self.current.kind == "op" and self.current.text == closing:
            self.advance()
            return ()
        while True:
            items.append(self.expression(0))
            if self.current.kind == "op" and self.current.text == ",":
                self.advance()
                continue
            self.expect(closing)
            return tuple(items)

    def list_display(self, token: _Token) -> Node:
        return self.node(ListDisplay, token, self.items("]"))

    def call(self, token: _Token) -> Node:
        function = FUNCTIONS.get(token.text)
        if function is None:
            raise self.error(
                _("unknown function %(name)s (known: %(known)s)")
                % {"name": f'"{token.text}"', "known": ", ".join(sorted(FUNCTIONS))},
                token,
            )
        self.advance()
        arguments = self.items(")")
        if len(arguments) != function.arity:
            raise self.error(
                _("%(name)s takes %(expected)d argument(s), got %(count)d")
                % {"name": token.text, "expected": function.arity, "count": len(arguments)},
                token,
            )
        return self.node(Call, token, token.text, arguments)


def _describe_token(token: _Token) -> str:
    if token.kind == "end":
        return _("the end of the expression")
    return repr(token.text)


# ---------------------------------------------------------------------------- names


class KnownNames:
    """The fields an expression may name: dotted paths such as `case.priority`.

    A path ending in `.*` admits everything below it (`customer.attributes.*`, for data
    whose shape is not declared). Naming a prefix of a known path is allowed as well: it
    refers to the whole mapping (`customer` in `len(customer) > 0`).
    """

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(paths)
        self._open = frozenset(path[:-2] for path in self.paths if path.endswith(".*"))
        prefixes: set[str] = set()
        for path in self.paths:
            parts = path.removesuffix(".*").split(".")
            prefixes.update(".".join(parts[: index + 1]) for index in range(len(parts)))
        self._prefixes = frozenset(prefixes)

    def admits(self, dotted: str) -> bool:
        if dotted in self._prefixes:
            return True
        parts = dotted.split(".")
        return any(".".join(parts[:index]) in self._open for index in range(1, len(parts)))

    def suggest(self, dotted: str) -> str | None:
        candidates = [path for path in self.paths if not path.endswith(".*")]
        matches = difflib.get_close_matches(dotted, candidates, n=1)
        return matches[0] if matches else None


def _names_in(node: Node) -> Iterable[Name]:
    if isinstance(node, Name):
        yield node
    elif isinstance(node, Unary):
        yield from _names_in(node.operand)
    elif isinstance(node, Binary):
        yield from _names_in(node.left)
        yield from _names_in(node.right)
    elif isinstance(node, ListDisplay | Call):
        for child in node.items if isinstance(node, ListDisplay) else node.arguments:
            yield from _names_in(child)


# ---------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class Expression:
    """A compiled expression: parse once at load time, evaluate for every case."""

    source: str
    tree: Node
    names: frozenset[str]  # the dotted names it reads, e.g. for explaining a decision

    def evaluate(self, data: Mapping[str, object]) -> Value:
        """The value of the expression over `data` (nested mappings, e.g. {"case": {...}}).

        Raises ExpressionEvaluationError when the data does not fit (a text compared with a
        number, a division by zero); never any other exception.
        """
        try:
            with localcontext(_DECIMALS):
                return _evaluate(self.tree, data)
        except ExpressionEvaluationError as error:
            error.source = self.source
            raise

    def is_true(self, data: Mapping[str, object]) -> bool:
        """The expression as a condition: true, or false (null counts as false)."""
        result = self.evaluate(data)
        if result is None or isinstance(result, bool):
            return bool(result)
        raise ExpressionEvaluationError(
            _("a condition must be true or false, got %(kind)s") % {"kind": _kind(result)},
            source=self.source,
        )

    def __str__(self) -> str:
        return self.source


def compile_expression(
    source: str, known_names: Collection[str] | KnownNames | None = None
) -> Expression:
    """Parse `source` into an Expression.

    With `known_names` (dotted paths, or a KnownNames), naming any other field is an error
    here rather than a null at run time, so typos are found when a definition is loaded.
    Raises ExpressionSyntaxError (with the column) and nothing else.
    """
    if not isinstance(source, str):
        raise ExpressionSyntaxError(_("an expression must be text"), column=None)
    if len(source) > MAX_LENGTH:
        raise ExpressionSyntaxError(
            _("too long (%(length)d characters, at most %(limit)d)")
            % {"length": len(source), "limit": MAX_LENGTH},
            column=MAX_LENGTH + 1,
            source=source[:80],
        )
    tree = _Parser(source).parse()
    names = list(_names_in(tree))
    if known_names is not None:
        known = known_names if isinstance(known_names, KnownNames) else KnownNames(known_names)
        for name in names:
            if not known.admits(name.dotted):
                suggestion = known.suggest(name.dotted)
                message = _("unknown field %(name)s") % {"name": f'"{name.dotted}"'}
                if suggestion:
                    message += " " + _("(did you mean %(name)s?)") % {"name": f'"{suggestion}"'}
                raise ExpressionSyntaxError(message, column=name.column, source=source)
    return Expression(source, tree, frozenset(name.dotted for name in names))


# ---------------------------------------------------------------------------- evaluating


def _type_of(value: object) -> str:
    """The language's type of a (normalised) value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal | int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return "other"


def _kind(value: object) -> str:
    """The type of `value` as an author reads it in a message."""
    labels = {
        "null": _("null"),
        "boolean": _("a boolean"),
        "number": _("a number"),
        "text": _("a text"),
        "datetime": _("a datetime"),
        "date": _("a date"),
        "list": _("a list"),
        "mapping": _("a mapping"),
    }
    return labels.get(_type_of(value), type(value).__name__)


def normalise(value: object) -> Value:
    """Data as the language sees it: every number a Decimal, every sequence a list."""
    if value is None or isinstance(value, bool | str | Decimal | date | Mapping):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ExpressionEvaluationError(_("a number must be finite"))
        return value  # type: ignore[return-value]
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionEvaluationError(_("a number must be finite"))
        return Decimal(repr(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [normalise(item) for item in value]
    raise ExpressionEvaluationError(
        _("unsupported value of type %(type)s") % {"type": type(value).__name__}
    )


def _lookup(node: Name, data: Mapping[str, object]) -> Value:
    current: object = data
    for index, part in enumerate(node.path):
        if current is None:
            return None
        if not isinstance(current, Mapping):
            raise ExpressionEvaluationError(
                _("%(name)s is %(kind)s and has no field %(field)s")
                % {
                    "name": ".".join(node.path[:index]),
                    "kind": _kind(current),
                    "field": f'"{part}"',
                },
                column=node.column,
            )
        current = current.get(part)
    return normalise(current)


def _evaluate(node: Node, data: Mapping[str, object]) -> Value:
    match node:
        case Literal(value=value):
            return value
        case Name():
            return _lookup(node, data)
        case ListDisplay(items=items):
            return [_evaluate(item, data) for item in items]
        case Unary(operator="not", operand=operand):
            return not _truth(_evaluate(operand, data), "not", operand)
        case Unary(operator="-", operand=operand):
            value = _evaluate(operand, data)
            if value is None:
                return None
            if not isinstance(value, Decimal):
                raise _mismatch(_("cannot negate %(kind)s") % {"kind": _kind(value)}, node)
            return -value
        case Binary(operator="and", left=left, right=right):
            return _truth(_evaluate(left, data), "and", left) and _truth(
                _evaluate(right, data), "and", right
            )
        case Binary(operator="or", left=left, right=right):
            return _truth(_evaluate(left, data), "or", left) or _truth(
                _evaluate(right, data), "or", right
            )
        case Binary(operator=operator, left=left, right=right):
            return _binary(operator, _evaluate(left, data), _evaluate(right, data), node)
        case Call(function=function, arguments=arguments):
            values = [_evaluate(argument, data) for argument in arguments]
            return FUNCTIONS[function].implementation(values, node)
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover - the parser makes none


def _mismatch(message: str, node: Node) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(message, column=node.column)


def _truth(value: Value, operator: str, node: Node) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise _mismatch(
        _("%(operator)s needs true or false, got %(kind)s")
        % {"operator": operator, "kind": _kind(value)},
        node,
    )


def _same_type(left: Value, right: Value) -> bool:
    return _type_of(left) == _type_of(right)


def equal(left: Value, right: Value) -> bool:
    """Equality without Python's coercions: `true` is not `1`, `1` is not `"1"`."""
    if not _same_type(left, right):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(equal, left, right))
    try:
        return bool(left == right)
    except TypeError:  # naive vs. aware datetimes
        return False


def _binary(operator: str, left: Value, right: Value, node: Node) -> Value:
    if operator == "==":
        return equal(left, right)
    if operator == "!=":
        return not equal(left, right)
    if operator in ("in", "not in"):
        found = _contains(right, left, node)
        return found if operator == "in" else not found
    if operator in ("<", "<=", ">", ">="):
        if left is None or right is None:
            return False
        if not _same_type(left, right) or _type_of(left) in ("boolean", "list", "mapping"):
            raise _mismatch(
                _("cannot compare %(left)s with %(right)s")
                % {"left": _kind(left), "right": _kind(right)},
                node,
            )
        try:
            if operator == "<":
                return left < right  # type: ignore[operator]
            if operator == "<=":
                return left <= right  # type: ignore[operator]
            if operator == ">":
                return left > right  # type: ignore[operator]
            return left >= right  # type: ignore[operator]
        except TypeError as error:  # naive vs. aware datetimes
            raise _mismatch(_("cannot compare these datetimes"), node) from error
    if left is None or right is None:
        return None
    if operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, list) and isinstance(right, list):
            return left + right
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        try:
            if operator == "+":
                return left + right
            if operator == "-":
                return left - right
            if operator == "*":
                return left * right
            return left / right
        except DivisionByZero as error:
            raise _mismatch(_("division by zero"), node) from error
        except ArithmeticError as error:
            raise _mismatch(_("number out of range"), node) from error
    raise _mismatch(
        _("cannot apply %(operator)s to %(left)s and %(right)s")
        % {"operator": operator, "left": _kind(left), "right": _kind(right)},
        node,
    )


def _contains(container: Value, item: Value, node: Node) -> bool:
    if container is None:
        return False
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    if isinstance(container, str):
        if item is None:
            return False
        if not isinstance(item, str):
            raise _mismatch(
                _("only a text can be found in a text, not %(kind)s") % {"kind": _kind(item)},
                node,
            )
        return item in container
    raise _mismatch(
        _("in needs a list or a text on the right, got %(kind)s") % {"kind": _kind(container)},
        node,
    )


# ---------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class _Function:
    arity: int
    implementation: Callable[[Sequence[Value], Node], Value]


def _text_argument(value: Value, function: str, node: Node) -> str:
    if not isinstance(value, str):
        raise _mismatch(
            _("%(function)s needs a text, got %(kind)s")
            % {"function": function, "kind": _kind(value)},
            node,
        )
    return value


def _date_argument(value: Value, function: str, node: Node) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise _mismatch(
        _("%(function)s needs a date, got %(kind)s") % {"function": function, "kind": _kind(value)},
        node,
    )


def _len(values: Sequence[Value], node: Node) -> Value:
    (value,) = values
    if value is None:
        return None
    if isinstance(value, str | list):
        return Decimal(len(value))
    raise _mismatch(_("len needs a text or a list, got %(kind)s") % {"kind": _kind(value)}, node)


def _lower(values: Sequence[Value], node: Node) -> Value:
    return None if values[0] is None else _text_argument(values[0], "lower", node).lower()


def _upper(values: Sequence[Value], node: Node) -> Value:
    return None if values[0] is None else _text_argument(values[0], "upper", node).upper()


def _contains_function(values: Sequence[Value], node: Node) -> Value:
    container, item = values
    if container is None:
        return None
    return _contains(container, item, node)


def _startswith(values: Sequence[Value], node: Node) -> Value:
    text, prefix = values
    if text is None or prefix is None:
        return None
    return _text_argument(text, "startswith", node).startswith(
        _text_argument(prefix, "startswith", node)
    )


def _days_between(values: Sequence[Value], node: Node) -> Value:
    first, second = values
    if first is None or second is None:
        return None
    start = _date_argument(first, "days_between", node)
    end = _date_argument(second, "days_between", node)
    return Decimal((end - start).days)


def _add_days(values: Sequence[Value], node: Node) -> Value:
    day, count = values
    if day is None or count is None:
        return None
    if not isinstance(count, Decimal) or count != count.to_integral_value():
        raise _mismatch(_("add_days needs a whole number of days"), node)
    try:
        return _date_argument(day, "add_days", node) + timedelta(days=int(count))
    except OverflowError as error:
        raise _mismatch(_("date out of range"), node) from error


FUNCTIONS: Mapping[str, _Function] = {
    "len": _Function(1, _len),
    "lower": _Function(1, _lower),
    "upper": _Function(1, _upper),
    "contains": _Function(2, _contains_function),
    "startswith": _Function(2, _startswith),
    "days_between": _Function(2, _days_between),
    "add_days": _Function(2, _add_days),
}

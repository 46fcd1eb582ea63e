"""Reading definition files: YAML that remembers line numbers, and schema errors as problems.

Every problem an author sees must name the line to fix, so mappings and lists come back as
`LineDict`/`LineList`, which carry the line of the node and of each key or item. The YAML
dialect is deliberately narrower than PyYAML's default:

- booleans are only `true`/`false` (YAML 1.1 would read `no`, `on`, `off` as booleans,
  turning a Norwegian country code or a key named `on` into `False`/`True`);
- dates stay strings (JSON Schema and the expression language see text, not `date`);
- duplicate keys are an error (PyYAML silently keeps the last one);
- aliases (`*name`) are refused: they are rarely needed in a definition, and refusing
  them rules out "billion laughs" documents that expand exponentially.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from yaml.constructor import ConstructorError

from casework.rules.problems import InvalidDefinition, Problem
from casework.rules.translation import gettext as _

# Definitions are small, hand-written files; anything bigger is a mistake or an attack.
MAX_FILE_BYTES = 1_000_000


class LineDict(dict[str, Any]):
    """A YAML mapping with the line of the mapping (`line`) and of each key (`key_lines`)."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence with the line of the sequence and of each item."""

    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def line_of(container: object, key: str | int | None = None) -> int | None:
    """The line of `container[key]` (or of the container), when it was read from YAML."""
    if isinstance(container, LineDict):
        return container.line if key is None else container.line_of(str(key))
    if isinstance(container, LineList):
        return container.line if not isinstance(key, int) else container.line_of(key)
    return None


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, _("aliases (*name) are not supported"), event.start_mark
            )
        return super().compose_node(parent, index)


def _key_text(key: object) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            raise ConstructorError(
                None, None, _("a key must be a plain value"), key_node.start_mark
            )
        text = _key_text(key)
        if text in result:
            raise ConstructorError(
                None, None, _("duplicate key %(key)s") % {"key": f'"{text}"'}, key_node.start_mark
            )
        result[text] = loader.construct_object(value_node, deep=True)
        result.key_lines[text] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def read_text(path: Path, display: str | None = None) -> str:
    """The file's text; raises InvalidDefinition if it is missing, too big or not UTF-8."""
    shown = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidDefinition(
                [
                    Problem(
                        shown,
                        None,
                        _("file too big (%(size)d bytes, at most %(limit)d)")
                        % {"size": size, "limit": MAX_FILE_BYTES},
                    )
                ]
            )
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as error:
        raise InvalidDefinition([Problem(shown, None, _("file not found"))]) from error
    except UnicodeDecodeError as error:
        raise InvalidDefinition([Problem(shown, None, _("not UTF-8 text"))]) from error
    except OSError as error:
        raise InvalidDefinition(
            [Problem(shown, None, _("cannot read: %(reason)s") % {"reason": error.strerror})]
        ) from error


def parse_yaml(text: str, path: str) -> Any:
    """The document in `text` with line numbers; InvalidDefinition names the line of a
    syntax error."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise InvalidDefinition(
            [Problem(path, line, _("invalid YAML: %(reason)s") % {"reason": reason})]
        ) from error
    except yaml.YAMLError as error:
        raise InvalidDefinition(
            [Problem(path, None, _("invalid YAML: %(reason)s") % {"reason": str(error)})]
        ) from error
    except RecursionError as error:  # nesting deep enough to exhaust the parser
        raise InvalidDefinition([Problem(path, None, _("invalid YAML: nested too deeply"))]) from (
            error
        )


def schema_problems(
    instance: object, schema: Mapping[str, Any], path: str, *, prefix: str = ""
) -> list[Problem]:
    """Everything in `instance` that `schema` (JSON Schema 2020-12) rejects, as problems with
    the line of the offending key and a message an author can act on."""
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        for line, message in _describe(error, instance):
            problems.append(Problem(path, line, prefix + message))
    return problems


def _describe(error: ValidationError, root: object) -> Iterator[tuple[int | None, str]]:
    container, key = _locate(root, list(error.absolute_path))
    where = _field_name(error.absolute_path)
    line = line_of(container, key)
    instance = error.instance
    match error.validator:
        case "required":
            missing = [name for name in error.validator_value if name not in instance]
            for name in missing:
                yield (
                    line_of(instance) or line,
                    _("%(where)smissing required field %(name)s")
                    % {"where": where, "name": f'"{name}"'},
                )
        case "additionalProperties" if isinstance(instance, dict):
            known = set(error.schema.get("properties", {}))
            patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
            for name in instance:
                if name in known or any(p.search(name) for p in patterns):
                    continue
                yield (
                    line_of(instance, name) or line,
                    _("%(where)sunknown field %(name)s (known: %(known)s)")
                    % {"where": where, "name": f'"{name}"', "known": ", ".join(sorted(known))},
                )
        case "enum":
            yield (
                line,
                _("%(where)s%(value)s is not one of %(allowed)s")
                % {
                    "where": where,
                    "value": _shown(instance),
                    "allowed": ", ".join(_shown(value) for value in error.validator_value),
                },
            )
        case "type":
            expected = error.validator_value
            expected_text = " or ".join(expected) if isinstance(expected, list) else expected
            yield (
                line,
                _("%(where)sexpected %(expected)s, got %(value)s")
                % {"where": where, "expected": expected_text, "value": _shown(instance)},
            )
        case _:
            yield line, f"{where}{error.message}"


def _locate(root: object, path: Sequence[str | int]) -> tuple[object, str | int | None]:
    """The container holding the value at `path`, and the value's key in it."""
    container: object = root
    for step in path[:-1]:
        try:
            container = container[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return container, None
    return (container, path[-1]) if path else (root, None)


def _field_name(path: Sequence[str | int]) -> str:
    if not path:
        return ""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return f"{text}: "


def _shown(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    return str(value)

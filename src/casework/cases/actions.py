"""Actions: steps that run code the product ships, named in case types (`kind: action`).

A case type says *what* happens (`action: retention.apply-offer`); the domain package that
owns the data says *how*, by registering a function here when its app is ready. An action
runs inside the transaction of the case's change, so its writes and the case's next step
commit together or not at all. It returns the data fields to set on the case, or raises
`ActionFailed` with a reason a person can act on — the engine then opens an exception task
instead of failing the case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.cases.models import Case

ActionFunction = Callable[["Case", Mapping[str, Any]], Mapping[str, Any] | None]

_registered: dict[str, ActionFunction] = {}
# Actions that work on the case as the engine hands it over and never read its row from
# the database: the engine need not write the row before them (see `process.advance`).
_in_memory: set[str] = set()
# Actions that raise ActionFailed only before they write anything: nothing to roll back, so
# the engine runs them without a savepoint of their own.
_fail_before_writing: set[str] = set()


class ActionFailed(Exception):
    """The action cannot be done for this case; `reason` says why, in the active language.
    `options` are what the person deciding the exception may do."""

    def __init__(
        self, reason: str, *, options: tuple[str, ...] = ("retry", "fix_data", "skip", "cancel")
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.options = options


def action(
    name: str, *, reads_case_row: bool = True, fails_before_writing: bool = False
) -> Callable[[ActionFunction], ActionFunction]:
    """Register the decorated function as the action `name` (e.g. "retention.apply-offer").
    `reads_case_row=False` promises that it uses only the case it is given, never the
    case's row (directly or through services that read it); `fails_before_writing=True`
    that it raises ActionFailed only before its first write."""

    def register(function: ActionFunction) -> ActionFunction:
        _registered[name] = function
        promises = ((not reads_case_row, _in_memory), (fails_before_writing, _fail_before_writing))
        for promised, names in promises:
            if promised:
                names.add(name)
            else:
                names.discard(name)
        return function

    return register


def reads_case_row(name: str) -> bool:
    return name not in _in_memory


def fails_before_writing(name: str) -> bool:
    return name in _fail_before_writing


def is_registered(name: str) -> bool:
    return name in _registered


def registered_names() -> list[str]:
    return sorted(_registered)


def run(name: str, case: Case, context: Mapping[str, Any]) -> Mapping[str, Any]:
    function = _registered.get(name)
    if function is None:
        raise ActionFailed(f"no action named {name!r} is installed", options=("retry", "cancel"))
    return function(case, context) or {}

"""Problems found in a definition file, each with the file and line it is about.

Loaders collect every problem they can find in one pass (an author fixes them all at
once, not one per run) and raise `InvalidDefinition` with the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from casework.kernel.errors import InvalidInput


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition file. `line` is 1-based; None when the problem is
    about the file as a whole (unreadable, empty)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """In file order, duplicates removed (two checks may notice the same thing)."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda problem: (problem.path, problem.line or 0))


class InvalidDefinition(InvalidInput):
    """A case type or decision table that cannot be used; `problems` says why, all of it."""

    code = "definition_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted_problems(problems))
        summary = "\n".join(str(problem) for problem in self.problems)
        super().__init__(summary, problems=[str(problem) for problem in self.problems])

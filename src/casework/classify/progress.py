"""A progress bar on stderr for long training runs: steps done of the total, time elapsed."""

from __future__ import annotations

import time
from collections.abc import Callable

_BAR_WIDTH = 30


class StepProgress:
    """Redraws one line on a terminal; writes one line per step into a log or a pipe."""

    def __init__(
        self,
        total: int,
        *,
        write: Callable[[str], None],
        is_terminal: bool,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(1, total)
        self.done = 0
        self._write = write
        self._is_terminal = is_terminal
        self._label = label
        self._clock = clock
        self._started_at = clock()
        self._drawn_length = 0

    def advance(self, what: str = "") -> None:
        self.done = min(self.total, self.done + 1)
        self._draw(what)

    def finish(self) -> None:
        if self._is_terminal and self._drawn_length:
            self._write("\n")

    def render(self, what: str) -> str:
        share = self.done / self.total
        filled = round(share * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        elapsed = self._clock() - self._started_at
        label = f"{self._label} " if self._label else ""
        return f"{label}[{bar}] {self.done}/{self.total} {elapsed:5.1f} s {what}".rstrip()

    def _draw(self, what: str) -> None:
        text = self.render(what)
        if self._is_terminal:
            # Pad over a longer previous line rather than rely on terminal escape codes.
            self._write("\r" + text.ljust(self._drawn_length))
            self._drawn_length = len(text)
        else:
            self._write(text + "\n")


class NoProgress:
    def advance(self, what: str = "") -> None:
        pass

    def finish(self) -> None:
        pass

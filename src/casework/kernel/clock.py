"""The one place that reads the time, so tests can pin it.

`running_at(moment)` pins the time for the code running inside the block (this thread or
task only): everything that asks `now()` — events, jobs, SLA clocks, the router — sees the
pinned moment, which the caller moves on with `advance()` or `move_to()`. That is how a
history is imported as if it had happened then. Without a pinned time `now()` is the
real time, at the cost of one context variable lookup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from django.utils import timezone


class PinnedTime:
    """The time `now()` answers inside `running_at()`; moved on by its holder. Kept in UTC,
    as the real time is (what is hashed and stored must not depend on the zone it was
    given in)."""

    __slots__ = ("at",)

    def __init__(self, at: datetime) -> None:
        self.at = _utc(at)

    def advance(self, seconds: float) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at

    def move_to(self, moment: datetime) -> datetime:
        self.at = _utc(moment)
        return self.at


_pinned: ContextVar[PinnedTime | None] = ContextVar("casework_clock_pinned", default=None)


def now() -> datetime:
    pinned = _pinned.get()
    if pinned is None:
        return timezone.now()
    return pinned.at


@contextmanager
def running_at(moment: datetime) -> Iterator[PinnedTime]:
    """Pin `now()` to `moment` inside the block; blocks nest (the inner one wins until it
    ends)."""
    pinned = PinnedTime(moment)
    token = _pinned.set(pinned)
    try:
        yield pinned
    finally:
        _pinned.reset(token)


def advance(seconds: float) -> datetime:
    """Move the pinned time on (inside `running_at()` only)."""
    return _current().advance(seconds)


def move_to(moment: datetime) -> datetime:
    """Set the pinned time to `moment` (inside `running_at()` only)."""
    return _current().move_to(moment)


def is_pinned() -> bool:
    return _pinned.get() is not None


def _current() -> PinnedTime:
    pinned = _pinned.get()
    if pinned is None:
        raise RuntimeError("the time is not pinned: use clock.running_at()")
    return pinned


def _utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("a pinned time needs a time zone")
    return moment.astimezone(UTC)


def localtime(at: datetime) -> datetime:
    """The same instant in the installation's time zone (Europe/Berlin by default). Never
    a user's: business hours, routing windows and reports are the installation's."""
    if at.tzinfo is None:
        raise ValueError("localtime() needs a time zone")
    return at.astimezone(timezone.get_default_timezone())

"""Measuring inside a benchmark process: percentiles, SQL statement counts, profiles."""

from __future__ import annotations

import cProfile
import functools
import io
import os
import pstats
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def add_quiet_wait_option(parser: Any) -> None:
    """The option every benchmark shares: how long to wait for an idle machine."""
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="seconds to wait at most for an idle machine before each measurement (0: never)",
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest rank: the smallest value with at least pct % of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats
    return ordered[min(len(ordered), int(rank)) - 1]


@dataclass(frozen=True)
class Latency:
    """Milliseconds."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [value * 1000 for value in seconds]
        if not ms:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        return cls(
            n=len(ms),
            p50=percentile(ms, 50),
            p95=percentile(ms, 95),
            p99=percentile(ms, 99),
            mean=statistics.fmean(ms),
            max=max(ms),
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "p99_ms": round(self.p99, 3),
            "mean_ms": round(self.mean, 3),
            "max_ms": round(self.max, 3),
        }


_FIRST_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([a-z_0-9]+)"?', re.IGNORECASE)


@functools.cache  # the same few statements, millions of times in a long run
def statement_shape(sql: str) -> str:
    """'SELECT customers_customeridentifier', 'INSERT events_event', 'SAVEPOINT' …"""
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    match = _FIRST_TABLE.search(sql)
    return (
        f"{verb} {match.group(1)}"
        if match and verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}
        else verb
    )


@dataclass
class QueryCounter:
    """Counts the SQL statements Django sends (`connection.execute_wrapper`), by shape."""

    total: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.total += 1
        shape = statement_shape(sql)
        self.shapes[shape] += 1
        self.samples.setdefault(shape, sql)
        return execute(sql, params, many, context)

    @contextmanager
    def installed(self) -> Iterator[QueryCounter]:
        from django.db import connection

        with connection.execute_wrapper(self):
            yield self


def profile_top(profiler: cProfile.Profile, *, sort: str, limit: int) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    text = buffer.getvalue()
    # pstats opens with a few lines of totals; keep from the totals line on.
    start = text.find(" function calls")
    start = text.rfind("\n", 0, start) + 1 if start != -1 else 0
    return text[start:].rstrip()


def profile_full(profiler: cProfile.Profile) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(120)
    stats.sort_stats("tottime").print_stats(60)
    return buffer.getvalue()


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _process_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time a running process has used (0 if it is gone)."""
    return (_process_ticks(pid) or 0) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


class MachineLoad:
    """How busy the machine was during a phase, and how much of that was someone else.

    The benchmark's own CPU is this process, its descendants (servers) and the PostgreSQL
    backends serving the benchmark's database; everything else on the machine (other test
    runs, browsers) is 'others'. Take the measurement before stopping a server, or its
    CPU time is lost and counted as others'."""

    def __init__(self, database_name: str | None = None) -> None:
        self.database_name = database_name
        self.figures: dict[str, float] = {}

    def _own_pids(self) -> list[int]:
        pids = [os.getpid(), *descendants(os.getpid())]
        if self.database_name:
            pids += _postgres_backends(self.database_name)
        return pids

    def _snapshot(self) -> tuple[float, tuple[int, int], dict[int, int]]:
        ticks = {pid: _process_ticks(pid) for pid in self._own_pids()}
        return time.monotonic(), _cpu_ticks(), {pid: t for pid, t in ticks.items() if t is not None}

    def __enter__(self) -> MachineLoad:
        self.load_before = os.getloadavg()[0]
        self.before = self._snapshot()
        return self

    def __exit__(self, *exc_info: object) -> None:
        began, (busy0, total0), own0 = self.before
        ended, (busy1, total1), own1 = self._snapshot()
        own = sum(ticks - own0.get(pid, 0) for pid, ticks in own1.items())
        span = max(total1 - total0, 1)
        self.figures = {
            "seconds": round(ended - began, 2),
            "loadavg_1m_before": round(self.load_before, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
            "cpu_busy_share": round((busy1 - busy0) / span, 3),
            "cpu_share_of_others": round(max(0, busy1 - busy0 - own) / span, 3),
        }

    def describe(self) -> str:
        if not self.figures:
            return "machine load: not measured"
        f = self.figures
        return (
            f"machine load: CPUs {f['cpu_busy_share']:.0%} busy, {f['cpu_share_of_others']:.0%}"
            f" by other processes; load average {f['loadavg_1m_before']} → "
            f"{f['loadavg_1m_after']}"
        )


def _postgres_backends(database_name: str) -> list[int]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database_name])
        return [row[0] for row in cursor.fetchall()]


def wait_for_quiet(
    max_seconds: float, *, threshold: float = 0.3, window_seconds: float = 3.0
) -> float:
    """Wait (at most max_seconds) until the CPUs are mostly idle before measuring: other
    people's test runs and builds share this machine. Returns the busy share last seen."""
    deadline = time.monotonic() + max_seconds
    waited = 0.0
    while True:
        busy0, total0 = _cpu_ticks()
        time.sleep(window_seconds)
        busy1, total1 = _cpu_ticks()
        share = (busy1 - busy0) / max(total1 - total0, 1)
        waited += window_seconds
        if share <= threshold or time.monotonic() >= deadline:
            note = "" if share <= threshold else f", above {threshold:.0%}: measuring anyway"
            print(f"machine: CPUs {share:.0%} busy before measuring (waited {waited:.0f} s{note})")
            return share

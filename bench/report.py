"""What every benchmark prints and keeps: machine facts, tables, verdicts, a JSON file."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_DIR / "bench" / "results"
PG_SERVER_URL = os.environ.get("CASEWORK_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def _first_line_with(path: str, prefix: str) -> str:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.strip()
    except OSError:
        pass
    return "?"


def _postgres_facts() -> dict[str, str]:
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER_URL}/postgres", connect_timeout=3) as conn:
            facts = {}
            for setting in ("server_version", "shared_buffers", "synchronous_commit", "fsync"):
                facts[setting] = conn.execute(f"SHOW {setting}").fetchone()[0]
            return facts
    except Exception as error:  # noqa: BLE001  (facts are informative only)
        return {"server_version": f"unavailable ({type(error).__name__})"}


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=REPO_DIR, capture_output=True, text=True
        ).stdout.strip()
        return f"{revision}{' (+ uncommitted changes in src/)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine_facts() -> dict[str, Any]:
    import django

    memory_kib = _first_line_with("/proc/meminfo", "MemTotal").split()[0]
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _first_line_with("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(memory_kib) / 2**20, 1) if memory_kib.isdigit() else "?",
        "os": _first_line_with("/etc/os-release", "PRETTY_NAME").split("=", 1)[-1].strip('"'),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_facts(),
        "casework_revision": _git_revision(),
        "python_loop_ms": _python_loop_ms(),
    }


def _python_loop_ms() -> float:
    """A fixed piece of pure Python (the best of three), to compare machines: the same
    code has measured 2.7× apart on two machines that report the same CPU."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for n in range(2_000_000):
            total += n
        best = min(best, time.perf_counter() - began)
    return round(best * 1000, 1)


def print_header(title: str, facts: dict[str, Any], details: dict[str, Any]) -> None:
    pg = facts["postgresql"]
    pg_text = pg.get("server_version", "?")
    if "synchronous_commit" in pg:
        pg_text += (
            f" (shared_buffers={pg['shared_buffers']}, synchronous_commit="
            f"{pg['synchronous_commit']}, fsync={pg['fsync']})"
        )
    print("=" * 100)
    print(title)
    print("=" * 100)
    print(f"date        {facts['date']}    casework {facts['casework_revision']}")
    print(
        f"machine     nproc={facts['nproc']}  {facts['cpu']}  {facts['memory_gib']} GiB RAM  "
        f"(2M Python additions: {facts['python_loop_ms']:g} ms)"
    )
    print(f"            {facts['os']}, kernel {facts['kernel']}")
    print(
        f"software    Python {facts['python']}, Django {facts['django']}, SQLite "
        f"{facts['sqlite']}, PostgreSQL {pg_text}"
    )
    for key, value in details.items():
        print(f"{key:<11} {value}")
    print("-" * 100)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max(len(str(header[i])), *(len(row[i]) for row in cells)) if cells else len(header[i])
        for i in range(len(header))
    ]
    print()
    print(title)
    line = "  ".join(
        str(name).ljust(widths[i]) if i == 0 else str(name).rjust(widths[i])
        for i, name in enumerate(header)
    )
    print(line)
    print("-" * len(line))
    for row in cells:
        print(
            "  ".join(
                value.ljust(widths[i]) if i == 0 else value.rjust(widths[i])
                for i, value in enumerate(row)
            )
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Check:
    """One target: `value` compared with `limit` (`at_most` or `at_least`)."""

    name: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def passed(self) -> bool:
        if self.value != self.value:  # NaN: not measured
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def print_checks(checks: Sequence[Check]) -> None:
    rows = [
        (
            check.name,
            check.value,
            f"{'≤' if check.at_most else '≥'} {_cell(check.limit)} {check.unit}",
            check.verdict,
        )
        for check in checks
    ]
    print_table("Targets", ["target", "measured", "goal", "verdict"], rows)


def write_results(name: str, engine: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = RESULTS_DIR / f"{name}-{engine}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    print(f"\nresults: {path.relative_to(REPO_DIR)}")
    return path

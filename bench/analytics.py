"""Analytics on a year of history: KPIs over a year by day, the supervisor's wall-board, and
incremental aggregation of the event log, each against the naive query on the raw tables.

    .venv/bin/python bench/analytics.py --db sqlite|pg [--interactions N] [--cases N]
                                        [--events 200000] [--keep] [--check queues|full|none]

The data set is a year of a contact centre, 2025-12-01 00:00 until "now", which is pinned to
Monday 2026-11-30 15:00 (Europe/Berlin) so that every build and every run sees the same
"today": customers with segments, 10 teams with 40 queues, 10 case types, 1,000 agents with
their presence, cases opened on a weekday and time-of-day profile (about 5 % still open),
their contacts on five channels in both directions and internal notes, two SLA clocks per
case (some still running), a routed work item for every inbound call and chat, and a few
hundred calls and chats waiting now. Rows go in with bulk SQL (`INSERT … SELECT` over
`generate_series` on PostgreSQL, over a numbers table on SQLite; secondary indexes are
dropped during the load and built afterwards).

The summary tables (quarter-hour, day, queue × channel × day, per agent, channel
transitions), the per-entity digests and the case journeys are computed in SQL from those
raw tables (GROUP BY quarter-hour and dimensions), following `analytics.contributions`
rule by rule, instead of replaying some 30M events through `aggregation.apply_events`.
`--check` then recomputes the figures of a sample of queues (or everything) in Python from
the digests with `contributions.points_of` and compares them row by row with the tables,
so the SQL and the product's own rules must agree; it runs again after the incremental
phase.

Phases (each after waiting for a quiet machine, each with its machine load):
1. The wall-board (`live.wallboard()`), each of its queries alone, and the dashboard's KPI
   reads for today (by queue and by channel, per 15 minutes and per hour). Target p95 ≤ 500 ms.
2. KPIs for the whole year by day (`kpis.report`): unfiltered, by channel, queue and team
   (the narrow queue × channel table), filtered by a case type or a segment and by segment
   (the full day table). Target p95 ≤ 1 s.
3. The same figures by full scans of the raw tables, timed a few times; ratio naive ÷
   summary, and the values of both compared.
4. Incremental aggregation: `--events` events of a realistic mix are written into the event
   log after the chain head, then `aggregation.run_once()` is called until it has caught up.
   Events/s (target ≥ 5,000) and per-batch p50/p95. This phase writes: with `--keep` it
   runs on a copy of the data set, so the kept data set stays as built.

The data set lives in `/tmp/casework-bench/analytics-I-C.sqlite3` or the PostgreSQL database
`casework_bench_analytics` (`…_I_C` for other sizes) with a JSON sidecar; it is reused with
`--keep` while its sizes, version and migrations match, and dropped at the end otherwise.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dataset
import measure
import report

DATASET_VERSION = 1
ZONE = ZoneInfo("Europe/Berlin")
DATA_START = datetime(2025, 12, 1, 0, 0, tzinfo=ZONE)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=ZONE)
NOW_T = int(NOW.timestamp())
YEAR = (date(2025, 12, 1), date(2026, 11, 30))
DEFAULTS = {"pg": (10_000_000, 3_000_000), "sqlite": (1_000_000, 300_000)}
PG_NAME = "casework_bench_analytics"
AGENTS = 1_000
TEAM_COUNT = 10
TEAM_SIZE = AGENTS // TEAM_COUNT
QUEUES_PER_TEAM = 4
WAITING_NOW = 300  # calls and chats waiting at "now"
BATCH = 5_000

TARGET_DASHBOARD_MS = 500.0
TARGET_YEAR_MS = 1_000.0
TARGET_EVENTS_PER_S = 5_000.0

# (code, name, tier, case type code, case type name, service type, share of cases in %)
TEAMS = [
    ("service", "Kundenservice", 1, "general-request", "Allgemeine Anfrage", "advice", 20),
    ("business", "Geschäftskunden", 1, "business-request", "Geschäftskundenanfrage", "advice", 8),
    ("technik", "Technik", 1, "technical-fault", "Technische Störung", "support", 18),
    ("abrechnung", "Abrechnung", 1, "billing-question", "Rechnungsfrage", "support", 15),
    ("beschwerden", "Beschwerden", 2, "complaint", "Beschwerde", "complaint", 7),
    ("retention", "Kundenbindung", 2, "retention", "Kündigung", "support", 8),
    ("vertrieb", "Vertrieb", 1, "sales-order", "Bestellung", "advice", 6),
    ("premium", "Premiumkunden", 2, "premium-request", "Premiumkunden-Anliegen", "support", 3),
    ("digital", "Digitale Kanäle", 1, "portal-help", "Hilfe zum Kundenportal", "support", 10),
    ("stammdaten", "Stammdaten", 3, "address-change", "Adressänderung", "support", 5),
]  # fmt: skip
RETENTION_TEAM = 5
REGIONS = ("nord", "sued", "west", "ost")
CHANNELS = ("email", "phone", "chat", "portal", "letter")  # index = position; 5 = note
CHANNEL_SHARES = (40, 25, 15, 10, 10)
SEGMENTS = (("private", 60), ("business", 20), ("premium", 8), ("young", 7), ("", 5))
RESOLUTION_CODES = ("solved", "answered", "duplicate", "retained", "churned")
# Queues with their own service level goal (the others: 80 % within 20 s).
SLA_TARGETS = {"premium": (10, "0.900"), "business": (30, "0.800")}
PRESENCE_SHARES = (
    ("available", 25), ("busy", 30), ("after_call_work", 10), ("break", 8), ("training", 2),
    ("offline", 25),
)  # fmt: skip
HOLIDAYS = {
    date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 4, 3),
    date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 25),
    date(2026, 6, 4), date(2026, 10, 3), date(2026, 11, 1),
}  # fmt: skip
HALF_DAYS = {date(2025, 12, 24), date(2025, 12, 31)}
WEEKDAY_FACTOR = (1.25, 1.05, 1.05, 1.0, 0.9, 0.3, 0.12)
HOUR_FACTOR = (
    0.02, 0.01, 0.01, 0.01, 0.02, 0.04, 0.15, 0.5, 1.0, 1.4, 1.45, 1.35, 1.0, 1.2, 1.3, 1.25,
    1.0, 0.8, 0.5, 0.4, 0.25, 0.15, 0.08, 0.04,
)  # fmt: skip
MONTH_FACTOR = {12: 0.85, 1: 1.15, 2: 1.05, 7: 0.9, 8: 0.85}

DASHBOARD_KPIS = ("contacts_in", "offered", "answered", "abandoned", "service_level", "asa", "aht")
YEAR_KPIS = ("contacts_in", "fcr_rate", "aht", "service_level")
TEXTS = (
    "Guten Tag, ich habe eine Frage zu meiner letzten Rechnung. Bitte rufen Sie mich zurück.",
    "Vielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen geprüft und melden uns in Kürze.",
    "Rückruf vereinbart, Kunde wünscht schriftliche Bestätigung. Vorgang an Fachbereich.",
    "Ihre Anfrage ist bei uns eingegangen. Ihre Vorgangsnummer finden Sie im Betreff.",
)
SUBJECTS = ("Ihre Nachricht", "Antwort auf Ihre Anfrage", "Notiz", "Eingangsbestätigung")

# Tables loaded in bulk: their secondary indexes are dropped for the load and built after.
BULK_TABLES = (
    "customers_customer", "cases_case", "interactions_interaction", "cases_casesla",
    "routing_workitem", "analytics_queuequarterhour", "analytics_queueday",
    "analytics_queuechannelday", "analytics_agentquarterhour", "analytics_agentday",
    "analytics_channeltransition", "analytics_digest", "analytics_casejourney",
)  # fmt: skip
COUNTED_TABLES = (
    "customers_customer", "cases_case", "interactions_interaction", "cases_casesla",
    "routing_workitem", "routing_agent", "routing_agentstatus", "routing_queue",
    "analytics_queuequarterhour", "analytics_queueday", "analytics_queuechannelday",
    "analytics_agentquarterhour", "analytics_agentday", "analytics_channeltransition",
    "analytics_digest", "analytics_casejourney", "events_event",
)  # fmt: skip
HELPER_TABLES = (
    "bench_map", "bench_slot", "bench_n", "bench_queue", "bench_ct", "bench_rc", "bench_plan",
    "bench_inbound", "bench_facts",
)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Where the data set lives


@dataclass(frozen=True)
class Place:
    engine: str
    interactions: int
    cases: int
    copy: bool = False

    @property
    def name(self) -> str:
        default = DEFAULTS[self.engine] == (self.interactions, self.cases)
        if self.engine == "pg":
            base = PG_NAME if default else f"{PG_NAME}_{self.interactions}_{self.cases}"
            return f"{base}_work" if self.copy else base
        return f"analytics-{self.interactions}-{self.cases}" + ("-work" if self.copy else "")

    @property
    def sqlite_path(self) -> Path:
        return dataset.CACHE_DIR / f"{self.name}.sqlite3"

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{dataset.PG_SERVER_URL}/{self.name}"

    @property
    def meta_path(self) -> Path:
        return dataset.CACHE_DIR / f"{self.engine}-{self.name}.json"

    @property
    def pg_name(self) -> str | None:
        return self.name if self.engine == "pg" else None

    def exists(self) -> bool:
        if self.engine == "sqlite":
            return self.sqlite_path.exists()
        import psycopg

        with psycopg.connect(f"{dataset.PG_SERVER_URL}/postgres") as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name])
            return found.fetchone() is not None

    def drop(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
        else:
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def create(self) -> None:
        self.drop()
        if self.engine == "pg":
            dataset._pg_admin(f'CREATE DATABASE "{self.name}"')

    def size_bytes(self) -> int:
        if self.engine == "sqlite":
            return sum(
                Path(f"{self.sqlite_path}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{self.sqlite_path}{s}").exists()
            )
        import psycopg

        with psycopg.connect(f"{dataset.PG_SERVER_URL}/postgres") as conn:
            return int(
                conn.execute("SELECT pg_database_size(%s)", [self.name]).fetchone()[0]  # type: ignore[index]
            )


def environment(place: Place) -> dict[str, str]:
    env = dict(os.environ)
    env["CASEWORK_DATABASE_URL"] = place.url
    env["DJANGO_SETTINGS_MODULE"] = dataset.SETTINGS_MODULE
    env.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    return env


def migrate(place: Place) -> None:
    command = [str(dataset.VENV_BIN / "casework"), "migrate", "-v", "0"]
    subprocess.run(command, env=environment(place), check=True)


def point_django_at(place: Place) -> None:
    """Set Django up for `place` (first call), or move its connection to `place`."""
    from django.conf import settings

    if not settings.configured:
        dataset.setup_django(place)  # type: ignore[arg-type]  (any object with .url)
        return
    from django.db import connections

    connections.close_all()
    name = str(place.sqlite_path) if place.engine == "sqlite" else place.name
    connections["default"].settings_dict["NAME"] = name


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def clone(base: Place, copy: Place) -> float:
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    copy.drop()
    if base.engine == "sqlite":
        with sqlite3.connect(base.sqlite_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(base.sqlite_path, copy.sqlite_path)
    else:
        dataset._pg_admin(
            f'CREATE DATABASE "{copy.name}" TEMPLATE "{base.name}" STRATEGY FILE_COPY'
        )
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------
# SQL that differs between the two databases


def _mix(value: int) -> int:
    return dataset._mix(value & dataset._MASK64)


def _bench_hash(value: int) -> int:
    return _mix(value) & 0x7FFFFFFF


class Dialect:
    """Expressions for the bulk SQL: PostgreSQL or SQLite. Times are epoch seconds."""

    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"
        self._offset = _offset_case()

    def h(self, x: str) -> str:
        """A well-spread non-negative 31-bit hash of an integer expression."""
        return f"(hashint8(CAST({x} AS bigint)) & 2147483647)" if self.pg else f"bh({x})"

    def epoch(self, column: str) -> str:
        if self.pg:
            return f"CAST(extract(epoch FROM {column}) AS bigint)"
        return f"CAST(strftime('%s', {column}) AS INTEGER)"

    def ts(self, seconds: str) -> str:
        return f"to_timestamp({seconds})" if self.pg else f"datetime({seconds}, 'unixepoch')"

    def day(self, seconds: str) -> str:
        """The Europe/Berlin calendar day of an epoch second (in the data set's range)."""
        local = f"({seconds}) + {self._offset.format(t=seconds)}"
        if self.pg:
            return f"(DATE '1970-01-01' + CAST(({local}) / 86400 AS integer))"
        return f"date({local}, 'unixepoch')"

    def local_day(self, column: str) -> str:
        """The same for a timestamp column, as a reader would write it."""
        if self.pg:
            return f"CAST(({column} AT TIME ZONE 'Europe/Berlin') AS date)"
        return self.day(self.epoch(column))

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def int(self, expr: str) -> str:
        return f"CAST({expr} AS integer)" if self.pg else f"({expr})"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS text)"

    def pad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(CAST({expr} AS text), {width}, '0')"
        return f"printf('%0{width}d', {expr})"

    def bool(self, condition: str) -> str:
        return f"({condition})" if self.pg else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    @property
    def false(self) -> str:
        return "false" if self.pg else "0"

    def jarr(self, *items: str) -> str:
        return (
            f"jsonb_build_array({', '.join(items)})"
            if self.pg
            else f"json_array({', '.join(items)})"
        )

    def jbool(self, condition: str) -> str:
        if self.pg:
            return f"({condition})"
        return f"json(CASE WHEN {condition} THEN 'true' ELSE 'false' END)"

    def jobject_agg(self, key: str, value: str) -> str:
        return (
            f"jsonb_object_agg({key}, {value})"
            if self.pg
            else f"json_group_object({key}, json({value}))"
        )

    def series(self, count: str) -> str:
        """Rows n.i = 0 … count-1 for each row of the preceding FROM item."""
        if self.pg:
            return f"CROSS JOIN LATERAL generate_series(0, ({count}) - 1) AS n(i)"
        return f"JOIN bench_n n ON n.i < ({count})"

    def numbers(self, count: int) -> str:
        """A FROM item g(i) = 1 … count."""
        if self.pg:
            return f"generate_series(1, {count}) AS g(i)"
        return (
            f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count})"
            " SELECT i FROM s) AS g"
        )

    @property
    def join(self) -> str:
        """A join in the written order: SQLite would otherwise loop over a lookup table
        joined on a computed key first, and the big side inside it."""
        return "JOIN" if self.pg else "CROSS JOIN"

    @property
    def unlogged(self) -> str:
        return "UNLOGGED" if self.pg else ""


def _offset_case() -> str:
    """Europe/Berlin's UTC offset of epoch second {t} over the data set's range, as SQL."""
    changes: list[tuple[int, int]] = []
    moment = DATA_START.astimezone(UTC) - timedelta(days=3)
    end = NOW.astimezone(UTC) + timedelta(days=3)
    last = None
    while moment <= end:
        offset = int(moment.astimezone(ZONE).utcoffset().total_seconds())  # type: ignore[union-attr]
        if offset != last:
            changes.append((int(moment.timestamp()), offset))
            last = offset
        moment += timedelta(hours=1)
    branches = " ".join(
        f"WHEN ({{t}}) >= {start} THEN {offset}" for start, offset in reversed(changes[1:])
    )
    return f"(CASE {branches} ELSE {changes[0][1]} END)"


def _case_of(values: Iterable[tuple[int, str]], expr: str, default: str = "''") -> str:
    whens = " ".join(f"WHEN {expr} < {limit} THEN {value}" for limit, value in values)
    return f"(CASE {whens} ELSE {default} END)"


def _channel_name(expr: str) -> str:
    names = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(CHANNELS))
    return f"(CASE {expr} {names} ELSE 'note' END)"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------
# Building the data set


def run_sql(sql: str, params: Any = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params: Any = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None


def _prepare_build_connection(d: Dialect) -> None:
    from django.db import connection

    connection.ensure_connection()
    if d.pg:
        for statement in (
            "SET work_mem = '1GB'",
            "SET maintenance_work_mem = '2GB'",
            "SET max_parallel_maintenance_workers = 2",
            "SET synchronous_commit = off",
            # Foreign keys are not checked while loading: the rows are consistent by
            # construction, and checking 30M references one by one would take longer than
            # the load.
            "SET session_replication_role = replica",
        ):
            run_sql(statement)
    else:
        raw = connection.connection
        raw.create_function("bh", 1, _bench_hash, deterministic=True)
        for pragma in (
            "PRAGMA foreign_keys = OFF",
            "PRAGMA synchronous = OFF",
            "PRAGMA cache_size = -2000000",
            "PRAGMA temp_store = MEMORY",
        ):
            raw.execute(pragma)


class Steps:
    """Named build steps with their seconds, printed as they finish."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        took = time.perf_counter() - began
        self.seconds[name] = round(took, 1)
        print(f"  {name:<58} {took:8.1f} s   (total {time.perf_counter() - self.started:7.1f} s)")
        sys.stdout.flush()


def drop_secondary_indexes(d: Dialect, tables: Iterable[str]) -> list[str]:
    """Drop the indexes (and unique constraints on PostgreSQL) other than primary keys;
    returns the statements that build them again."""
    restore: list[str] = []
    for table in tables:
        if d.pg:
            constraints = _fetch(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            indexes = _fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                " AND tablename = %s AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            for name, definition in constraints:
                run_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for name, definition in indexes:
                run_sql(f'DROP INDEX "{name}"')
                restore.append(definition)
            run_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            restore.append(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
        else:
            indexes = _fetch(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                " AND sql IS NOT NULL",
                [table],
            )
            for name, definition in indexes:
                run_sql(f'DROP INDEX "{name}"')
                restore.append(definition)
    return restore


def _fetch(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass
class Sizes:
    interactions: int
    cases: int
    customers: int
    agents: int = AGENTS


def _slot_rows(cases: int) -> list[tuple[int, int, int]]:
    """Quarter-hours from DATA_START to NOW with the cases opened in each: (start, first id,
    count), weighted by month, weekday, public holidays and time of day."""
    slots: list[tuple[int, float]] = []
    t = int(DATA_START.timestamp())
    while t < NOW_T:
        local = datetime.fromtimestamp(t, ZONE)
        day = local.date()
        weight = HOUR_FACTOR[local.hour] * MONTH_FACTOR.get(local.month, 1.0)
        weight *= 0.12 if day in HOLIDAYS else WEEKDAY_FACTOR[local.weekday()]
        if day in HALF_DAYS and local.hour >= 12:
            weight *= 0.2
        slots.append((t, weight))
        t += 900
    total = sum(weight for _, weight in slots)
    rows, cumulative, assigned = [], 0.0, 0
    for start, weight in slots:
        cumulative += weight
        upto = round(cases * cumulative / total)
        if upto > assigned:
            rows.append((start, assigned + 1, upto - assigned))
            assigned = upto
    return rows


def _length_map(mean: float) -> list[int]:
    """1,000 quantiles of the number of contacts per case: 1 + a geometric count (at most
    12 in all) whose mean makes the case mean `mean`."""
    if mean <= 1:
        return [1] * 1000

    def distribution(q: float) -> list[float]:
        weights = [q**k for k in range(12)]
        total = sum(weights)
        return [w / total for w in weights]

    low, high = 0.0, 0.999
    for _ in range(60):
        q = (low + high) / 2
        probs = distribution(q)
        if sum((k + 1) * p for k, p in enumerate(probs)) < mean:
            low = q
        else:
            high = q
    probs = distribution((low + high) / 2)
    cumulative, out = 0.0, []
    bounds = []
    for p in probs:
        cumulative += p
        bounds.append(cumulative)
    for k in range(1000):
        u = (k + 0.5) / 1000
        out.append(min(bisect.bisect_left(bounds, u), 11) + 1)
    return out


def _quantile_map(pieces: list[tuple[float, float, float, bool]]) -> list[int]:
    """1,000 quantiles of a mixture: (share, low, high, log-uniform?) pieces."""
    out = []
    bounds, cumulative = [], 0.0
    for share, *_ in pieces:
        cumulative += share
        bounds.append(cumulative)
    for k in range(1000):
        u = (k + 0.5) / 1000 * cumulative
        index = min(bisect.bisect_left(bounds, u), len(pieces) - 1)
        share, low, high, log = pieces[index]
        before = bounds[index] - share
        v = (u - before) / share
        value = (
            math.exp(math.log(low) + v * (math.log(high) - math.log(low)))
            if log
            else low + v * (high - low)
        )
        out.append(int(value))
    return out


def _weighted_map(weights: Iterable[int], size: int) -> list[int]:
    """k → index for k in 0 … size-1, index i taking a share proportional to weights[i]."""
    weights = list(weights)
    total = sum(weights)
    bounds, cumulative = [], 0
    for w in weights:
        cumulative += w
        bounds.append(cumulative * size / total)
    return [bisect.bisect_right(bounds, k + 0.5) for k in range(size)]


def build_data(place: Place, sizes: Sizes) -> dict[str, Any]:
    """Everything after `casework migrate`: returns the sidecar's content."""
    from django.db import connection

    d = Dialect(connection.vendor)
    steps = Steps()
    _prepare_build_connection(d)
    with steps.step("reference data (ORM): teams, queues, case types, agents"):
        ref = seed_reference(sizes)
    with steps.step("helper tables (profiles, distributions)"):
        make_helper_tables(d, sizes, ref)
    with steps.step("drop secondary indexes of the bulk tables"):
        restore = drop_secondary_indexes(d, BULK_TABLES)
    with steps.step(f"customers ({sizes.customers:,}) with segments"):
        load_customers(d, sizes)
    with steps.step(f"case plan and cases (~{sizes.cases:,})"):
        load_cases(d, sizes, ref)
    with steps.step(f"interactions (~{sizes.interactions:,})"):
        load_interactions(d)
    with steps.step("case facts from the raw tables (window functions)"):
        make_facts(d)
    with steps.step("SLA clocks (two per case, some running)"):
        load_slas(d)
        if d.pg:
            run_sql("ANALYZE cases_casesla")
    with steps.step("work items (inbound calls and chats; waiting now)"):
        load_work_items(d, sizes)
        if d.pg:
            run_sql("ANALYZE routing_workitem")
    with steps.step("summary: queue quarter-hours (GROUP BY from raw tables)"):
        fill_queue_quarter_hours(d)
    with steps.step("summary: queue days, queue × channel days"):
        fill_queue_days(d)
    with steps.step("summary: agent quarter-hours and days"):
        fill_agent_tables(d)
    with steps.step("summary: channel transitions"):
        fill_transitions(d)
    with steps.step("digests (cases and work items) and case journeys"):
        head = fill_digests_and_journeys(d)
    with steps.step("chain head and the analytics cursor"):
        set_head(head)
    with steps.step("drop the helper tables"):
        for table in HELPER_TABLES:
            run_sql(f"DROP TABLE IF EXISTS {table}")
    with steps.step("build the secondary indexes again"):
        if d.pg:
            run_sql("SET session_replication_role = DEFAULT")
        for statement in restore:
            run_sql(statement)
    if d.pg:
        with steps.step("VACUUM ANALYZE"):
            for table in BULK_TABLES:
                run_sql(f"VACUUM ANALYZE {table}")
            run_sql("ANALYZE")
    else:
        with steps.step("WAL checkpoint"):
            run_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()  # the session settings of the build end here
    return {
        "version": DATASET_VERSION,
        "engine": place.engine,
        "interactions_requested": sizes.interactions,
        "cases_requested": sizes.cases,
        "customers": sizes.customers,
        "agents": sizes.agents,
        "head": head,
        "now": NOW.isoformat(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "steps": steps.seconds,
    }


@dataclass
class Reference:
    agent_ids: list[int]
    queue_codes: list[str]


def seed_reference(sizes: Sizes) -> Reference:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from casework.analytics.models import ServiceLevelTarget
    from casework.cases.models import CaseType, ResolutionCode
    from casework.customers.models import CustomerNumberSequence
    from casework.routing.models import Agent, AgentStatus, Queue, Team

    rng = random.Random(7)
    with transaction.atomic():
        teams = Team.objects.bulk_create(
            [Team(code=code, name_de=name, name_en=code.title(), tier=tier)
             for code, name, tier, *_ in TEAMS]
        )  # fmt: skip
        queues = Queue.objects.bulk_create(
            [
                Queue(
                    code=f"{team.code}-{region}",
                    name_de=f"{team.name_de} {region.title()}",
                    name_en=f"{team.name_en} {region.title()}",
                    team=team,
                )
                for team in teams
                for region in REGIONS
            ]
        )
        CaseType.objects.bulk_create(
            [
                CaseType(code=ct, name_de=ct_name, name_en=ct, service_type=service_type,
                         default_queue=queues[index * QUEUES_PER_TEAM])
                for index, (_, _, _, ct, ct_name, service_type, _) in enumerate(TEAMS)
            ]
        )  # fmt: skip
        ResolutionCode.objects.bulk_create(
            [ResolutionCode(code=code, name_de=code, name_en=code) for code in RESOLUTION_CODES]
        )
        for queue in queues:
            team_code = queue.code.rsplit("-", 1)[0]
            if team_code in SLA_TARGETS:
                seconds, share = SLA_TARGETS[team_code]
                ServiceLevelTarget.objects.create(
                    queue=queue, answer_within_seconds=seconds, target_share=share
                )
        CustomerNumberSequence.objects.update_or_create(
            prefix="K", defaults={"last_number": sizes.customers}
        )
        users = get_user_model().objects.bulk_create(
            [
                get_user_model()(
                    username=f"agent{k:04d}",
                    first_name=dataset.FEMALE_NAMES[k % len(dataset.FEMALE_NAMES)]
                    if k % 2
                    else dataset.MALE_NAMES[k % len(dataset.MALE_NAMES)],
                    last_name=dataset.LAST_NAMES[k % len(dataset.LAST_NAMES)],
                    password="!",
                )
                for k in range(sizes.agents)
            ]
        )
        agents = Agent.objects.bulk_create(
            [
                Agent(user=user, role="supervisor" if k % TEAM_SIZE == 0 else "agent")
                for k, user in enumerate(users)
            ]
        )
        Agent.teams.through.objects.bulk_create(
            [
                Agent.teams.through(agent_id=agent.pk, team_id=teams[k // TEAM_SIZE].pk)
                for k, agent in enumerate(agents)
            ]
        )
        presence = [code for code, share in PRESENCE_SHARES for _ in range(share)]
        statuses = []
        for agent in agents:
            state = rng.choice(presence)
            busy = state == "busy"
            statuses.append(
                AgentStatus(
                    agent=agent,
                    presence_id=state,
                    presence_since_at=NOW - timedelta(seconds=rng.randrange(30, 4 * 3600)),
                    is_routable=state == "available",
                    capacity_units=100,
                    used_units=100
                    if busy
                    else (rng.choice((0, 0, 33, 66)) if state == "available" else 0),
                    idle_since_at=NOW - timedelta(seconds=rng.randrange(5, 600))
                    if state == "available"
                    else None,
                )
            )
        AgentStatus.objects.bulk_create(statuses)
    ids = [agent.pk for agent in agents]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise SystemExit("agents did not get consecutive ids: the build assumes them")
    return Reference(agent_ids=ids, queue_codes=[q.code for q in queues])


def make_helper_tables(d: Dialect, sizes: Sizes, ref: Reference) -> None:
    from django.db import connection

    from casework.cases.models import CaseType, ResolutionCode
    from casework.routing.models import Queue

    u = d.unlogged
    run_sql(
        f"CREATE {u} TABLE bench_map (kind VARCHAR(10), k INTEGER, v BIGINT, PRIMARY KEY (kind, k))"
    )
    run_sql(f"CREATE {u} TABLE bench_slot (t0 BIGINT, a BIGINT, cnt INTEGER)")
    run_sql(f"CREATE {u} TABLE bench_n (i INTEGER PRIMARY KEY)")
    run_sql(
        f"CREATE {u} TABLE bench_queue (idx INTEGER PRIMARY KEY, id BIGINT, code VARCHAR(50),"
        " abase BIGINT)"
    )
    run_sql(
        f"CREATE {u} TABLE bench_ct (idx INTEGER PRIMARY KEY, id BIGINT, code VARCHAR(50),"
        " st VARCHAR(20), tier INTEGER, subject VARCHAR(100))"
    )
    run_sql(f"CREATE {u} TABLE bench_rc (idx INTEGER PRIMARY KEY, id BIGINT, code VARCHAR(50))")
    maps: list[tuple[str, int, int]] = []
    maps += [("ct", k, v) for k, v in enumerate(_weighted_map((t[6] for t in TEAMS), 1000))]
    maps += [("ch", k, v) for k, v in enumerate(_weighted_map(CHANNEL_SHARES, 100))]
    maps += [("seg", k, v) for k, v in enumerate(_weighted_map((s for _, s in SEGMENTS), 100))]
    maps += [("len", k, v) for k, v in enumerate(_length_map(sizes.interactions / sizes.cases))]
    # Time to resolution: a third the same day, half within days, the rest up to 3 weeks.
    duration = _quantile_map(
        [
            (0.3, 600, 4 * 3600, True),
            (0.5, 4 * 3600, 4 * 86400, True),
            (0.2, 4 * 86400, 21 * 86400, True),
        ]
    )
    maps += [("dur", k, v) for k, v in enumerate(duration)]
    # Waiting time of a call or chat until an agent answers (or the customer hangs up).
    wait = _quantile_map(
        [(0.35, 1, 10, False), (0.30, 10, 20, False), (0.15, 20, 45, False),
         (0.10, 45, 90, False), (0.07, 90, 240, False), (0.03, 240, 600, False)]
    )  # fmt: skip
    maps += [("wait", k, v) for k, v in enumerate(wait)]
    slots = _slot_rows(sizes.cases)
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO bench_map (kind, k, v) VALUES (%s, %s, %s)", maps)
        cursor.executemany("INSERT INTO bench_slot (t0, a, cnt) VALUES (%s, %s, %s)", slots)
        widest = max(4096, max(cnt for *_, cnt in slots) + 1)
        cursor.executemany("INSERT INTO bench_n (i) VALUES (%s)", [(i,) for i in range(widest)])
        queues = {q.code: q.pk for q in Queue.objects.all()}
        cursor.executemany(
            "INSERT INTO bench_queue (idx, id, code, abase) VALUES (%s, %s, %s, %s)",
            [
                (idx, queues[code], code, ref.agent_ids[0] + (idx // QUEUES_PER_TEAM) * TEAM_SIZE)
                for idx, code in enumerate(ref.queue_codes)
            ],
        )
        case_types = {c.code: c for c in CaseType.objects.all()}
        cursor.executemany(
            "INSERT INTO bench_ct (idx, id, code, st, tier, subject)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(idx, case_types[t[3]].pk, t[3], t[5], t[2], t[4]) for idx, t in enumerate(TEAMS)],
        )
        codes = {c.code: c.pk for c in ResolutionCode.objects.all()}
        cursor.executemany(
            "INSERT INTO bench_rc (idx, id, code) VALUES (%s, %s, %s)",
            [(idx, codes[code], code) for idx, code in enumerate(RESOLUTION_CODES)],
        )
    if d.pg:
        run_sql("ANALYZE bench_map; ANALYZE bench_slot; ANALYZE bench_n")


def load_customers(d: Dialect, sizes: Sizes) -> None:
    h = d.h
    first = _case_of(
        (
            (i + 1, _quote(name))
            for i, name in enumerate(dataset.FEMALE_NAMES[:20] + dataset.MALE_NAMES[:20])
        ),
        f"{h('g.i * 8 + 1')} % 40",
    )
    last = _case_of(
        ((i + 1, _quote(name)) for i, name in enumerate(dataset.LAST_NAMES[:60])),
        f"{h('g.i * 8 + 2')} % 60",
    )
    cumulative, limits = 0, []
    for value, share in SEGMENTS:
        cumulative += share
        limits.append((cumulative, _quote(value)))
    segment = _case_of(limits, f"{h('g.i * 8 + 3')} % 100")
    created = f"{int(DATA_START.timestamp())} - {h('g.i * 8 + 4')} % (8 * 365 * 86400)"
    run_sql(
        f"""
        INSERT INTO customers_customer (id, created_at, updated_at, kind, customer_number,
            salutation, first_name, last_name, organisation_name, birth_date, street,
            postal_code, city, country, language, preferred_channel, search_name,
            merged_into_id, is_provisional, segment)
        SELECT x.i, {d.ts("x.created")}, {d.ts("x.created")}, 'person', 'K' || {d.pad("x.i", 8)},
            '', x.first, x.last, '', NULL, 'Hauptstraße ' || (1 + x.i % 140), '10115', 'Berlin',
            'DE', 'de', '', lower(x.first || ' ' || x.last), NULL, {d.false}, x.segment
        FROM (SELECT g.i, {first} AS first, {last} AS last, {segment} AS segment,
                     {created} AS created
              FROM {d.numbers(sizes.customers)}) x
        """
    )
    if d.pg:
        run_sql(
            "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'),"
            " (SELECT max(id) FROM customers_customer))"
        )


def load_cases(d: Dialect, sizes: Sizes, ref: Reference) -> None:
    h = d.h
    u = d.unlogged
    run_sql(
        f"""CREATE {u} TABLE bench_plan (case_id BIGINT PRIMARY KEY, t_open BIGINT, ct INTEGER,
            qidx INTEGER, cust BIGINT, ch0 INTEGER, auto INTEGER, k INTEGER, span BIGINT,
            resolved_t BIGINT, status VARCHAR(20), prio INTEGER, owner BIGINT, abase BIGINT,
            rc INTEGER)"""
    )
    c = "(s.a + n.i)"

    def hc(salt: int) -> str:
        return h(f"{c} * 16 + {salt}")

    resolved = f"(y.stuck = 0 AND y.t_open + y.dur <= {NOW_T})"
    closed_after = 14 * 86400
    run_sql(
        f"""
        INSERT INTO bench_plan (case_id, t_open, ct, qidx, cust, ch0, auto, k, span, resolved_t,
                                status, prio, owner, abase, rc)
        SELECT y.case_id, y.t_open, y.ct, y.qidx, y.cust, y.ch0, y.auto, y.k,
            CASE WHEN {resolved} THEN y.dur ELSE {NOW_T} - y.t_open END,
            CASE WHEN {resolved} THEN y.t_open + y.dur END,
            CASE WHEN {resolved} THEN
                (CASE WHEN {NOW_T} - y.t_open - y.dur > {closed_after} THEN 'closed'
                      ELSE 'resolved' END)
                ELSE (CASE WHEN y.h_status < 30 THEN 'pending' WHEN y.h_status < 45 THEN 'new'
                           ELSE 'open' END) END,
            CASE WHEN y.h_prio < 2 THEN 4 WHEN y.h_prio < 12 THEN 3 WHEN y.h_prio < 92 THEN 2
                 ELSE 1 END,
            CASE WHEN y.auto = 1 THEN NULL ELSE q.abase + y.h_owner % {TEAM_SIZE} END,
            q.abase,
            CASE WHEN NOT {resolved} THEN NULL
                 WHEN y.ct = {RETENTION_TEAM} THEN (CASE WHEN y.h_res < 55 THEN 3 ELSE 4 END)
                 WHEN y.h_res < 70 THEN 0 WHEN y.h_res < 95 THEN 1 ELSE 2 END
        FROM (
            SELECT x.case_id, x.t_open, ctm.v AS ct,
                ctm.v * {QUEUES_PER_TEAM} + x.h_q % {QUEUES_PER_TEAM} AS qidx,
                CASE WHEN x.h_null % 50 = 0 THEN NULL
                     ELSE 1 + x.h_cust % {sizes.customers} END AS cust,
                chm.v AS ch0,
                CASE WHEN x.h_auto < 8 THEN 1 ELSE 0 END AS auto,
                CASE WHEN x.h_auto >= 8 AND x.h_stuck < 5 THEN 1 ELSE 0 END AS stuck,
                CASE WHEN x.h_auto < 8 THEN 60 + x.h_autodur % 3600 ELSE dm.v END AS dur,
                km.v AS k, x.h_owner, x.h_status, x.h_prio, x.h_res
            FROM (
                SELECT {c} AS case_id, s.t0 + {hc(1)} % 900 AS t_open, {hc(2)} % 1000 AS h_ct,
                    {hc(3)} AS h_q, {hc(4)} AS h_cust, {hc(5)} AS h_null, {hc(6)} % 100 AS h_ch,
                    {hc(7)} % 1000 AS h_dur, {hc(8)} % 1000 AS h_len, {hc(9)} % 100 AS h_auto,
                    {hc(10)} % 100 AS h_stuck, {hc(11)} AS h_owner, {hc(12)} % 100 AS h_status,
                    {hc(13)} % 100 AS h_prio, {hc(14)} % 100 AS h_res, {hc(15)} AS h_autodur
                FROM bench_slot s {d.series("s.cnt")}
            ) x
            {d.join} bench_map ctm ON ctm.kind = 'ct' AND ctm.k = x.h_ct
            {d.join} bench_map chm ON chm.kind = 'ch' AND chm.k = x.h_ch
            {d.join} bench_map dm ON dm.kind = 'dur' AND dm.k = x.h_dur
            {d.join} bench_map km ON km.kind = 'len' AND km.k = x.h_len
        ) y
        {d.join} bench_queue q ON q.idx = y.qidx
        """
    )
    run_sql(
        f"""
        INSERT INTO cases_case (id, created_at, updated_at, reference, service_type, status,
            priority, tier, subject, data, resolution_note, resolved_at, last_activity_at,
            customer_id, owner_id, queue_id, case_type_id, resolution_code_id, contract_id,
            process_key, process_revision, process_status, process_version, stage, step,
            parent_step, parent_id, merged_into_id)
        SELECT p.case_id, {d.ts("p.t_open")}, {d.ts("p.t_open + p.span")},
            'CW-' || {d.pad("p.case_id", 8)}, ct.st, p.status, p.prio, ct.tier, ct.subject,
            '{{}}', '', {d.ts("p.resolved_t")}, {d.ts("p.t_open + p.span")}, p.cust, p.owner,
            q.id, ct.id, rc.id, NULL, '', 0, '', NULL, '', '', '', NULL, NULL
        FROM bench_plan p
        {d.join} bench_queue q ON q.idx = p.qidx
        {d.join} bench_ct ct ON ct.idx = p.ct
        LEFT JOIN bench_rc rc ON rc.idx = p.rc
        """
    )
    if d.pg:
        run_sql(
            "SELECT setval(pg_get_serial_sequence('cases_case', 'id'),"
            " (SELECT max(id) FROM cases_case))"
        )
        # Fresh tables have no statistics: the next statements' plans need them.
        run_sql("ANALYZE bench_plan; ANALYZE cases_case")


def load_interactions(d: Dialect) -> None:
    """Contact 0 opens the case (inbound, its first channel); the others are spread over
    the case's life until it was resolved (or until now): replies by agents, follow-ups from
    the customer, internal notes, automatic acknowledgements."""
    h = d.h
    x = "(1000000000000 + (p.case_id * 16 + n.i) * 8)"

    def hx(salt: int) -> str:
        return h(f"{x} + {salt}")

    role = (
        f"CASE WHEN n.i = 0 THEN 0"
        f" WHEN p.auto = 1 THEN (CASE WHEN {hx(2)} % 100 < 50 THEN 0 ELSE 3 END)"
        f" ELSE (CASE WHEN {hx(2)} % 100 < 30 THEN 0 WHEN {hx(2)} % 100 < 78 THEN 1"
        f" WHEN {hx(2)} % 100 < 90 THEN 2 ELSE 3 END) END"
    )
    texts = " ".join(f"WHEN {i} THEN {_quote(text)}" for i, text in enumerate(TEXTS))
    subjects = " ".join(f"WHEN {i} THEN {_quote(text)}" for i, text in enumerate(SUBJECTS))
    run_sql(
        f"""
        INSERT INTO interactions_interaction (channel, direction, occurred_at, recorded_at,
            sender, subject, text, payload, external_id, agent_id, case_id, customer_id)
        SELECT {_channel_name("z.ch")},
            CASE z.role WHEN 0 THEN 'inbound' WHEN 2 THEN 'internal' ELSE 'outbound' END,
            {d.ts("z.t")}, {d.ts("z.t")}, '', CASE z.role {subjects} END,
            CASE z.role {texts} END, '{{}}', NULL, z.agent, z.case_id, z.cust
        FROM (
            SELECT y.case_id, y.cust, y.t, y.role,
                CASE WHEN y.role = 0 THEN
                        (CASE WHEN y.j = 0 OR y.hc < 70 THEN y.ch0
                              ELSE (y.ch0 + 1 + y.hc2 % 4) % 5 END)
                     WHEN y.role = 2 THEN 5
                     ELSE (CASE WHEN y.hc < 60 THEN y.ch0 ELSE 0 END) END AS ch,
                CASE WHEN y.role IN (1, 2) THEN
                    (CASE WHEN y.owner IS NOT NULL AND y.ha < 75 THEN y.owner
                          ELSE y.abase + y.ha2 % {TEAM_SIZE} END) END AS agent
            FROM (
                SELECT p.case_id, p.cust, p.ch0, p.owner, p.abase, n.i AS j,
                    CASE WHEN n.i = 0 THEN p.t_open
                         ELSE p.t_open + (p.span * n.i) / p.k
                              + {hx(1)} % {d.greatest("1", "p.span / (2 * p.k)")} END AS t,
                    {role} AS role,
                    {hx(3)} % 100 AS hc, {hx(4)} AS hc2, {hx(5)} % 100 AS ha, {hx(6)} AS ha2
                FROM bench_plan p {d.series("p.k")}
            ) y
        ) z
        """
    )
    if d.pg:
        run_sql("ANALYZE interactions_interaction")


def make_facts(d: Dialect) -> None:
    """Per case, what the figures need, from cases_case and interactions_interaction."""
    u = d.unlogged
    run_sql(
        f"""CREATE {u} TABLE bench_inbound (case_id BIGINT, pos INTEGER, id BIGINT, t BIGINT,
            channel VARCHAR(20), prev VARCHAR(20), PRIMARY KEY (case_id, pos))"""
    )
    run_sql(
        f"""
        INSERT INTO bench_inbound (case_id, pos, id, t, channel, prev)
        SELECT x.case_id, ROW_NUMBER() OVER w, x.id, x.t, x.channel, LAG(x.channel) OVER w
        FROM (SELECT i.case_id, i.id, {d.epoch("i.occurred_at")} AS t, i.channel
              FROM interactions_interaction i
              WHERE i.direction = 'inbound' AND i.case_id IS NOT NULL) x
        WINDOW w AS (PARTITION BY x.case_id ORDER BY x.t, x.id)
        """
    )
    run_sql(
        f"""CREATE {u} TABLE bench_facts (case_id BIGINT PRIMARY KEY, t_open BIGINT,
            q VARCHAR(50), ct VARCHAR(50), st VARCHAR(20), seg VARCHAR(40), cust BIGINT,
            owner BIGINT, resolved_t BIGINT, res_code VARCHAR(50), first_ch VARCHAR(20),
            first_in_t BIGINT, n_in INTEGER, switches INTEGER, reply_t BIGINT,
            n_in_before INTEGER, came_back INTEGER, agent_acts INTEGER)"""
    )
    week = 7 * 86400
    run_sql(
        f"""
        INSERT INTO bench_facts (case_id, t_open, q, ct, st, seg, cust, owner, resolved_t,
            res_code, first_ch, first_in_t, n_in, switches, reply_t, n_in_before, came_back,
            agent_acts)
        SELECT c.id, {d.epoch("c.created_at")}, q.code, ct.code, c.service_type,
            COALESCE(cu.segment, ''), c.customer_id, c.owner_id, {d.epoch("c.resolved_at")},
            rc.code, COALESCE(b1.channel, ''), b1.t, COALESCE(a.n_in, 0), COALESCE(a.switches, 0),
            z.reply_t, COALESCE(z.n_in_before, 0), COALESCE(z.came_back, 0),
            COALESCE(z.agent_acts, 0)
        FROM cases_case c
        JOIN routing_queue q ON q.id = c.queue_id
        JOIN cases_casetype ct ON ct.id = c.case_type_id
        LEFT JOIN customers_customer cu ON cu.id = c.customer_id
        LEFT JOIN cases_resolutioncode rc ON rc.id = c.resolution_code_id
        LEFT JOIN bench_inbound b1 ON b1.case_id = c.id AND b1.pos = 1
        LEFT JOIN (SELECT case_id, COUNT(*) AS n_in,
                          SUM(CASE WHEN prev IS NOT NULL AND prev <> channel THEN 1 ELSE 0 END)
                              AS switches
                   FROM bench_inbound GROUP BY case_id) a ON a.case_id = c.id
        LEFT JOIN (
            SELECT v.case_id,
                MIN(CASE WHEN v.direction = 'outbound' AND v.agent_id IS NOT NULL
                              AND v.t >= v.first_t
                         THEN v.t END) AS reply_t,
                SUM(CASE WHEN v.direction = 'inbound' AND v.t <= v.res_t THEN 1 ELSE 0 END)
                    AS n_in_before,
                SUM(CASE WHEN v.direction = 'inbound' AND v.t > v.res_t AND v.t <= v.res_t + {week}
                         THEN 1 ELSE 0 END) AS came_back,
                SUM(CASE WHEN v.agent_id IS NOT NULL AND v.t <= v.res_t THEN 1 ELSE 0 END)
                    AS agent_acts
            FROM (SELECT i.case_id, i.direction, i.agent_id, {d.epoch("i.occurred_at")} AS t,
                         b.t AS first_t, {d.epoch("c2.resolved_at")} AS res_t
                  FROM interactions_interaction i
                  JOIN cases_case c2 ON c2.id = i.case_id
                  LEFT JOIN bench_inbound b ON b.case_id = i.case_id AND b.pos = 1) v
            GROUP BY v.case_id
        ) z ON z.case_id = c.id
        """
    )
    if d.pg:
        run_sql("ANALYZE bench_inbound; ANALYZE bench_facts")


def load_slas(d: Dialect) -> None:
    """First response within 8 h (met by the first reply, or the resolution), resolution
    within 3 days; a late one is breached at its deadline (and met later too). Clocks of
    open cases still running; the resolution clock of a pending case is paused."""
    run_sql(
        f"""
        INSERT INTO cases_casesla (kind, target_business_seconds, started_at, due_at,
            warning_at, paused_at, met_at, breached_at, warned_at, revision, case_id)
        SELECT y.kind, y.target, {d.ts("y.t_open")}, {d.ts("y.due")},
            {d.ts("y.due - y.target / 5")},
            CASE WHEN y.kind = 'resolution' AND y.status = 'pending' AND y.met IS NULL
                      AND y.breached IS NULL THEN {d.ts(str(NOW_T - 3600))} END,
            {d.ts("y.met")}, {d.ts("y.breached")}, NULL, 0, y.case_id
        FROM (
            SELECT x.*, CASE WHEN (x.met IS NULL AND x.due <= {NOW_T}) OR x.met > x.due
                             THEN x.due END AS breached
            FROM (
                SELECT f.case_id, 'first_response' AS kind, 14400 AS target, f.t_open,
                       f.t_open + 28800 AS due, COALESCE(f.reply_t, f.resolved_t) AS met, p.status
                FROM bench_facts f JOIN bench_plan p ON p.case_id = f.case_id WHERE p.auto = 0
                UNION ALL
                SELECT f.case_id, 'resolution', 108000, f.t_open, f.t_open + 259200,
                       f.resolved_t, p.status
                FROM bench_facts f JOIN bench_plan p ON p.case_id = f.case_id WHERE p.auto = 0
            ) x
        ) y
        """
    )


def load_work_items(d: Dialect, sizes: Sizes) -> None:
    """A routed work item for every inbound call and chat: queued when the contact came,
    answered after a wait (or abandoned, more often after a long one), handled for a few
    minutes. Plus the calls and chats waiting now."""
    h = d.h

    def hw(salt: int) -> str:
        return h(f"2000000000000 + i.id * 4 + {salt}")

    answered_at = "v.tq + v.wait"
    ended_at = "v.tq + v.wait + v.handle"
    run_sql(
        f"""
        INSERT INTO routing_workitem (channel, external_id, language, priority, units,
            requirements, required_key, status, offer_expires_at, queued_at, accepted_at,
            ended_at, agent_id, case_id, customer_id, preferred_agent_id, queue_id, rule_id)
        SELECT w.channel, '', 'de', 2, CASE WHEN w.channel = 'phone' THEN 100 ELSE 33 END,
            '{{}}', '', w.status, NULL, {d.ts("w.tq")}, {d.ts("w.ta")}, {d.ts("w.te")}, w.agent,
            w.case_id, w.cust, NULL, w.queue_id, NULL
        FROM (
            SELECT v.channel, v.tq, v.case_id, v.cust, v.queue_id,
                CASE WHEN {answered_at} > {NOW_T} THEN 'queued'
                     WHEN v.ab = 1 THEN 'withdrawn'
                     WHEN {ended_at} > {NOW_T} THEN 'accepted' ELSE 'completed' END AS status,
                CASE WHEN v.ab = 0 AND {answered_at} <= {NOW_T} THEN {answered_at} END AS ta,
                CASE WHEN v.ab = 1 AND {answered_at} <= {NOW_T} THEN {answered_at}
                     WHEN v.ab = 0 AND {ended_at} <= {NOW_T} THEN {ended_at} END AS te,
                CASE WHEN v.ab = 0 AND {answered_at} <= {NOW_T} THEN
                    (CASE WHEN v.owner IS NOT NULL AND v.hag % 100 < 60 THEN v.owner
                          ELSE v.abase + (v.hag / 100) % {TEAM_SIZE} END) END AS agent
            FROM (
                SELECT i.channel, {d.epoch("i.occurred_at")} AS tq, i.case_id,
                    i.customer_id AS cust,
                    q.id AS queue_id, p.owner, p.abase, wm.v AS wait,
                    CASE WHEN (wm.v > 60 AND {hw(1)} % 100 < 40) OR {hw(1)} % 100 < 3
                         THEN 1 ELSE 0 END AS ab,
                    CASE WHEN i.channel = 'phone' THEN 120 + {hw(2)} % 780
                         ELSE 180 + {hw(2)} % 1200 END AS handle,
                    {hw(3)} AS hag
                FROM interactions_interaction i
                {d.join} bench_plan p ON p.case_id = i.case_id
                {d.join} bench_queue q ON q.idx = p.qidx
                {d.join} bench_map wm ON wm.kind = 'wait' AND wm.k = {hw(0)} % 1000
                WHERE i.direction = 'inbound' AND i.channel IN ('phone', 'chat')
            ) v
        ) w
        """
    )
    run_sql(
        f"""
        INSERT INTO routing_workitem (channel, external_id, language, priority, units,
            requirements, required_key, status, offer_expires_at, queued_at, accepted_at,
            ended_at, agent_id, case_id, customer_id, preferred_agent_id, queue_id, rule_id)
        SELECT x.channel, '', 'de', 2, CASE WHEN x.channel = 'phone' THEN 100 ELSE 33 END,
            '{{}}', '', 'queued', NULL, {d.ts("x.tq")}, NULL, NULL, NULL, NULL, x.cust, NULL,
            q.id, NULL
        FROM (SELECT CASE WHEN {h("3000000000000 + n.i * 4")} % 100 < 70 THEN 'phone'
                          ELSE 'chat' END AS channel,
                     {NOW_T} - {h("3000000000000 + n.i * 4 + 1")} % 900 AS tq,
                     1 + {h("3000000000000 + n.i * 4 + 2")} % {sizes.customers} AS cust,
                     {h("3000000000000 + n.i * 4 + 3")} % {TEAM_COUNT * QUEUES_PER_TEAM} AS qidx
              FROM bench_n n WHERE n.i < {WAITING_NOW}) x
        {d.join} bench_queue q ON q.idx = x.qidx
        """
    )


# -- the summary tables, from the raw tables ------------------------------------------------


def _measures() -> tuple[str, ...]:
    from casework.analytics.models import MEASURES

    return tuple(MEASURES)


def _thresholds(name: str) -> tuple[int, ...]:
    from casework.analytics import models

    return tuple(getattr(models, name, ()))


# Measures the generated history never produces: it has no transfers and no reopenings,
# and no after-call work (the raw tables do not record it; the event stream has it).
NOT_IN_HISTORY = {"transfers", "cases_reopened", "after_work_seconds"}


@dataclass
class Source:
    """One kind of point: FROM clause, the moment (epoch seconds), the dimensions, the
    measures it adds (SQL expressions)."""

    from_sql: str
    t: str
    dims: tuple[str, ...]
    measures: dict[str, str]


def _wait_measures(wait: str) -> dict[str, str]:
    out = {"answered": "1", "answer_wait_seconds": wait}
    for seconds in _thresholds("SERVICE_LEVEL_THRESHOLDS"):
        out[f"answered_within_{seconds}"] = f"CASE WHEN {wait} <= {seconds} THEN 1 ELSE 0 END"
    return out


def _handle_measures(handled: str) -> dict[str, str]:
    out = {"handled": "1", "handle_seconds": handled}
    for seconds in _thresholds("HANDLING_TIME_BOUNDS"):
        out[f"handled_within_{seconds}"] = f"CASE WHEN {handled} <= {seconds} THEN 1 ELSE 0 END"
    return out


def _resolution_measures(with_retention: bool) -> dict[str, str]:
    from casework.analytics import contributions

    out = {
        "cases_resolved": "1",
        "cases_fcr": "CASE WHEN f.n_in_before = 1 AND f.came_back = 0 THEN 1 ELSE 0 END",
        "cases_automated": "CASE WHEN f.owner IS NULL AND f.agent_acts = 0 THEN 1 ELSE 0 END",
    }
    if with_retention:
        outcomes = contributions.DEFAULT_RETENTION_OUTCOMES
        for outcome in ("saved", "lost"):
            codes = ", ".join(_quote(code) for code in outcomes[outcome])
            out[f"retention_{outcome}"] = f"CASE WHEN f.res_code IN ({codes}) THEN 1 ELSE 0 END"
    return out


def _work_items_from(d: Dialect) -> str:
    return (
        "(SELECT w.id, w.channel, w.status, w.agent_id, q.code AS qc,"
        f" {d.epoch('w.queued_at')} AS tq,"
        f" {d.epoch('w.accepted_at')} AS ta, {d.epoch('w.ended_at')} AS te"
        " FROM routing_workitem w JOIN routing_queue q ON q.id = w.queue_id) w"
    )


def queue_sources(d: Dialect) -> list[Source]:
    case_dims = ("f.first_ch", "f.q", "f.ct", "f.st", "f.seg")
    contacts = (
        f"(SELECT i.channel, i.direction, {d.epoch('i.occurred_at')} AS t, i.case_id"
        " FROM interactions_interaction i WHERE i.direction IN ('inbound', 'outbound')) i"
        " JOIN bench_facts f ON f.case_id = i.case_id"
    )
    sla = (
        f"(SELECT s.case_id, s.kind, {d.epoch('s.met_at')} AS met,"
        f" {d.epoch('s.breached_at')} AS breached"
        " FROM cases_casesla s) s JOIN bench_facts f ON f.case_id = s.case_id"
    )
    item_dims = ("w.channel", "w.qc", "''", "''", "''")
    items = _work_items_from(d)
    return [
        Source(
            contacts,
            "i.t",
            ("i.channel", "f.q", "f.ct", "f.st", "f.seg"),
            {
                "contacts_in": "CASE WHEN i.direction = 'inbound' THEN 1 ELSE 0 END",
                "contacts_out": "CASE WHEN i.direction = 'outbound' THEN 1 ELSE 0 END",
            },
        ),
        Source(
            "bench_facts f",
            "f.t_open",
            case_dims,
            {
                "cases_opened": "1",
                "cases_with_contact": "CASE WHEN f.n_in > 0 THEN 1 ELSE 0 END",
                "cases_repeat": "CASE WHEN f.n_in > 1 THEN 1 ELSE 0 END",
                "channel_switches": "f.switches",
            },
        ),
        Source(
            "bench_facts f WHERE f.reply_t IS NOT NULL",
            "f.reply_t",
            case_dims,
            {"first_responses": "1", "first_response_seconds": "f.reply_t - f.first_in_t"},
        ),
        Source(
            f"{sla} WHERE s.breached IS NOT NULL",
            "s.breached",
            case_dims,
            {
                f"sla_{kind}_breached": f"CASE WHEN s.kind = '{kind}' THEN 1 ELSE 0 END"
                for kind in ("first_response", "resolution")
            },
        ),
        Source(
            f"{sla} WHERE s.met IS NOT NULL AND s.breached IS NULL",
            "s.met",
            case_dims,
            {
                f"sla_{kind}_met": f"CASE WHEN s.kind = '{kind}' THEN 1 ELSE 0 END"
                for kind in ("first_response", "resolution")
            },
        ),
        Source(
            "bench_facts f WHERE f.resolved_t IS NOT NULL",
            "f.resolved_t",
            case_dims,
            _resolution_measures(with_retention=True),
        ),
        Source(items, "w.tq", item_dims, {"offered": "1"}),
        Source(f"{items} WHERE w.ta IS NOT NULL", "w.ta", item_dims, _wait_measures("w.ta - w.tq")),
        Source(
            f"{items} WHERE w.status = 'withdrawn' AND w.ta IS NULL AND w.te IS NOT NULL",
            "w.te",
            item_dims,
            {"abandoned": "1", "abandon_wait_seconds": "w.te - w.tq"},
        ),
        Source(
            f"{items} WHERE w.status = 'completed'",
            "w.te",
            item_dims,
            _handle_measures("w.te - w.ta"),
        ),
    ]


def agent_sources(d: Dialect) -> list[Source]:
    items = _work_items_from(d)
    return [
        Source(
            f"(SELECT i.channel, i.agent_id, {d.epoch('i.occurred_at')} AS t, i.case_id"
            " FROM interactions_interaction i"
            " WHERE i.direction = 'outbound' AND i.agent_id IS NOT NULL) i"
            " JOIN bench_facts f ON f.case_id = i.case_id",
            "i.t",
            ("i.agent_id", "i.channel", "f.q"),
            {"contacts_out": "1"},
        ),
        Source(
            "bench_facts f WHERE f.resolved_t IS NOT NULL AND f.owner IS NOT NULL",
            "f.resolved_t",
            ("f.owner", "f.first_ch", "f.q"),
            _resolution_measures(with_retention=False),
        ),
        Source(
            f"{items} WHERE w.ta IS NOT NULL AND w.agent_id IS NOT NULL",
            "w.ta",
            ("w.agent_id", "w.channel", "w.qc"),
            _wait_measures("w.ta - w.tq"),
        ),
        Source(
            f"{items} WHERE w.status = 'completed' AND w.agent_id IS NOT NULL",
            "w.te",
            ("w.agent_id", "w.channel", "w.qc"),
            _handle_measures("w.te - w.ta"),
        ),
    ]


def _check_measures(sources: list[Source]) -> None:
    known = set(_measures())
    produced = {name for source in sources for name in source.measures}
    unknown = produced - known
    if unknown:
        raise SystemExit(f"bench/analytics.py produces measures the tables lack: {sorted(unknown)}")
    missing = known - produced - NOT_IN_HISTORY
    if missing:
        raise SystemExit(
            f"the summary tables have measures bench/analytics.py does not generate: "
            f"{sorted(missing)}; teach it how the history produces them"
        )


def _fill_bucketed(d: Dialect, table: str, dims: tuple[str, ...], sources: list[Source]) -> None:
    measures = _measures()
    selects = []
    for source in sources:
        columns = [f"{source.t} AS t"]
        columns += [f"{expr} AS {name}" for name, expr in zip(dims, source.dims, strict=True)]
        columns += [f"{d.int(source.measures.get(m, '0'))} AS {m}" for m in measures]
        selects.append(f"SELECT {', '.join(columns)} FROM {source.from_sql}")
    union = "\nUNION ALL\n".join(selects)
    dim_list = ", ".join(dims)
    sums = ", ".join(f"SUM({m})" for m in measures)
    run_sql(
        f"""
        INSERT INTO {table} (bucket_start, {dim_list}, {", ".join(measures)})
        SELECT {d.ts("v.b")}, {", ".join(f"v.{name}" for name in dims)}, {sums}
        FROM (SELECT u.t - u.t % 900 AS b, u.* FROM ({union}) u) v
        GROUP BY v.b, {", ".join(f"v.{name}" for name in dims)}
        """
    )


def fill_queue_quarter_hours(d: Dialect) -> None:
    sources = queue_sources(d)
    _check_measures(sources)
    dims = ("channel", "queue", "case_type", "service_type", "segment")
    _fill_bucketed(d, "analytics_queuequarterhour", dims, sources)


def fill_queue_days(d: Dialect) -> None:
    measures = _measures()
    sums = ", ".join(f"SUM({m})" for m in measures)
    day = d.day(d.epoch("bucket_start"))
    run_sql(
        f"""
        INSERT INTO analytics_queueday (day, channel, queue, case_type, service_type, segment,
                                        {", ".join(measures)})
        SELECT {day}, channel, queue, case_type, service_type, segment, {sums}
        FROM analytics_queuequarterhour GROUP BY 1, 2, 3, 4, 5, 6
        """
    )
    run_sql(
        f"""
        INSERT INTO analytics_queuechannelday (day, channel, queue, {", ".join(measures)})
        SELECT day, channel, queue, {sums} FROM analytics_queueday GROUP BY 1, 2, 3
        """
    )


def fill_agent_tables(d: Dialect) -> None:
    measures = _measures()
    _fill_bucketed(
        d, "analytics_agentquarterhour", ("agent_id", "channel", "queue"), agent_sources(d)
    )
    sums = ", ".join(f"SUM({m})" for m in measures)
    run_sql(
        f"""
        INSERT INTO analytics_agentday (day, agent_id, channel, queue, {", ".join(measures)})
        SELECT {d.day(d.epoch("bucket_start"))}, agent_id, channel, queue, {sums}
        FROM analytics_agentquarterhour GROUP BY 1, 2, 3, 4
        """
    )


def fill_transitions(d: Dialect) -> None:
    from casework.analytics.contributions import MAX_JOURNEY_POSITION

    run_sql(
        f"""
        INSERT INTO analytics_channeltransition (day, position, from_channel, to_channel,
                                                 case_type, segment, cases)
        SELECT {d.day("f.t_open - f.t_open % 900")}, b.pos, COALESCE(b.prev, 'start'), b.channel,
               f.ct, f.seg, COUNT(*)
        FROM bench_inbound b JOIN bench_facts f ON f.case_id = b.case_id
        WHERE b.pos <= {MAX_JOURNEY_POSITION}
        GROUP BY 1, 2, 3, 4, 5, 6
        """
    )


def fill_digests_and_journeys(d: Dialect) -> int:
    """The digests: each entity's entries keyed by a sequence number. The history has no
    event rows, so the numbers are synthetic (distinct, below the chain head, in the order
    the events would have had): interactions by id, then openings, resolutions, SLA
    outcomes, work item events. Returns the chain head they imply."""
    i_max = scalar("SELECT COALESCE(MAX(id), 0) FROM interactions_interaction")
    c_max = scalar("SELECT COALESCE(MAX(id), 0) FROM cases_case")
    s_max = scalar("SELECT COALESCE(MAX(id), 0) FROM cases_casesla")
    w_max = scalar("SELECT COALESCE(MAX(id), 0) FROM routing_workitem")
    base_open, base_resolved = i_max, i_max + c_max
    base_sla = i_max + 2 * c_max
    base_item = base_sla + 2 * s_max + 2
    head = base_item + 3 * w_max + 3
    case_entries = f"""
        SELECT f.case_id AS id, {d.text(f"{base_open} + f.case_id")} AS k,
               {d.jarr("'o'", "f.t_open", "f.ct", "f.st", "f.q", d.jbool("1 = 0"), "f.cust",
                       "f.seg")} AS v
        FROM bench_facts f
        UNION ALL
        SELECT i.case_id, {d.text("i.id")},
               {d.jarr("'i'", d.epoch("i.occurred_at"), "i.channel", "i.direction",
                       "CASE WHEN i.direction = 'inbound' THEN 'customer' WHEN i.agent_id IS NULL"
                       " THEN 'system' ELSE 'agent' END", "i.agent_id")}
        FROM interactions_interaction i WHERE i.case_id IS NOT NULL
        UNION ALL
        SELECT s.case_id, {d.text(f"{base_sla} + 2 * s.id")},
               {d.jarr("'sb'", d.epoch("s.breached_at"), "s.kind")}
        FROM cases_casesla s WHERE s.breached_at IS NOT NULL
        UNION ALL
        SELECT s.case_id, {d.text(f"{base_sla} + 2 * s.id + 1")},
               {d.jarr("'sm'", d.epoch("s.met_at"), "s.kind", d.jbool("s.breached_at IS NULL"))}
        FROM cases_casesla s WHERE s.met_at IS NOT NULL
        UNION ALL
        SELECT f.case_id, {d.text(f"{base_resolved} + f.case_id")},
               {d.jarr("'r'", "f.resolved_t", "f.res_code",
                       "CASE WHEN f.owner IS NULL THEN 'system' ELSE 'agent' END", "f.owner")}
        FROM bench_facts f WHERE f.resolved_t IS NOT NULL
    """  # fmt: skip
    run_sql(
        f"""
        INSERT INTO analytics_digest (kind, entity_id, events)
        SELECT 'case', e.id, {d.jobject_agg("e.k", "e.v")} FROM ({case_entries}) e GROUP BY e.id
        """
    )
    items = _work_items_from(d)
    item_entries = f"""
        SELECT w.id, {d.text(f"{base_item} + 3 * w.id")} AS k,
               {d.jarr("'q'", "w.tq", "w.channel", "w.qc")} AS v
        FROM {items}
        UNION ALL
        SELECT w.id, {d.text(f"{base_item} + 3 * w.id + 1")},
               {d.jarr("'ac'", "w.ta", "w.agent_id", "w.ta - w.tq")}
        FROM {items} WHERE w.ta IS NOT NULL
        UNION ALL
        SELECT w.id, {d.text(f"{base_item} + 3 * w.id + 2")},
               {d.jarr("'c'", "w.te", "w.agent_id", "w.te - w.ta")}
        FROM {items} WHERE w.status = 'completed'
        UNION ALL
        SELECT w.id, {d.text(f"{base_item} + 3 * w.id + 2")},
               {d.jarr("'w'", "w.te", "w.te - w.tq")}
        FROM {items} WHERE w.status = 'withdrawn' AND w.te IS NOT NULL
    """
    run_sql(
        f"""
        INSERT INTO analytics_digest (kind, entity_id, events)
        SELECT 'work_item', e.id, {d.jobject_agg("e.k", "e.v")}
        FROM ({item_entries}) e GROUP BY e.id
        """
    )
    if d.pg:
        path = (
            "(SELECT case_id, string_agg(channel, '>' ORDER BY pos) AS path"
            " FROM bench_inbound GROUP BY case_id)"
        )
    else:
        path = (
            "(SELECT case_id, group_concat(channel, '>') AS path"
            " FROM (SELECT case_id, channel FROM bench_inbound ORDER BY case_id, pos)"
            " GROUP BY case_id)"
        )
    run_sql(
        f"""
        INSERT INTO analytics_casejourney (case_id, customer_id, opened_at, case_type, segment,
            path, contacts_in, channel_switches, is_resolved)
        SELECT f.case_id, f.cust, {d.ts("f.t_open")}, f.ct, f.seg,
               COALESCE(substr(pa.path, 1, 400), ''), f.n_in, f.switches,
               {d.bool("f.resolved_t IS NOT NULL")}
        FROM bench_facts f LEFT JOIN {path} pa ON pa.case_id = f.case_id
        """
    )
    return int(head)


def set_head(head: int) -> None:
    from casework.analytics.aggregation import CURSOR_NAME
    from casework.events.models import ChainHead, OutboxCursor

    updated = ChainHead.objects.filter(pk=1).update(last_seq=head)
    if not updated:
        ChainHead.objects.create(pk=1, last_seq=head, last_hash="0" * 64)
    OutboxCursor.objects.update_or_create(name=CURSOR_NAME, defaults={"last_seq": head})


def count_rows() -> dict[str, int]:
    return {table: int(scalar(f"SELECT COUNT(*) FROM {table}")) for table in COUNTED_TABLES}


def data_facts() -> dict[str, Any]:
    """Shares that show the data set is what it claims to be."""
    from django.db import connection

    d = Dialect(connection.vendor)
    open_cases = scalar(
        "SELECT COUNT(*) FROM cases_case WHERE status IN ('new', 'open', 'pending')"
    )
    cases = scalar("SELECT COUNT(*) FROM cases_case")
    running = scalar(
        "SELECT COUNT(*) FROM cases_casesla WHERE met_at IS NULL AND breached_at IS NULL"
        " AND paused_at IS NULL"
    )
    due_soon = scalar(
        "SELECT COUNT(*) FROM cases_casesla WHERE met_at IS NULL AND breached_at IS NULL"
        " AND paused_at IS NULL AND due_at <= %s",
        [_db_datetime(NOW + timedelta(hours=1))],
    )
    waiting = scalar("SELECT COUNT(*) FROM routing_workitem WHERE status = 'queued'")
    by_channel = _fetch(
        "SELECT channel, direction, COUNT(*) FROM interactions_interaction"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    busiest = _fetch(
        f"SELECT {d.local_day('created_at')} AS d, COUNT(*) FROM cases_case GROUP BY 1"
        " ORDER BY 2 DESC LIMIT 1"
    )
    return {
        "open_cases": open_cases,
        "open_share": round(open_cases / cases, 4) if cases else None,
        "running_sla_clocks": running,
        "sla_due_within_1h": due_soon,
        "waiting_work_items": waiting,
        "interactions_by_channel_direction": [list(row) for row in by_channel],
        "busiest_day": [str(busiest[0][0]), busiest[0][1]] if busiest else None,
    }


def _db_datetime(moment: datetime) -> Any:
    from django.db import connection

    return (
        connection.ops.adapt_datetimefield_value(moment)
        if connection.vendor == "sqlite"
        else moment
    )


# ---------------------------------------------------------------------------------------
# Checking the figures against the product's own rules


def check_figures(
    queue_codes: list[str] | None,
    extra_cases: Iterable[int] = (),
    extra_items: Iterable[int] = (),
) -> dict[str, Any]:
    """Recompute the summary rows (of `queue_codes`, or all) from the digests with
    `contributions.points_of` and compare them with the tables; also the case journeys."""
    from casework.analytics import aggregation, contributions
    from casework.analytics.models import CaseJourney, ChannelTransition, Digest
    from casework.cases.models import Case
    from casework.routing.models import Queue, WorkItem

    started = time.perf_counter()
    retention = aggregation.retention_outcomes()
    deltas = aggregation.Deltas()
    journeys: dict[int, Any] = {}

    def digests() -> Iterator[tuple[str, int, dict[str, Any]]]:
        rows = Digest.objects.values_list("kind", "entity_id", "events")
        if queue_codes is None:
            yield from rows.iterator(chunk_size=5000)
            return
        queue_ids = list(Queue.objects.filter(code__in=queue_codes).values_list("pk", flat=True))
        cases = set(Case.objects.filter(queue_id__in=queue_ids).values_list("pk", flat=True))
        items = set(WorkItem.objects.filter(queue_id__in=queue_ids).values_list("pk", flat=True))
        for kind, ids in (
            ("case", cases | set(extra_cases)),
            ("work_item", items | set(extra_items)),
        ):
            ordered = sorted(ids)
            for start in range(0, len(ordered), 2000):
                yield from rows.filter(kind=kind, entity_id__in=ordered[start : start + 2000])

    entities = 0
    for kind, entity_id, events in digests():
        entities += 1
        deltas.add(contributions.points_of(kind, events, retention))
        if kind == "case":
            journeys[entity_id] = aggregation.journey_row(entity_id, events)
    expected = deltas.by_table()
    tables: dict[str, dict[str, Any]] = {}
    for model in aggregation.SUMMARY_TABLES:
        if queue_codes is not None and model is ChannelTransition:
            continue
        keys = aggregation._KEYS[model]
        rows = model.objects.all()
        wanted = expected.get(model, {})
        if queue_codes is not None:
            position = keys.index("queue")
            rows = rows.filter(queue__in=queue_codes)
            wanted = {k: v for k, v in wanted.items() if k[position] in queue_codes}
        stored = _contents(model, rows)
        differing = [k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k)]
        tables[model._meta.db_table] = {
            "rows": len(stored),
            "expected_rows": len(wanted),
            "differences": len(differing),
            "examples": [
                {
                    "key": str(k),
                    "stored": dict(stored.get(k, {})),
                    "expected": dict(wanted.get(k, {})),
                }
                for k in sorted(differing, key=str)[:3]
            ],
        }
    journey_differences, compared = 0, 0
    fields = ("customer_id", "opened_at", "case_type", "segment", "path", "contacts_in",
              "channel_switches", "is_resolved")  # fmt: skip
    ids = sorted(journeys)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for row in CaseJourney.objects.filter(case_id__in=chunk):
            compared += 1
            expected_row = journeys[row.case_id]
            if any(getattr(row, f) != expected_row[f] for f in fields):
                journey_differences += 1
    journey_differences += len(ids) - compared
    differences = sum(t["differences"] for t in tables.values()) + journey_differences
    return {
        "scope": "all queues" if queue_codes is None else ", ".join(queue_codes),
        "entities": entities,
        "tables": tables,
        "journeys_compared": compared,
        "journey_differences": journey_differences,
        "differences": differences,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _contents(model: Any, rows: Any) -> dict[tuple[Any, ...], Counter[str]]:
    from casework.analytics import aggregation

    keys, measures = aggregation._KEYS[model], aggregation.measures_of(model)
    out = {}
    for row in rows.values_list(*keys, *measures).iterator(chunk_size=5000):
        key, values = row[: len(keys)], row[len(keys) :]
        counter = Counter({m: v for m, v in zip(measures, values, strict=True) if v})
        if counter:
            if keys[0] == "bucket_start":
                key = (int(key[0].timestamp()), *key[1:])
            out[key] = counter
    return out


def print_check(title: str, result: dict[str, Any]) -> None:
    rows = [
        (table, figures["rows"], figures["expected_rows"], figures["differences"])
        for table, figures in result["tables"].items()
    ]
    rows.append(
        ("analytics_casejourney", result["journeys_compared"], "", result["journey_differences"])
    )
    report.print_table(
        f"{title}: {result['scope']}, {result['entities']:,} digests, {result['seconds']} s",
        ["table", "rows stored", "rows expected", "differences"],
        rows,
    )
    for table, figures in result["tables"].items():
        for example in figures["examples"]:
            print(
                f"  {table} {example['key']}: stored {example['stored']}"
                f" expected {example['expected']}"
            )
    print(f"  → {'consistent' if result['differences'] == 0 else 'DIFFERENCES FOUND'}")


# ---------------------------------------------------------------------------------------
# Timing


def time_calls(
    fn: Callable[[], Any], repeat: int, *, warmups: int = 3, budget_s: float = 120.0
) -> tuple[measure.Latency, Any]:
    result = None
    for _ in range(warmups):
        result = fn()
    times = []
    deadline = time.perf_counter() + budget_s
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
        if time.perf_counter() > deadline and len(times) >= 5:
            break
    return measure.Latency.of(times), result


def slowest_statement_plan(fn: Callable[[], Any], table: str = "") -> tuple[str, str]:
    """Run fn once, take its slowest SQL statement (reading `table`, if given) and return
    it with its plan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    statements = [q for q in captured.captured_queries if table in q["sql"]]
    if not statements:
        return "", ""
    slowest = max(statements, key=lambda q: float(q["time"]))
    return slowest["sql"], explain(slowest["sql"])


def explain(sql: str) -> str:
    from django.db import connection

    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    rows = _fetch(prefix + sql)
    if connection.vendor == "postgresql":
        return "\n".join(row[0] for row in rows)
    return "\n".join(f"{'  ' * (row[1] > 0)}{row[-1]}" for row in rows)


def print_plan(title: str, sql: str, plan: str, lines: int = 14) -> None:
    print(f"\n  plan — {title}")
    print(f"    SQL: {sql[:300]}{'…' if len(sql) > 300 else ''}")
    for line in plan.splitlines()[:lines]:
        print(f"    {line}")


def dashboard_queries(now: datetime) -> dict[str, Any]:
    """The wall-board's statements one by one, as `live.wallboard()` builds them."""
    from django.db.models import Count, Min, Q, Sum

    from casework.analytics.kpis import DEFAULT_TARGET_SECONDS
    from casework.analytics.live import SLA_HORIZON
    from casework.analytics.models import QueueQuarterHour, ServiceLevelTarget
    from casework.cases.models import OPEN_STATUSES, Case, CaseSla
    from casework.routing.models import AgentStatus, PresenceState, Queue, WorkItem, WorkItemStatus

    queues = Queue.objects.select_related("team").order_by("team__tier", "code")
    ids = {q.pk: q.code for q in queues}
    targets = ServiceLevelTarget.objects.values_list(
        "queue__code", "answer_within_seconds", "target_share"
    )
    midnight = datetime.combine(now.astimezone(ZONE).date(), dtime(), ZONE)
    columns = {f"answered_within_{s}" for _, s, _ in targets}
    columns.add(f"answered_within_{DEFAULT_TARGET_SECONDS}")
    # The statements `live.wallboard` sends (kept in step with it): the running clocks due
    # within the hour by their deadline index, then their cases by key.
    due = CaseSla.objects.filter(
        met_at__isnull=True,
        breached_at__isnull=True,
        paused_at__isnull=True,
        due_at__lte=now + SLA_HORIZON,
    ).order_by("due_at")
    return {
        "queues with teams": queues,
        "waiting work items per queue": WorkItem.objects.filter(
            status=WorkItemStatus.QUEUED, queue_id__in=ids
        )
        .values("queue_id")
        .annotate(waiting=Count("id"), since=Min("queued_at")),
        "open cases per queue (count, oldest)": Case.objects.filter(
            status__in=OPEN_STATUSES, queue_id__in=ids
        )
        .values("queue_id")
        .annotate(open_cases=Count("*"), oldest=Min("created_at")),
        "service level targets": targets,
        "service level today (quarter-hours)": QueueQuarterHour.objects.filter(
            bucket_start__gte=midnight, queue__in=list(ids.values())
        )
        .filter(Q(answered__gt=0) | Q(abandoned__gt=0))
        .values("queue")
        .annotate(
            answered_sum=Sum("answered"),
            abandoned_sum=Sum("abandoned"),
            **{c: Sum(c) for c in columns},
        ),
        "SLA clocks due within 1 h": due,
        "their cases by key": Case.objects.filter(
            pk__in=list(due.values_list("case_id", flat=True))
        ),
        "agents per presence state": AgentStatus.objects.values_list("presence_id").annotate(
            n=Count("pk")
        ),
        "presence states": PresenceState.objects.order_by("order", "code"),
    }


def dashboard_phase(args: argparse.Namespace, place: Place) -> dict[str, Any]:
    from casework.analytics import kpis, live

    today = NOW.date()
    measure.wait_for_quiet(args.quiet_wait)
    results: dict[str, Any] = {"rows": [], "plans": []}
    with measure.MachineLoad(place.pg_name) as load:
        counter = measure.QueryCounter()
        with counter.installed():
            board = live.wallboard(now=NOW)
        latency, board = time_calls(lambda: live.wallboard(now=NOW), args.repeat)
        results["rows"].append(("live.wallboard() — all 40 queues", latency, counter.total))
        results["board"] = {
            "waiting": board.waiting,
            "open_cases": sum(q.open_cases for q in board.queues),
            "sla_due_soon": sum(q.sla_due_soon for q in board.queues),
            "agents_logged_in": board.agents_logged_in,
            "service_level_today": board.service_level_today,
            "per_queue": {
                q.code: (q.answered_today, q.abandoned_today, q.in_target_today, q.open_cases)
                for q in board.queues
            },
        }
        for name, queryset in dashboard_queries(NOW).items():
            latency, _ = time_calls(lambda qs=queryset: list(qs.all()), args.repeat)
            results["rows"].append((f"  {name}", latency, 1))
        for interval in ("15min", "hour"):
            for group in ("queue", "channel"):
                query = kpis.KpiQuery(today, today, DASHBOARD_KPIS, interval, group)
                latency, rows = time_calls(lambda q=query: kpis.report(q), args.repeat)
                results["rows"].append((f"kpis.report today by {group}, {interval}", latency, None))
                results.setdefault("today_rows", {})[f"{group}/{interval}"] = len(rows)
    results["load"] = load
    for name, queryset in dashboard_queries(NOW).items():
        if name in ("open cases per queue (count, oldest)", "SLA clocks due within 1 h",
                    "their cases by key", "service level today (quarter-hours)",
                    "waiting work items per queue"):  # fmt: skip
            sql, plan = slowest_statement_plan(lambda qs=queryset: list(qs.all()))
            results["plans"].append((name, sql, plan))
    return results


def year_queries() -> list[tuple[str, Any]]:
    from casework.analytics.kpis import KpiQuery

    start, end = YEAR
    return [
        ("unfiltered (queue × channel day table)", KpiQuery(start, end, YEAR_KPIS, "day")),
        ("by channel", KpiQuery(start, end, YEAR_KPIS, "day", "channel")),
        ("by queue (40)", KpiQuery(start, end, YEAR_KPIS, "day", "queue")),
        ("by team (10)", KpiQuery(start, end, YEAR_KPIS, "day", "team")),
        ("case type = billing-question (full day table)",
         KpiQuery(start, end, YEAR_KPIS, "day", filters={"case_type": "billing-question"})),
        ("segment = business (full day table)",
         KpiQuery(start, end, YEAR_KPIS, "day", filters={"segment": "business"})),
        ("by segment (full day table)", KpiQuery(start, end, YEAR_KPIS, "day", "segment")),
    ]  # fmt: skip


def year_phase(args: argparse.Namespace, place: Place) -> dict[str, Any]:
    from casework.analytics import kpis

    measure.wait_for_quiet(args.quiet_wait)
    results: dict[str, Any] = {"rows": [], "plans": []}
    with measure.MachineLoad(place.pg_name) as load:
        for name, query in year_queries():
            latency, rows = time_calls(lambda q=query: kpis.report(q), args.repeat)
            table = kpis._table(query, fine=False)._meta.db_table
            results["rows"].append((name, latency, len(rows), table))
    results["load"] = load
    for name, query in year_queries()[:1] + year_queries()[4:5]:
        table = kpis._table(query, fine=False)._meta.db_table
        sql, plan = slowest_statement_plan(lambda q=query: kpis.report(q), f'FROM "{table}"')
        results["plans"].append((name, sql, plan))
    return results


# -- the naive figures --------------------------------------------------------------------------


def _seconds_between(d: Dialect, later: str, earlier: str) -> str:
    if d.pg:
        return f"CAST(extract(epoch FROM {later} - {earlier}) AS bigint)"
    return f"({d.epoch(later)} - {d.epoch(earlier)})"


def naive_queries(d: Dialect) -> list[dict[str, Any]]:
    """Each figure again, by scanning the raw tables; with the summary read it compares
    with (its name in the timing tables) and how to turn both answers into comparable
    values."""
    from casework.analytics import kpis

    start = datetime.combine(YEAR[0], dtime(), ZONE)
    end = datetime.combine(YEAR[1] + timedelta(days=1), dtime(), ZONE)
    midnight = datetime.combine(NOW.date(), dtime(), ZONE)
    tomorrow = midnight + timedelta(days=1)
    p = _db_datetime
    week = "c.resolved_at + interval '7 days'" if d.pg else "datetime(c.resolved_at, '+7 days')"
    day_rows = lambda rows, *names: {str(r[0]): tuple(r[1:]) for r in rows}  # noqa: E731

    def summary_days(kpi: str, *measures: str) -> Callable[[], dict[str, tuple[int, ...]]]:
        def read() -> dict[str, tuple[int, ...]]:
            rows = kpis.report(kpis.KpiQuery(YEAR[0], YEAR[1], (kpi,), "day"))
            return {
                str(r.period): tuple(r.sums.get(m, 0) for m in measures)
                for r in rows
                if any(r.sums.get(m, 0) for m in measures)
            }

        return read

    def board_levels() -> dict[str, tuple[int, ...]]:
        from casework.analytics import live

        board = live.wallboard(now=NOW)
        return {
            q.code: (q.in_target_today, q.answered_today, q.abandoned_today)
            for q in board.queues
            if q.answered_today or q.abandoned_today
        }

    def board_open() -> dict[str, tuple[int, ...]]:
        from casework.analytics import live

        board = live.wallboard(now=NOW)
        return {
            q.code: (q.open_cases, _db_datetime(q.oldest_open_case_at))
            for q in board.queues
            if q.open_cases
        }

    def today_contacts() -> dict[str, tuple[int, ...]]:
        rows = kpis.report(
            kpis.KpiQuery(NOW.date(), NOW.date(), ("contacts_in",), "15min", "queue")
        )
        totals: Counter[str] = Counter()
        for r in rows:
            totals[r.group] += r.sums.get("contacts_in", 0)
        return {k: (v,) for k, v in totals.items() if v}

    in_target = (
        f"CASE WHEN {_seconds_between(d, 'w.accepted_at', 'w.queued_at')}"
        " <= COALESCE(t.answer_within_seconds, 20) THEN 1 ELSE 0 END"
    )
    return [
        {
            "name": "contacts in per day, a year",
            "summary": "unfiltered (queue × channel day table)",
            "sql": f"""SELECT {d.local_day("occurred_at")} AS d, COUNT(*)
                       FROM interactions_interaction
                       WHERE direction = 'inbound' AND occurred_at >= %s AND occurred_at < %s
                       GROUP BY 1 ORDER BY 1""",
            "params": [p(start), p(end)],
            "naive_values": day_rows,
            "summary_values": summary_days("contacts_in", "contacts_in"),
        },
        {
            "name": "first-contact resolution per day, a year (cases × contacts)",
            "summary": "unfiltered (queue × channel day table)",
            "sql": f"""SELECT {d.local_day("x.resolved_at")} AS d,
                              SUM(CASE WHEN x.n_before = 1 AND x.n_after = 0 THEN 1 ELSE 0 END),
                              COUNT(*)
                       FROM (SELECT c.id, c.resolved_at,
                                    SUM(CASE WHEN i.occurred_at <= c.resolved_at
                                             THEN 1 ELSE 0 END) AS n_before,
                                    SUM(CASE WHEN i.occurred_at > c.resolved_at
                                                  AND i.occurred_at <= {week}
                                             THEN 1 ELSE 0 END) AS n_after
                             FROM cases_case c
                             LEFT JOIN interactions_interaction i
                                    ON i.case_id = c.id AND i.direction = 'inbound'
                             WHERE c.resolved_at >= %s AND c.resolved_at < %s
                             GROUP BY c.id, c.resolved_at) x
                       GROUP BY 1 ORDER BY 1""",
            "params": [p(start), p(end)],
            "naive_values": day_rows,
            "summary_values": summary_days("fcr_rate", "cases_fcr", "cases_resolved"),
        },
        {
            "name": "average handling time per day, a year (work items)",
            "summary": "unfiltered (queue × channel day table)",
            "sql": f"""SELECT {d.local_day("ended_at")} AS d,
                              SUM({_seconds_between(d, "ended_at", "accepted_at")}), COUNT(*)
                       FROM routing_workitem
                       WHERE status = 'completed' AND ended_at >= %s AND ended_at < %s
                       GROUP BY 1 ORDER BY 1""",
            "params": [p(start), p(end)],
            "naive_values": day_rows,
            "summary_values": summary_days("aht", "handle_seconds", "handled"),
        },
        {
            "name": "service level per day, a year (work items, per-queue goals)",
            "summary": "unfiltered (queue × channel day table)",
            "sql": f"""SELECT x.d, SUM(x.in_target), SUM(x.answered), SUM(x.abandoned)
                       FROM (SELECT {d.local_day("w.accepted_at")} AS d, {in_target} AS in_target,
                                    1 AS answered, 0 AS abandoned
                             FROM routing_workitem w
                             LEFT JOIN analytics_serviceleveltarget t ON t.queue_id = w.queue_id
                             WHERE w.accepted_at >= %s AND w.accepted_at < %s
                             UNION ALL
                             SELECT {d.local_day("w.ended_at")}, 0, 0, 1
                             FROM routing_workitem w
                             WHERE w.status = 'withdrawn' AND w.accepted_at IS NULL
                               AND w.ended_at >= %s AND w.ended_at < %s) x
                       GROUP BY x.d ORDER BY x.d""",
            "params": [p(start), p(end), p(start), p(end)],
            "naive_values": day_rows,
            "summary_values": summary_days(
                "service_level", kpis.IN_TARGET, "answered", "abandoned"
            ),
        },
        {
            "name": "wall-board: service level today per queue (work items)",
            "summary": "  service level today (quarter-hours)",
            "sql": f"""SELECT q.code, SUM(x.in_target), SUM(x.answered), SUM(x.abandoned)
                       FROM (SELECT w.queue_id, {in_target} AS in_target, 1 AS answered,
                                    0 AS abandoned
                             FROM routing_workitem w
                             LEFT JOIN analytics_serviceleveltarget t ON t.queue_id = w.queue_id
                             WHERE w.accepted_at >= %s
                             UNION ALL
                             SELECT w.queue_id, 0, 0, 1 FROM routing_workitem w
                             WHERE w.status = 'withdrawn' AND w.accepted_at IS NULL
                               AND w.ended_at >= %s) x
                       JOIN routing_queue q ON q.id = x.queue_id
                       GROUP BY q.code ORDER BY q.code""",
            "params": [p(midnight), p(midnight)],
            "naive_values": day_rows,
            "summary_values": board_levels,
        },
        {
            "name": "wall-board: open cases per queue, without the queue filter",
            "summary": "  open cases per queue (count, oldest)",
            "sql": """SELECT q.code, COUNT(*), MIN(c.created_at)
                      FROM cases_case c JOIN routing_queue q ON q.id = c.queue_id
                      WHERE c.status IN ('new', 'open', 'pending')
                      GROUP BY q.code ORDER BY q.code""",
            "params": [],
            "naive_values": day_rows,
            "summary_values": board_open,
        },
        {
            "name": "dashboard: contacts today per queue and 15 min (interactions)",
            "summary": "kpis.report today by queue, 15min",
            "sql": f"""SELECT q.code, COUNT(*)
                       FROM interactions_interaction i
                       JOIN cases_case c ON c.id = i.case_id
                       JOIN routing_queue q ON q.id = c.queue_id
                       WHERE i.direction = 'inbound' AND i.occurred_at >= %s AND i.occurred_at < %s
                       GROUP BY q.code, {d.epoch("i.occurred_at")} / 900 ORDER BY 1""",
            "params": [p(midnight), p(tomorrow)],
            "naive_values": lambda rows, *_: _sum_by_key(rows),
            "summary_values": today_contacts,
        },
    ]


def _sum_by_key(rows: list[tuple[Any, ...]]) -> dict[str, tuple[int, ...]]:
    totals: Counter[str] = Counter()
    for key, value in rows:
        totals[str(key)] += value
    return {k: (v,) for k, v in totals.items()}


def naive_phase(args: argparse.Namespace, place: Place) -> dict[str, Any]:
    from django.db import connection

    d = Dialect(connection.vendor)
    measure.wait_for_quiet(args.quiet_wait)
    results = []
    with measure.MachineLoad(place.pg_name) as load:
        for query in naive_queries(d):
            times, rows = [], []
            # SQLite's strftime('%s', …) next to %s placeholders: Django would take it for one.
            sql = query["sql"] if d.pg else query["sql"].replace("'%s'", "'%%s'")
            for _ in range(args.naive_repeat):
                began = time.perf_counter()
                rows = _fetch(sql, query["params"])
                times.append(time.perf_counter() - began)
                if times[-1] > 60:
                    break
            naive = query["naive_values"](rows)
            summary = query["summary_values"]()
            naive = {k: v for k, v in naive.items() if any(v)}
            differing = [k for k in naive.keys() | summary.keys() if naive.get(k) != summary.get(k)]
            results.append(
                {
                    "name": query["name"],
                    "summary": query["summary"],
                    "latency": measure.Latency.of(times),
                    "keys": len(naive),
                    "differences": len(differing),
                    "example": [(k, naive.get(k), summary.get(k)) for k in sorted(differing)[:2]],
                }
            )
    return {"rows": results, "load": load}


# ---------------------------------------------------------------------------------------
# Incremental aggregation: an event stream after the chain head


@dataclass
class Stream:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    touched_cases: set[int] = field(default_factory=set)
    new_items: set[int] = field(default_factory=set)
    codes: Counter[str] = field(default_factory=Counter)
    first_t: float = 0.0
    last_t: float = 0.0


def generate_stream(count: int, *, start: float, per_second: float, seed: int) -> Stream:
    """`count` events of a day's mix, over the time the installation takes to make them:
    new cases with their contacts, contacts on open cases (also the year's still open
    ones), resolutions and reopenings, SLA outcomes, transfers, assignments, notes, routed
    calls and chats from queued to completed or abandoned, and events the figures ignore."""
    from casework.cases.models import OPEN_STATUSES, Case
    from casework.routing.models import Queue

    rng = random.Random(seed)
    teams = {code: index for index, (code, *_) in enumerate(TEAMS)}
    queue_team = {q.code: teams[q.code.rsplit("-", 1)[0]] for q in Queue.objects.all()}
    queues = sorted(queue_team)
    first_agent = int(scalar("SELECT MIN(id) FROM routing_agent"))
    customers = int(scalar("SELECT MAX(id) FROM customers_customer"))
    next_case = int(scalar("SELECT MAX(id) FROM cases_case")) + 1_000_000
    next_interaction = int(scalar("SELECT MAX(id) FROM interactions_interaction")) + 1_000_000
    next_item = int(scalar("SELECT MAX(id) FROM routing_workitem")) + 1_000_000
    next_task = 1
    # Open cases: (queue, case type, service type, owner, customer).
    state: dict[int, list[Any]] = {}
    for case_id, queue, case_type, service_type, owner, customer in Case.objects.filter(
        status__in=OPEN_STATUSES
    ).values_list(
        "pk", "queue__code", "case_type__code", "service_type", "owner_id", "customer_id"
    ):
        state[case_id] = [queue, case_type, service_type, owner, customer]
    pool = list(state)
    ct_weights = [t[6] for t in TEAMS]
    stream = Stream()
    t = start

    def team_agent(team: int) -> int:
        return first_agent + team * TEAM_SIZE + rng.randrange(TEAM_SIZE)

    def emit(at: float, code: str, kind: str, actor: int | None, obj: str, obj_id: int,
             payload: dict[str, Any]) -> None:  # fmt: skip
        label = {"agent": f"Agent {actor}", "customer": "Kunde", "system": "System"}[kind]
        stream.rows.append((at, code, kind, actor, label, obj, obj_id, payload))
        stream.codes[code] += 1

    def contact(at: float, case_id: int | None, channel: str, direction: str, kind: str,
                actor: int | None, customer: int | None) -> None:  # fmt: skip
        nonlocal next_interaction
        next_interaction += 1
        moment = datetime.fromtimestamp(at, UTC).isoformat()
        emit(at, "interaction.recorded", kind, actor, "interaction", next_interaction,
             {"channel": channel, "direction": direction, "customer_id": customer,
              "case_id": case_id, "external_id": None, "occurred_at": moment})  # fmt: skip

    def presence(at: float, agent: int, before: str, after: str) -> None:
        change = {"before": {"presence": before}, "after": {"presence": after}}
        emit(at, "presence.changed", "agent", agent, "agent", agent, change)

    def pick_case() -> int | None:
        while pool:
            index = rng.randrange(len(pool))
            case_id = pool[index]
            if case_id in state:
                return case_id
            pool[index] = pool[-1]
            pool.pop()
        return None

    actions = (
        ("new_case", 11), ("contact", 30), ("resolve", 8), ("sla", 6), ("forward", 2),
        ("assign", 3), ("note", 4), ("work_item", 16), ("ignored", 12),
    )  # fmt: skip
    names = [name for name, weight in actions for _ in range(weight)]
    while len(stream.rows) < count:
        before = len(stream.rows)
        action = rng.choice(names)
        case_id = (
            pick_case()
            if action in ("contact", "resolve", "sla", "forward", "assign", "note")
            else None
        )
        if action == "new_case" or (
            case_id is None and action != "work_item" and action != "ignored"
        ):
            next_case += 1
            case_id = next_case
            team = rng.choices(range(len(TEAMS)), ct_weights)[0]
            queue = f"{TEAMS[team][0]}-{rng.choice(REGIONS)}"
            customer = None if rng.random() < 0.02 else rng.randint(1, customers)
            channel = rng.choices(CHANNELS, CHANNEL_SHARES)[0]
            by_agent = channel == "phone" and rng.random() < 0.5
            owner = team_agent(team) if by_agent else None
            emit(t, "case.opened", "agent" if by_agent else "system", owner, "case", case_id,
                 {"reference": f"CW-N{case_id}", "case_type": TEAMS[team][3],
                  "service_type": TEAMS[team][5], "customer_id": customer, "queue": queue,
                  "priority": 2, "parent_id": None})  # fmt: skip
            next_task += 1
            emit(t, "task.created", "system", None, "task", next_task, {"case_id": case_id})
            for kind in ("first_response", "resolution"):
                emit(t, "sla.started", "system", None, "case", case_id, {"kind": kind})
            contact(t, case_id, channel, "inbound", "customer", None, customer)
            if channel in ("email", "portal") and rng.random() < 0.5:
                contact(t + 1, case_id, "email", "outbound", "system", None, customer)
            state[case_id] = [queue, TEAMS[team][3], TEAMS[team][5], owner, customer]
            pool.append(case_id)
            stream.touched_cases.add(case_id)
        elif action == "contact":
            assert case_id is not None
            queue, case_type, _, owner, customer = state[case_id]
            roll = rng.random()
            team = queue_team[queue]
            agent = owner or team_agent(team)
            if roll < 0.35:
                contact(
                    t,
                    case_id,
                    rng.choices(CHANNELS, CHANNEL_SHARES)[0],
                    "inbound",
                    "customer",
                    None,
                    customer,
                )
            elif roll < 0.8:
                if owner is None:
                    state[case_id][3] = agent
                    emit(t, "case.assigned", "agent", agent, "case", case_id,
                         {"before": {"owner_id": None}, "after": {"owner_id": agent}})  # fmt: skip
                contact(
                    t,
                    case_id,
                    rng.choice(("email", "email", "phone", "letter")),
                    "outbound",
                    "agent",
                    agent,
                    customer,
                )
            elif roll < 0.92:
                contact(t, case_id, "note", "internal", "agent", agent, customer)
            else:
                contact(t, case_id, "email", "outbound", "system", None, customer)
            stream.touched_cases.add(case_id)
        elif action == "resolve":
            assert case_id is not None
            queue, case_type, _, owner, customer = state.pop(case_id)
            by_system = owner is None and rng.random() < 0.15
            agent = None if by_system else owner or team_agent(queue_team[queue])
            if case_type == "retention":
                code = "retained" if rng.random() < 0.55 else "churned"
            else:
                code = rng.choices(("solved", "answered", "duplicate"), (70, 25, 5))[0]
            if agent:
                next_task += 1
                emit(t, "task.completed", "agent", agent, "task", next_task, {"case_id": case_id})
            emit(t, "case.resolved", "system" if by_system else "agent", agent, "case", case_id,
                 {"before": {"status": "open"}, "after": {"status": "resolved"},
                  "resolution_code": code, "note": ""})  # fmt: skip
            emit(t, "sla.met", "system", None, "case", case_id,
                 {"kind": "resolution", "in_time": rng.random() < 0.8})  # fmt: skip
            if rng.random() < 0.04:
                later = t + rng.uniform(3600, 3 * 86400)
                emit(
                    later, "case.reopened", "system", None, "case", case_id, {"reason": "new mail"}
                )
                contact(later, case_id, "email", "inbound", "customer", None, customer)
            stream.touched_cases.add(case_id)
        elif action == "sla":
            assert case_id is not None
            kind = rng.choice(("first_response", "first_response", "resolution"))
            if rng.random() < 0.3:
                emit(t, "sla.breached", "system", None, "case", case_id, {"kind": kind})
            else:
                emit(t, "sla.met", "system", None, "case", case_id, {"kind": kind, "in_time": True})
            stream.touched_cases.add(case_id)
        elif action == "forward":
            assert case_id is not None
            queue = state[case_id][0]
            agent = state[case_id][3] or team_agent(queue_team[queue])
            target = rng.choice(queues)
            state[case_id][0] = target
            emit(t, "case.forwarded", "agent", agent, "case", case_id,
                 {"from_queue": queue, "to_queue": target})  # fmt: skip
            stream.touched_cases.add(case_id)
        elif action == "assign":
            assert case_id is not None
            agent = team_agent(queue_team[state[case_id][0]])
            owners = {"before": {"owner_id": state[case_id][3]}, "after": {"owner_id": agent}}
            emit(t, "case.assigned", "agent", agent, "case", case_id, owners)
            state[case_id][3] = agent
            stream.touched_cases.add(case_id)
        elif action == "note":
            assert case_id is not None
            agent = state[case_id][3] or team_agent(queue_team[state[case_id][0]])
            note = {"note_id": rng.randrange(10**6)}
            emit(t, "case.note_added", "agent", agent, "case", case_id, note)
            stream.touched_cases.add(case_id)
        elif action == "work_item":
            next_item += 1
            item = next_item
            channel = "phone" if rng.random() < 0.7 else "chat"
            queue = rng.choice(queues)
            team = queue_team[queue]
            wait = rng.choice((3, 5, 8, 12, 15, 18, 25, 35, 50, 80, 140, 300))
            queued = {"channel": channel, "queue": queue, "priority": 2}
            emit(t, "work_item.queued", "system", None, "work_item", item, queued)
            if rng.random() < (0.4 if wait > 60 else 0.05):
                waited = {"waited_seconds": float(wait)}
                emit(t + wait, "work_item.withdrawn", "system", None, "work_item", item, waited)
            else:
                agent = team_agent(team)
                handled = rng.uniform(120, 900 if channel == "phone" else 1400)
                ended = t + wait + handled
                accepted = {"offer_id": item, "agent_id": agent, "waited_seconds": float(wait)}
                completed = {"agent_id": agent, "handled_seconds": round(handled, 3)}
                emit(t + wait - 1, "work_item.offered", "system", None, "work_item", item,
                     {"agent_id": agent})  # fmt: skip
                emit(t + wait, "work_item.accepted", "agent", agent, "work_item", item, accepted)
                presence(t + wait, agent, "available", "busy")
                emit(ended, "work_item.completed", "agent", agent, "work_item", item, completed)
                presence(ended, agent, "busy", "after_call_work")
                if channel == "phone":
                    after_work = rng.uniform(15, 120)
                    wrapped = {"agent_id": agent, "after_work_seconds": round(after_work, 3)}
                    presence(ended + after_work, agent, "after_call_work", "available")
                    emit(ended + after_work, "work_item.wrapped_up", "agent", agent, "work_item",
                         item, wrapped)  # fmt: skip
            stream.new_items.add(next_item)
        else:
            code = rng.choice(
                ("customer.viewed", "customer.viewed", "notification.sent", "customer.updated")
            )
            agent = first_agent + rng.randrange(AGENTS)
            emit(t, code, "agent", agent, "customer", rng.randint(1, customers), {})
        t += sum(rng.expovariate(per_second) for _ in range(len(stream.rows) - before))
    stream.rows.sort(key=lambda row: row[0])
    del stream.rows[count:]
    stream.first_t, stream.last_t = stream.rows[0][0], stream.rows[-1][0]
    return stream


def write_stream(stream: Stream, head: int) -> float:
    """The events into the log after the chain head, in time order (their commit order)."""
    from django.db import connection, transaction

    from casework.events.models import ChainHead

    started = time.perf_counter()
    fake_hash = "0" * 64
    columns = ("seq", "occurred_at", "code", "actor_kind", "actor_id", "actor_label",
               "object_type", "object_id", "payload", "prev_hash", "hash")  # fmt: skip
    rows = (
        (head + n, datetime.fromtimestamp(r[0], UTC), r[1], r[2], r[3], r[4], r[5], r[6],
         json.dumps(r[7]), fake_hash, fake_hash)
        for n, r in enumerate(stream.rows, start=1)
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY events_event ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"INSERT INTO events_event ({', '.join(columns)})"
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                [(*row[:1], adapt(row[1]), *row[2:]) for row in rows],
            )
        ChainHead.objects.filter(pk=1).update(last_seq=head + len(stream.rows))
    if connection.vendor == "postgresql":
        run_sql("ANALYZE events_event")  # what autovacuum does after such an insert
    return time.perf_counter() - started


def aggregation_phase(
    args: argparse.Namespace, place: Place, head: int, rate: float
) -> dict[str, Any]:
    from casework.analytics import aggregation
    from casework.events.models import OutboxCursor

    cursor_seq = OutboxCursor.objects.get(name=aggregation.CURSOR_NAME).last_seq
    if cursor_seq != head:
        raise SystemExit(f"the analytics cursor is at {cursor_seq}, the data set's head at {head}")
    total = args.events + (args.profile_events if args.profile else 0)
    began = time.perf_counter()
    stream = generate_stream(total, start=NOW_T + 60, per_second=rate, seed=args.seed)
    generate_seconds = time.perf_counter() - began
    write_seconds = write_stream(stream, head)
    print(
        f"  {len(stream.rows):,} events generated in {generate_seconds:.1f} s, written in"
        f" {write_seconds:.1f} s; they span {(stream.last_t - stream.first_t) / 3600:.1f} h"
        f" from {datetime.fromtimestamp(stream.first_t, ZONE):%Y-%m-%d %H:%M}"
    )
    applied: list[Any] = []
    original = aggregation.apply_events

    def counting(events: Any) -> Any:
        result = original(events)
        applied.append(result)
        return result

    aggregation.apply_events = counting  # type: ignore[assignment]
    times, reads, statements = [], [], []
    goal = head + args.events
    measure.wait_for_quiet(args.quiet_wait)
    try:
        with measure.MachineLoad(place.pg_name) as load:
            counter = measure.QueryCounter()
            with counter.installed():
                while OutboxCursor.objects.get(name=aggregation.CURSOR_NAME).last_seq < goal:
                    before = counter.total
                    began = time.perf_counter()
                    read = aggregation.run_once(args.batch_size)
                    times.append(time.perf_counter() - began)
                    reads.append(read)
                    statements.append(counter.total - before)
                    if not read or len(times) > 10 * args.events // args.batch_size + 10:
                        break
        profile_text = ""
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            aggregation.catch_up(args.batch_size)
            profiler.disable()
            profile_text = measure.profile_top(profiler, sort="cumulative", limit=30)
    finally:
        aggregation.apply_events = original  # type: ignore[assignment]
    seconds = sum(times)
    return {
        "events": sum(reads),
        "batches": len(times),
        "seconds": seconds,
        "events_per_s": sum(reads) / seconds if seconds else float("nan"),
        "batch": measure.Latency.of(times),
        "statements_per_batch": sum(statements) / len(statements) if statements else 0,
        "digests_changed_per_batch": sum(a.digests_changed for a in applied) / max(1, len(applied)),
        "rows_written_per_batch": sum(a.rows_written for a in applied) / max(1, len(applied)),
        "relevant_share": sum(a.events for a in applied) / max(1, sum(reads)),
        "codes": stream.codes.most_common(),
        "load": load,
        "stream": stream,
        "span_hours": (stream.last_t - stream.first_t) / 3600,
        "profile": profile_text,
    }


# ---------------------------------------------------------------------------------------
# Running


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--interactions", type=int, help="default: 10M (pg), 1M (sqlite)")
    parser.add_argument("--cases", type=int, help="default: 3M (pg), 300k (sqlite)")
    parser.add_argument("--customers", type=int, help="default: a third of the cases")
    parser.add_argument(
        "--events", type=int, default=200_000, help="events of the incremental phase"
    )
    parser.add_argument("--batch-size", type=int, default=BATCH, help="run_once(batch_size)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per read")
    parser.add_argument("--naive-repeat", type=int, default=3, help="timed runs per naive query")
    parser.add_argument(
        "--check",
        choices=["queues", "full", "none"],
        default="queues",
        help="recompute the figures from the digests: of two queues, of everything, or not",
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the data set")
    parser.add_argument("--rebuild", action="store_true", help="build even if a kept one fits")
    parser.add_argument("--build-only", action="store_true", help="build (or check) and stop")
    parser.add_argument("--no-aggregation", action="store_true", help="skip the incremental phase")
    parser.add_argument("--profile", action="store_true", help="cProfile extra batches")
    parser.add_argument("--profile-events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commit", help="measure this commit's src/ (git archive), not the tree")
    measure.add_quiet_wait_option(parser)
    args = parser.parse_args()
    interactions, cases = DEFAULTS[args.db]
    args.interactions = args.interactions or interactions
    args.cases = args.cases or cases
    args.customers = args.customers or max(1_000, args.cases // 3)
    args.keep = args.keep or args.build_only
    return args


def run_at_commit(revision: str) -> None:
    """Measure the source of a commit (`git archive`), not the working tree, which others
    may be editing: runs this script again with that `src` first on the path."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=report.REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = dataset.CACHE_DIR / f"source-{commit}"
    if not (target / "src" / "casework").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit, "src"], cwd=report.REPO_DIR, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    os.environ["CASEWORK_BENCH_SOURCE"] = f"{commit} ({target / 'src'})"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(target / "src"), os.environ.get("PYTHONPATH", "")])
    )
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *sys.argv])


def read_meta(place: Place) -> dict[str, Any] | None:
    try:
        return json.loads(place.meta_path.read_text())
    except (OSError, ValueError):
        return None


def prepare(args: argparse.Namespace, place: Place) -> dict[str, Any]:
    """The data set: reused if kept and still fitting, otherwise built."""
    meta = read_meta(place)
    fits = (
        not args.rebuild
        and meta is not None
        and meta.get("version") == DATASET_VERSION
        and meta.get("interactions_requested") == args.interactions
        and meta.get("cases_requested") == args.cases
        and meta.get("customers") == args.customers
        and place.exists()
    )
    point_django_at(place)
    if fits:
        pending = pending_migrations()
        if pending:
            print(f"data set: {place.name} predates migrations {', '.join(pending)}: rebuilding")
            fits = False
    if fits:
        assert meta is not None
        print(
            f"data set: reusing {place.name} (built {meta['built_at']} in"
            f" {meta['build_seconds']:.0f} s)"
        )
        return meta
    from django.db import connections

    connections.close_all()
    place.meta_path.unlink(missing_ok=True)
    print(
        f"data set: building {place.name} ({args.interactions:,} interactions,"
        f" {args.cases:,} cases,"
        f" {args.customers:,} customers) on {place.engine}"
    )
    started = time.perf_counter()
    load_before = os.getloadavg()
    place.create()
    migrate(place)
    migrate_seconds = time.perf_counter() - started
    print(f"  {'schema (casework migrate)':<58} {migrate_seconds:8.1f} s")
    meta = build_data(place, Sizes(args.interactions, args.cases, args.customers))
    meta["steps"] = {"schema (casework migrate)": round(migrate_seconds, 1), **meta["steps"]}
    meta["build_seconds"] = round(time.perf_counter() - started, 1)
    meta["build_loadavg"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    meta["rows"] = count_rows()
    meta["facts"] = data_facts()
    meta["size_bytes"] = place.size_bytes()
    place.meta_path.write_text(json.dumps(meta, indent=2, default=str))
    print(
        f"data set: built in {meta['build_seconds']:.0f} s, {meta['size_bytes'] / 2**30:.2f} GiB"
        f" (load average {meta['build_loadavg'][0]} → {meta['build_loadavg'][1]})"
    )
    return meta


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups
    dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if args.commit and os.environ.get("CASEWORK_BENCH_SOURCE") is None:
        run_at_commit(args.commit)
    place = Place(args.db, args.interactions, args.cases)
    work = Place(args.db, args.interactions, args.cases, copy=True)
    try:
        meta = prepare(args, place)
        if args.build_only:
            print_build(meta)
            if args.check != "none":
                run_check(args, "figures as built", [])
            return
        run(args, place, work, meta)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            work.drop()
        if not args.keep:
            with contextlib.suppress(Exception):
                place.drop()
                place.meta_path.unlink(missing_ok=True)
                print(f"data set {place.name} dropped (--keep keeps it)")


def run_check(args: argparse.Namespace, title: str, extra: list[Any]) -> dict[str, Any] | None:
    if args.check == "none":
        return None
    queues = None if args.check == "full" else ["abrechnung-nord", "premium-ost"]
    cases, items = (extra + [(), ()])[:2]
    result = check_figures(queues, cases, items)
    print_check(title, result)
    return result


def print_build(meta: dict[str, Any]) -> None:
    report.print_table(
        f"Build ({meta['engine']}, {meta['built_at']}): {meta['build_seconds']:.0f} s in all",
        ["step", "seconds"],
        [(name, float(seconds)) for name, seconds in meta["steps"].items()],
    )
    report.print_table("Rows", ["table", "rows"], list(meta["rows"].items()))
    facts = meta["facts"]
    print(
        f"\nopen cases {facts['open_cases']:,} ({facts['open_share']:.1%}), running SLA clocks "
        f"{facts['running_sla_clocks']:,} (due within 1 h of now: {facts['sla_due_within_1h']:,}),"
        f" work items waiting {facts['waiting_work_items']:,}, busiest day {facts['busiest_day']}"
    )
    print(
        "contacts by channel and direction: "
        + ", ".join(f"{c}/{d} {n:,}" for c, d, n in facts["interactions_by_channel_direction"])
    )
    print(
        "summary rows are computed in SQL from the raw tables (GROUP BY quarter-hour and"
        " dimensions), not by replaying the history's events"
    )


def print_load(load: measure.MachineLoad, engine: str) -> None:
    print(load.describe())
    if engine == "pg":
        print(
            "  (PostgreSQL's parallel query workers live only as long as one query, so their"
            " CPU counts as other processes' here; the idle share before measuring is the"
            " better sign of a quiet machine)"
        )


def _latency_row(name: str, latency: measure.Latency, *extra: Any) -> tuple[Any, ...]:
    return (name, latency.n, latency.p50, latency.p95, latency.max, *extra)


def run(args: argparse.Namespace, place: Place, work: Place, meta: dict[str, Any]) -> None:
    facts = report.machine_facts()
    if os.environ.get("CASEWORK_BENCH_SOURCE"):
        facts["casework_revision"] = os.environ["CASEWORK_BENCH_SOURCE"]
    report.print_header(
        f"analytics — KPIs, wall-board and incremental aggregation ({place.engine})",
        facts,
        {
            "data set": f"{place.name}: {meta['rows']['interactions_interaction']:,} interactions, "
            f"{meta['rows']['cases_case']:,} cases, {meta['customers']:,} customers,"
            f" {AGENTS:,} agents",
            "now": f"{NOW:%Y-%m-%d %H:%M %Z} (pinned); year {YEAR[0]} … {YEAR[1]}",
            "repeats": f"{args.repeat} timed calls after 3 warm-ups; naive queries"
            f" {args.naive_repeat}×",
        },
    )
    print_build(meta)
    checks: list[report.Check] = []
    data: dict[str, Any] = {"engine": place.engine, "machine": facts, "meta": meta}
    data["check_built"] = run_check(args, "Figures as built vs. contributions.points_of", [])

    print("\n== Wall-board and today's dashboard ==")
    board = dashboard_phase(args, place)
    report.print_table(
        "Dashboard reads (ms)",
        ["read", "n", "p50", "p95", "max", "SQL"],
        [
            _latency_row(name, latency, sql if sql is not None else "")
            for name, latency, sql in board["rows"]
        ],
    )
    print_load(board["load"], place.engine)
    b = board["board"]
    print(
        f"board: {b['waiting']} waiting, {b['open_cases']:,} open cases, {b['sla_due_soon']} SLA "
        f"clocks due within 1 h, {b['agents_logged_in']} agents logged in, service level today "
        f"{b['service_level_today']:.1%}"
        if b["service_level_today"] is not None
        else "board: no service level today"
    )
    for name, sql, plan in board["plans"]:
        print_plan(name, sql, plan)
    for name, latency, _ in board["rows"]:
        if not name.startswith("  "):
            checks.append(
                report.Check(f"p95 {name.split(' (')[0]}", latency.p95, TARGET_DASHBOARD_MS, "ms")
            )
    data["dashboard"] = {name: latency.as_dict() for name, latency, _ in board["rows"]}
    data["dashboard_load"] = board["load"].figures

    print("\n== KPIs over a year by day ==")
    year = year_phase(args, place)
    report.print_table(
        f"kpis.report {YEAR[0]} … {YEAR[1]} by day, KPIs {', '.join(YEAR_KPIS)} (ms)",
        ["query", "n", "p50", "p95", "max", "rows", "table read"],
        [_latency_row(name, latency, rows, table) for name, latency, rows, table in year["rows"]],
    )
    print_load(year["load"], place.engine)
    for name, sql, plan in year["plans"]:
        print_plan(name, sql, plan)
    for name, latency, _, _ in year["rows"]:
        checks.append(
            report.Check(
                f"p95 year by day, {name.split(' (')[0]}", latency.p95, TARGET_YEAR_MS, "ms"
            )
        )
    data["year"] = {name: latency.as_dict() for name, latency, _, _ in year["rows"]}
    data["year_load"] = year["load"].figures

    print("\n== Naive: the same figures from the raw tables ==")
    naive = naive_phase(args, place)
    p50s = {name: latency.p50 for name, latency, *_ in board["rows"] + year["rows"]}
    rows = []
    for item in naive["rows"]:
        summary_p50 = p50s.get(item["summary"], float("nan"))
        ratio = item["latency"].p50 / summary_p50 if summary_p50 == summary_p50 else float("nan")
        same = "equal" if item["differences"] == 0 else f"{item['differences']} differ"
        rows.append(
            (
                item["name"],
                item["latency"].n,
                item["latency"].p50,
                summary_p50,
                f"{ratio:,.1f}×" if ratio < 10 else f"{ratio:,.0f}×",
                item["keys"],
                same,
            )
        )
    report.print_table(
        "Naive full-scan query vs. the summary read (p50, ms)",
        ["figure", "n", "naive", "summary", "naive ÷ summary", "keys", "values"],
        rows,
    )
    for item in naive["rows"]:
        for key, n_value, s_value in item["example"]:
            print(f"  {item['name']}: {key}: naive {n_value}, summary {s_value}")
    print_load(naive["load"], place.engine)
    data["naive"] = [
        {**{k: v for k, v in item.items() if k != "latency"}, "latency": item["latency"].as_dict()}
        for item in naive["rows"]
    ]
    data["naive_load"] = naive["load"].figures

    if not args.no_aggregation:
        print("\n== Incremental aggregation ==")
        target = place
        if args.keep:
            seconds = clone(place, work)
            print(
                f"  working copy {work.name} made in {seconds:.1f} s"
                " (the kept data set stays as built)"
            )
            point_django_at(work)
            target = work
        # The data set's own pace: its history (≈ the chain head) over the year.
        rate = meta["head"] / (NOW - DATA_START).total_seconds()
        print(
            f"  stream pace: the data set's own, ≈ {rate * 86400:,.0f} events a day"
            f" (≈ {meta['head']:,} history events in {(NOW - DATA_START).days} days)"
        )
        agg = aggregation_phase(args, target, meta["head"], rate)
        report.print_table(
            f"aggregation.run_once(batch_size={args.batch_size}) until caught up",
            ["figure", "value"],
            [
                ("events read", agg["events"]),
                ("share of them the figures use", f"{agg['relevant_share']:.0%}"),
                ("batches", agg["batches"]),
                ("seconds", agg["seconds"]),
                ("events/s", agg["events_per_s"]),
                ("batch p50 (ms)", agg["batch"].p50),
                ("batch p95 (ms)", agg["batch"].p95),
                ("batch max (ms)", agg["batch"].max),
                ("SQL statements per batch", agg["statements_per_batch"]),
                ("digests changed per batch", agg["digests_changed_per_batch"]),
                ("summary rows written per batch", agg["rows_written_per_batch"]),
                ("time the events span (h)", agg["span_hours"]),
            ],
        )
        print_load(agg["load"], place.engine)
        print("  event mix: " + ", ".join(f"{code} {n:,}" for code, n in agg["codes"]))
        if agg["profile"]:
            print(f"\n  cProfile of {args.profile_events:,} more events:\n{agg['profile']}")
        checks.append(
            report.Check(
                "incremental aggregation",
                agg["events_per_s"],
                TARGET_EVENTS_PER_S,
                "events/s",
                at_most=False,
            )
        )
        stream = agg["stream"]
        data["aggregation"] = {
            k: (v.as_dict() if isinstance(v, measure.Latency) else v)
            for k, v in agg.items()
            if k not in ("stream", "load", "profile")
        }
        data["aggregation_load"] = agg["load"].figures
        data["check_after"] = run_check(
            args, "Figures after the incremental phase", [stream.touched_cases, stream.new_items]
        )
    report.print_checks(checks)
    data["checks"] = [check.as_dict() for check in checks]
    report.write_results("analytics", place.engine, data)


if __name__ == "__main__":
    main()

"""The case engine: one straight-through case end to end, and throughput with two workers.

    .venv/bin/python bench/case_engine.py [--db sqlite|pg|both] [--latency-cases 1000]
                                          [--cases 100000] [--workers 2] [--profile] [--keep]

Latency (SQLite and PostgreSQL, in-process): a case of the shipped `retention-order` case
type (decision table → booking at the billing system → confirmation → done) is opened with
`open_case_atomically(…)`, then the worker's passes (`kernel.jobs.run_due()`) run in the
same process right after, as a worker would pick the jobs up, until a pass finds nothing
due. The billing system is a small threaded HTTP server on 127.0.0.1 answering
`{"reference": "B-n"}` (`CASEWORK_INTEGRATION_ENDPOINTS` points the case type at it). The
same is measured for `bench-straight-through`, a case type written for this benchmark in a
temporary `CASEWORK_CASETYPES_DIR`: the same decision table, then set data, a notification
and the final stage, without an HTTP call. Printed: median, p95 and p99 from opening until
the case is resolved, and until its last job (the notification) ran; the time of each pass;
SQL statements, jobs and worker passes per case. Target: median ≤ 20 ms.

Throughput (PostgreSQL): `--cases` retention orders are opened up front in batches (one
transaction per batch of 500), then `--workers` worker processes (this script, calling
`jobs.run_due()` in a loop) start together and work until every case is resolved and its
last job ran. Steps per second count the engine's step events of those cases
(`case.decision_taken`, `case.data_changed`, `case.integration_called`,
`case.step_completed`, `case.stage_changed`, `case.process_completed`), against a bare
`UPDATE cases_case SET updated_at = … WHERE id = …`, one per transaction, from as many
processes, on the same database just before and just after. Then the database is checked:
every case completed exactly once, no step ran twice, no job failed.

A fresh database every run (`casework migrate`): `/tmp/casework-bench/case-engine.sqlite3`
or the PostgreSQL database `casework_bench_engine`, dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dataset
import measure
import report
import servers

TARGET_MEDIAN_MS = 20.0
SHIPPED_KEY = "retention-order"
BENCH_KEY = "bench-straight-through"
BILLING_PREFIX = "https://billing.example.invalid"
PG_DATABASE = "casework_bench_engine"
WORK_NAME = "case-engine"
QUEUE_CODE = "retention"  # both case types route here
SHIPPED_CASETYPES_DIR = report.REPO_DIR / "src" / "casework" / "cases" / "casetypes"
CUSTOMERS = 200  # at least; one more per case the run opens (see CustomerPool)
OPEN_BATCH = 500
WARM_UP_CASES = 30
COUNTED_CASES = 50
MAX_PASSES_PER_CASE = 20
# (backends waiting for a lock, backends busy) of the benchmark's database, once a second
# while the workers run.
LOCK_SAMPLES: list[tuple[int, int]] = []
LOCK_QUERIES: Counter[str] = Counter()  # what the waiting connections were running
# The engine's step events: what a step, a transition or the end of a process writes.
STEP_EVENTS = (
    "case.decision_taken",
    "case.data_changed",
    "case.integration_called",
    "case.step_completed",
    "case.stage_changed",
    "case.process_completed",
)
# Each must happen at most once per case for these two case types: twice means a step ran
# twice.
# Events each case has once per step (a case completes several steps, each once).
ONCE_PER_CASE = (
    "case.decision_taken",
    "case.integration_called",
    "case.step_completed",
    "case.process_completed",
)

BENCH_CASE_TYPE = f"""\
# Written by bench/case_engine.py: the retention decision, then set data, a notification
# and the final stage, all in the engine's first pass; no call to another system.
key: {BENCH_KEY}
version: 1
name: {{de: Durchlauf ohne Buchung, en: Straight through without booking}}
service_type: support
channels: [api]

data:
  type: object
  additionalProperties: false
  properties:
    campaign: {{type: string}}
    offer: {{type: string, enum: [discount-20, discount-10, free-option, none]}}
    order_reference: {{type: string}}
  required: [campaign]

stages:
  - key: decide-offer
    name: {{de: Angebot bestimmen, en: Decide the offer}}
    steps:
      - key: choose-offer
        kind: decision
        table: decisions/retention-offer.yaml
        output_mapping: {{offer: offer}}
        on_no_match: exception
      - key: note-order
        kind: set_data
        values: {{order_reference: case.reference}}
      - key: confirm-offer
        kind: notify
        template: retention-offer-confirmed
    transitions:
      - to: done

  - key: done
    name: {{de: Abgeschlossen, en: Done}}
    final: true

sla:
  first_response_business_hours: {{urgent: 1, high: 2, normal: 4, low: 8}}
  resolution_business_hours: {{urgent: 4, high: 8, normal: 16, low: 24}}
  on_breach: [notify_supervisor]

routing:
  queue: {QUEUE_CODE}
"""


# ---------------------------------------------------------------------------------------
# The database, the case types folder, the billing system


@dataclass(frozen=True)
class Place:
    engine: str

    @property
    def sqlite_path(self) -> Path:
        return dataset.CACHE_DIR / f"{WORK_NAME}.sqlite3"

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{dataset.PG_SERVER_URL}/{PG_DATABASE}"

    @property
    def data_dir(self) -> Path:
        return dataset.CACHE_DIR / f"{WORK_NAME}-data"

    @property
    def pg_name(self) -> str | None:
        return PG_DATABASE if self.engine == "pg" else None

    def drop(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
        else:
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')

    def create(self, env: dict[str, str]) -> float:
        """Drop, create, `casework migrate`; returns the seconds it took."""
        began = time.perf_counter()
        self.drop()
        self.data_dir.mkdir(parents=True)
        if self.engine == "pg":
            dataset._pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
        command = [str(servers.VENV_BIN / "casework"), "migrate", "-v", "0"]
        subprocess.run(command, env=env, check=True, timeout=600)
        return time.perf_counter() - began


def write_case_types(folder: Path) -> None:
    """The benchmark's case type, with the shipped decision table it uses beside it."""
    (folder / "decisions").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        SHIPPED_CASETYPES_DIR / "decisions" / "retention-offer.yaml",
        folder / "decisions" / "retention-offer.yaml",
    )
    (folder / f"{BENCH_KEY}.yaml").write_text(BENCH_CASE_TYPE, encoding="utf-8")


class Billing(BaseHTTPRequestHandler):
    """The billing system: books every order and answers its reference."""

    protocol_version = "HTTP/1.0"
    lock = threading.Lock()
    calls = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with Billing.lock:
            Billing.calls += 1
            number = Billing.calls
        answer = json.dumps({"reference": f"B-{number}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def billing_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((servers.HOST, 0), Billing)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="billing", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def environment(place: Place, casetypes_dir: Path, billing_port: int) -> dict[str, str]:
    """For this process, `casework migrate` and the worker processes."""
    env = dict(os.environ)
    env.update(
        {
            "CASEWORK_DATABASE_URL": place.url,
            "CASEWORK_DATA_DIR": str(place.data_dir),
            "DJANGO_SETTINGS_MODULE": dataset.SETTINGS_MODULE,
            "CASEWORK_CASETYPES_DIR": str(casetypes_dir),
            "CASEWORK_INTEGRATIONS_ALLOW_PRIVATE": "1",
            "CASEWORK_INTEGRATION_ENDPOINTS": json.dumps(
                {BILLING_PREFIX: f"http://{servers.HOST}:{billing_port}"}
            ),
        }
    )
    env.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    # The billing calls go straight to loopback, never through a proxy.
    no_proxy = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    env["no_proxy"] = env["NO_PROXY"] = no_proxy
    return env


def setup_django(env: dict[str, str]) -> None:
    for key, value in env.items():
        if key.startswith(("CASEWORK_", "DJANGO_")) or key.lower() == "no_proxy":
            os.environ[key] = value
    import django

    django.setup()


# ---------------------------------------------------------------------------------------
# Reference data


ADMIN_LABEL = "bench"


def admin_actor() -> Any:
    from casework.kernel.actors import Actor

    return Actor.system(ADMIN_LABEL)


class CustomerPool:
    """Customers whose contract ends in 60 days, each for one case: a retention order
    extends the contract, after which the decision table has no offer for it (and the case
    would stop at an exception instead of running straight through)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.taken = ids, 0

    def take(self) -> int:
        if self.taken >= len(self.ids):
            raise RuntimeError(f"all {len(self.ids)} customers have had their case")
        self.taken += 1
        return self.ids[self.taken - 1]

    def __len__(self) -> int:
        return len(self.ids)


def customers_needed(args: argparse.Namespace, throughput: bool) -> int:
    per_type = WARM_UP_CASES + args.latency_cases + COUNTED_CASES
    if args.profile:
        per_type += args.profile_cases
    return max(CUSTOMERS, 2 * per_type + (args.cases if throughput else 0))


def seed(customers: int) -> CustomerPool:
    """The queue, both case types published, a mailbox to send the confirmations from,
    and customers whose contract ends in 60 days (gold and silver: every case is booked)."""
    from django.db import transaction

    from casework.cases import process
    from casework.cases.models import CaseType
    from casework.channels.email.models import Mailbox
    from casework.customers.models import (
        Contract,
        Customer,
        CustomerIdentifier,
        Product,
        build_search_name,
    )
    from casework.kernel import clock
    from casework.offers.demo import ensure_demo_offers
    from casework.routing.models import Queue, Team

    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            code="retention-team", defaults={"name_de": "Rückgewinnung", "name_en": "Retention"}
        )
        Queue.objects.get_or_create(
            code=QUEUE_CODE,
            defaults={"name_de": "Rückgewinnung", "name_en": "Retention", "team": team},
        )
    process.forget_loaded_definitions()
    published = process.publish_configured([SHIPPED_KEY, BENCH_KEY], actor=admin_actor())
    assert {entry.key for entry in published} == {SHIPPED_KEY, BENCH_KEY}, published
    today = clock.localtime(clock.now()).date()
    ids = []
    with transaction.atomic():
        # The retention order applies the offer its decision table chose: the catalogue
        # must hold it (discount-20 for gold, free-option for silver).
        ensure_demo_offers()
        Mailbox.objects.get_or_create(
            address="service@casework-bench.example.com",
            defaults={
                "display_name": "Service",
                "case_type": CaseType.objects.get(code=SHIPPED_KEY),
            },
        )
        product, _ = Product.objects.get_or_create(
            code="mobil-m",
            defaults={
                "kind": "tariff",
                "name_de": "Mobil M",
                "name_en": "Mobile M",
                "monthly_fee": "19.99",
            },
        )
        for start in range(1, customers + 1, 1000):
            indexes = range(start, min(start + 1000, customers + 1))
            batch = []
            for index in indexes:
                spec = dataset.customer_spec(index)
                batch.append(
                    Customer(
                        kind="person",
                        customer_number=f"E{index:08d}",
                        first_name=spec.first_name or "Erika",
                        last_name=spec.last_name or "Muster",
                        search_name=build_search_name(spec.first_name, spec.last_name, ""),
                        language="de" if index % 4 else "en",
                        preferred_channel="email",
                        segment="gold" if index % 3 else "silver",
                    )
                )
            created = Customer.objects.bulk_create(batch)
            CustomerIdentifier.objects.bulk_create(
                CustomerIdentifier(
                    customer=customer,
                    kind="email",
                    value=f"kunde{index}@casework-bench.example.com",
                )
                for index, customer in zip(indexes, created, strict=True)
            )
            Contract.objects.bulk_create(
                Contract(
                    customer=customer,
                    contract_number=f"V-BENCH-{index:06d}",
                    product=product,
                    status="active",
                    start_date=today - timedelta(days=900),
                    end_date=today + timedelta(days=60),
                    monthly_fee=product.monthly_fee,
                )
                for index, customer in zip(indexes, created, strict=True)
            )
            ids += [customer.pk for customer in created]
    return CustomerPool(ids)


def new_case(case_type: Any, customer_id: int, number: int) -> Any:
    from casework.cases.services import NewCase

    return NewCase(
        case_type=case_type,
        subject=f"Rückgewinnung Kampagne w26 #{number}",
        customer_id=customer_id,
        data={"campaign": "w26"},
    )


# ---------------------------------------------------------------------------------------
# Latency: one case at a time, the worker's passes in-process


@dataclass
class CaseRun:
    case_id: int
    open_seconds: float
    pass_seconds: list[float]  # the passes that ran jobs
    pass_wall_ends: list[float]  # time.time() after each of them
    jobs_run: int
    statements: int = 0
    shapes: Counter[str] = field(default_factory=Counter)

    @property
    def drained_seconds(self) -> float:
        return self.open_seconds + sum(self.pass_seconds)


def run_case(
    case_type: Any, customer_id: int, number: int, counter: measure.QueryCounter | None = None
) -> CaseRun:
    """Open one case, then worker passes until one finds nothing due. Only the passes that
    ran jobs count (the last, empty one is the worker noticing there is nothing left)."""
    from casework.cases.services import open_case_atomically
    from casework.kernel import jobs

    clock = time.perf_counter
    began = clock()
    case = open_case_atomically(new_case(case_type, customer_id, number), actor=admin_actor())
    opened = clock()
    run = CaseRun(case.pk, opened - began, [], [], 0)
    before = clock()
    statements, shapes = (counter.total, Counter(counter.shapes)) if counter else (0, Counter())
    for _pass in range(MAX_PASSES_PER_CASE):
        ran = jobs.run_due()
        after = clock()
        if not ran:
            break
        run.pass_seconds.append(after - before)
        run.pass_wall_ends.append(time.time())
        run.jobs_run += ran
        if counter is not None:
            statements, shapes = counter.total, Counter(counter.shapes)
        before = clock()
    if counter is not None:
        run.statements = statements
        run.shapes = shapes
    return run


def resolved_seconds(run: CaseRun, resolved_at: Any) -> float:
    """Opening → the end of the pass that resolved the case (its `resolved_at` falls into
    that pass)."""
    if resolved_at is None:
        return float("nan")
    stamp = resolved_at.timestamp()
    elapsed = run.open_seconds
    for seconds, wall_end in zip(run.pass_seconds, run.pass_wall_ends, strict=True):
        elapsed += seconds
        if wall_end >= stamp:
            return elapsed
    return float("nan")


def latency_phase(
    key: str, customers: CustomerPool, count: int, quiet_wait: float, pg_name: str | None
) -> dict[str, Any]:
    from django.db.models import Max

    from casework.cases.models import Case, CaseStatus, ProcessStatus
    from casework.cases.services import get_case_type
    from casework.kernel.models import Job

    case_type = get_case_type(key)
    number = 0

    def next_customer() -> int:
        nonlocal number
        number += 1
        return customers.take()

    for _ in range(WARM_UP_CASES):
        run_case(case_type, next_customer(), number)
    measure.wait_for_quiet(quiet_wait)
    first_job = Job.objects.aggregate(last=Max("pk"))["last"] or 0
    runs = []
    with measure.MachineLoad(pg_name) as load:
        for _ in range(count):
            runs.append(run_case(case_type, next_customer(), number))
    jobs_created = (Job.objects.aggregate(last=Max("pk"))["last"] or 0) - first_job
    # Statements per case: a counter of its own for each case, read after the last pass
    # that ran jobs.
    per_case_statements = []
    shapes: Counter[str] = Counter()
    for _ in range(COUNTED_CASES):
        counter = measure.QueryCounter()
        with counter.installed():
            counted = run_case(case_type, next_customer(), number, counter)
        per_case_statements.append(counted.statements)
        shapes.update(counted.shapes)
    cases = {
        row["pk"]: row
        for row in Case.objects.filter(pk__in=[run.case_id for run in runs]).values(
            "pk", "status", "process_status", "stage", "resolved_at"
        )
    }
    unfinished = [
        pk
        for pk, row in cases.items()
        if row["status"] != CaseStatus.RESOLVED or row["process_status"] != ProcessStatus.COMPLETED
    ]
    resolved = [resolved_seconds(run, cases[run.case_id]["resolved_at"]) for run in runs]
    passes = Counter(len(run.pass_seconds) for run in runs)
    usual_passes = passes.most_common(1)[0][0]
    per_pass = [
        measure.Latency.of([run.pass_seconds[i] for run in runs if len(run.pass_seconds) > i])
        for i in range(usual_passes)
    ]
    return {
        "case_type": key,
        "cases": count,
        "resolved": measure.Latency.of([value for value in resolved if value == value]),
        "drained": measure.Latency.of([run.drained_seconds for run in runs]),
        "open": measure.Latency.of([run.open_seconds for run in runs]),
        "per_pass": per_pass,
        "passes": dict(passes),
        "jobs_run_per_case": sum(run.jobs_run for run in runs) / count,
        "jobs_created_per_case": jobs_created / count,
        "statements_per_case": sum(per_case_statements) / len(per_case_statements),
        "statement_shapes": [(shape, n / COUNTED_CASES) for shape, n in shapes.most_common(25)],
        "stages": dict(Counter(row["stage"] for row in cases.values())),
        "unfinished": unfinished,
        "machine_load": load,
    }


def print_latency(engine: str, result: dict[str, Any]) -> None:
    key = result["case_type"]
    print(f"\n{key} ({engine}): " + result["machine_load"].describe())
    rows = []
    for name, figures in (
        ("open_case_atomically() alone", result["open"]),
        ("opening → case resolved", result["resolved"]),
        ("opening → last job done (notification queued)", result["drained"]),
        *((f"  worker pass {i + 1}", figures) for i, figures in enumerate(result["per_pass"])),
    ):
        rows.append((name, figures.n, figures.p50, figures.p95, figures.p99, figures.max))
    report.print_table(
        f"{key}: latency in ms ({engine}, {result['cases']:,} cases, one after the other)",
        ["", "n", "p50", "p95", "p99", "max"],
        rows,
    )
    passes = ", ".join(f"{n} passes: {count:,}" for n, count in sorted(result["passes"].items()))
    print(
        f"per case: {result['statements_per_case']:.1f} SQL statements (opening and the "
        f"passes that ran jobs), {result['jobs_run_per_case']:.2f} jobs run, "
        f"{result['jobs_created_per_case']:.2f} jobs created (the rest are SLA deadlines, "
        f"due later); worker passes that ran jobs: {passes}"
    )
    print(f"final stages: {result['stages']}; not completed: {len(result['unfinished'])}")
    report.print_table(
        f"{key}: SQL statements per case (average over {COUNTED_CASES})",
        ["statement", "per case"],
        result["statement_shapes"][:18],
    )


def profile_phase(key: str, customers: CustomerPool, count: int, out_path: Path) -> str:
    from casework.cases.services import get_case_type

    case_type = get_case_type(key)
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for number in range(count):
        run_case(case_type, customers.take(), number)
    profiler.disable()
    seconds = time.perf_counter() - began
    print(
        f"\ncProfile of {count} {key} cases end to end ({1000 * seconds / count:.1f} ms per "
        "case with the profiler on), by cumulative time:"
    )
    print(measure.profile_top(profiler, sort="cumulative", limit=45))
    print("\nby own time:")
    print(measure.profile_top(profiler, sort="tottime", limit=25))
    out_path.write_text(measure.profile_full(profiler))
    print(f"\nprofile: full text in {out_path.relative_to(report.REPO_DIR)}")
    return str(out_path.relative_to(report.REPO_DIR))


# ---------------------------------------------------------------------------------------
# Throughput: cases opened up front, then N worker processes


def open_in_batches(key: str, customers: CustomerPool, count: int) -> tuple[int, int, float]:
    """Open `count` cases, OPEN_BATCH per transaction; returns (first id, last id, seconds)."""
    from casework.cases.services import get_case_type, open_case
    from casework.events.services import recording_transaction

    case_type = get_case_type(key)
    actor = admin_actor()
    began = time.perf_counter()
    first = last = 0
    done, next_report = 0, max(count // 10, 1)
    for start in range(0, count, OPEN_BATCH):
        with recording_transaction():
            for number in range(start, min(start + OPEN_BATCH, count)):
                case = open_case(new_case(case_type, customers.take(), number), actor=actor)
                first = first or case.pk
                last = case.pk
        done = min(start + OPEN_BATCH, count)
        if done >= next_report or done == count:
            elapsed = time.perf_counter() - began
            print(f"  {done:>9,} cases opened  {elapsed:6.0f} s  ({done / elapsed:,.0f}/s)")
            next_report += max(count // 10, 1)
    return first, last, time.perf_counter() - began


class Children:
    """Child processes of this script (workers, bare updaters): each sets Django up, says
    `ready`, waits for `go` on stdin, works, prints one JSON line and exits. Always stopped
    by their PIDs."""

    def __init__(self, env: dict[str, str], role: str, args: list[list[str]], log: Path) -> None:
        self.env, self.role, self.args, self.log = env, role, args, log
        self.processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Children:
        for index, extra in enumerate(self.args):
            command = [sys.executable, str(Path(__file__).resolve()), "--child", self.role]
            command += ["--child-index", str(index), *extra]
            log = open(f"{self.log}.{index}", "w")  # noqa: SIM115  (closed with the process)
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    start_new_session=True,
                )
            )
            log.close()
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line != "ready":
                raise SystemExit(f"{self.role} child did not start (see {self.log}.*): {line!r}")
        return self

    def go(self) -> float:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return time.time()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def results(self, timeout: float) -> list[dict[str, Any]]:
        found = []
        for process in self.processes:
            assert process.stdout is not None
            out, _err = process.communicate(timeout=timeout)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            found.append(json.loads(lines[-1]) if lines else {"failed": process.returncode})
        return found

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def bare_updates(
    env: dict[str, str], first: int, last: int, total: int, workers: int, log: Path
) -> dict[str, Any]:
    per_child = total // workers
    args = [
        ["--ids", f"{first}-{last}", "--count", str(per_child), "--seed", str(index)]
        for index in range(workers)
    ]
    with Children(env, "bare-update", args, log) as children:
        began = children.go()
        results = children.results(timeout=1800)
    failed = [result for result in results if "failed" in result]
    if failed:
        raise SystemExit(f"bare UPDATE children failed: {failed} (see {log}.*)")
    ended = max(result["ended"] for result in results)
    count = sum(result["count"] for result in results)
    latencies = [ms for result in results for ms in result["latencies_ms"]]
    return {
        "updates": count,
        "seconds": ended - began,
        "per_second": count / (ended - began),
        "latency": measure.Latency.of([ms / 1000 for ms in latencies]),
    }


def throughput_phase(
    env: dict[str, str], args: argparse.Namespace, customers: CustomerPool, pg_name: str | None
) -> dict[str, Any]:
    from django.db import connections
    from django.db.models import Max

    from casework.kernel.models import Job

    print(f"\nthroughput: opening {args.cases:,} {SHIPPED_KEY} cases, {OPEN_BATCH} per transaction")
    first_job = Job.objects.aggregate(last=Max("pk"))["last"] or 0
    first, last, open_seconds = open_in_batches(SHIPPED_KEY, customers, args.cases)
    calls_before = Billing.calls
    connections.close_all()
    log = dataset.CACHE_DIR / f"case-engine-{args.db}"
    updates = max(args.bare_updates, args.workers)

    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(pg_name) as bare_load_before:
        bare_before = bare_updates(env, first, last, updates, args.workers, Path(f"{log}-bare"))
    print(
        f"bare UPDATE before: {bare_before['per_second']:,.0f}/s from {args.workers} "
        f"processes; " + bare_load_before.describe()
    )

    measure.wait_for_quiet(args.quiet_wait)
    worker_args = [["--max-seconds", str(args.max_seconds)] for _ in range(args.workers)]
    with Children(env, "worker", worker_args, Path(f"{log}-worker")) as workers:
        with measure.MachineLoad(pg_name) as load:
            began = workers.go()
            done, waited = watch(first, last, first_job, began, args.max_seconds)
            workers.stop()
        worker_results = workers.results(timeout=120)
    if not done:
        print(f"throughput: NOT FINISHED within {args.max_seconds:,.0f} s ({waited})")
    ended = finished_at(first_job)
    seconds = max(ended - began, 1e-9)
    print(f"workers: {load.describe()}")
    lock_waits = lock_summary(LOCK_SAMPLES)
    print(f"workers: {lock_waits['text']}")

    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(pg_name) as bare_load_after:
        bare_after = bare_updates(env, first, last, updates, args.workers, Path(f"{log}-bare"))
    print(
        f"bare UPDATE after: {bare_after['per_second']:,.0f}/s from {args.workers} "
        f"processes; " + bare_load_after.describe()
    )
    check = verify(first, last, first_job)
    check["billing_calls"] = Billing.calls - calls_before
    steps = sum(check["events"].get(code, 0) for code in STEP_EVENTS)
    bare_per_second = (bare_before["per_second"] + bare_after["per_second"]) / 2
    return {
        "cases": args.cases,
        "case_ids": [first, last],
        "workers": args.workers,
        "open_seconds": open_seconds,
        "finished": done,
        "seconds": seconds,
        "steps": steps,
        "steps_per_second": steps / seconds,
        "cases_per_second": check["completed"] / seconds,
        "jobs_per_second": check["jobs_done"] / seconds,
        "bare_before": bare_before,
        "bare_after": bare_after,
        "bare_per_second": bare_per_second,
        "ratio": (steps / seconds) / bare_per_second,
        "worker_results": worker_results,
        "lock_waits": lock_waits,
        "check": check,
        "machine_load": load,
        "bare_load": [bare_load_before, bare_load_after],
    }


def watch(
    first: int, last: int, first_job: int, began: float, max_seconds: float
) -> tuple[bool, str]:
    """Until every case of the range is completed and none of their jobs is due any more
    (SLA deadlines are hours away), or the time is up."""
    from django.db import connection

    from casework.kernel import clock

    deadline = began + max_seconds
    samples = LOCK_SAMPLES
    samples.clear()
    LOCK_QUERIES.clear()
    next_report = time.time() + 30
    state = ""
    while time.time() < deadline:
        time.sleep(1.0)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM cases_case WHERE id BETWEEN %s AND %s "
                "AND process_status = 'completed'",
                [first, last],
            )
            completed = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM kernel_job WHERE id > %s AND status = 'queued' "
                "AND next_attempt_at <= %s",
                [first_job, clock.now() + timedelta(minutes=10)],
            )
            due = cursor.fetchone()[0]
            # What the workers' connections are doing right now: waiting for a lock (the
            # event chain head, a case row) or not.
            cursor.execute(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'",
            )
            waiting, active = cursor.fetchone()
            samples.append((waiting, active))
            cursor.execute(
                "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            LOCK_QUERIES.update(row[0] for row in cursor.fetchall())
        connection.close()  # no idle connection holding a snapshot meanwhile
        state = f"{completed:,} of {last - first + 1:,} cases completed, {due:,} jobs due"
        if time.time() >= next_report:
            print(f"  {time.time() - began:7.0f} s  {state}")
            next_report += 30
        if completed == last - first + 1 and due == 0:
            return True, state
    return False, state


def lock_summary(samples: list[tuple[int, int]]) -> dict[str, Any]:
    if not samples:
        return {"samples": 0, "text": "no samples of pg_stat_activity"}
    busy = sum(1 for _waiting, active in samples if active)
    waiting = sum(1 for waiting, _active in samples if waiting)
    mean_active = sum(active for _waiting, active in samples) / len(samples)
    text = (
        f"{len(samples)} samples of pg_stat_activity: a worker connection waited for a lock "
        f"in {waiting / len(samples):.0%} of them; {mean_active:.2f} connections busy on "
        "average"
    )
    queries = "; ".join(f"{n} × {query}" for query, n in LOCK_QUERIES.most_common(3))
    text += f"\n         waiting in: {queries or '–'}"
    return {
        "queries": dict(LOCK_QUERIES.most_common(10)),
        "samples": len(samples),
        "busy_samples": busy,
        "lock_wait_samples": waiting,
        "mean_busy_connections": round(mean_active, 2),
        "text": text,
    }


def finished_at(first_job: int) -> float:
    from django.db.models import Max

    from casework.kernel.models import Job

    last = Job.objects.filter(pk__gt=first_job, status="done").aggregate(at=Max("finished_at"))
    return last["at"].timestamp() if last["at"] else time.time()


def verify(first: int, last: int, first_job: int) -> dict[str, Any]:
    from django.db.models import Count

    from casework.cases.models import Case, Task
    from casework.events.models import Event
    from casework.kernel.models import Job

    cases = Case.objects.filter(pk__gte=first, pk__lte=last)
    events = Event.objects.filter(object_type="case", object_id__gte=first, object_id__lte=last)
    by_code = dict(events.values_list("code").annotate(n=Count("id")).values_list("code", "n"))
    twice = {
        code: events.filter(code=code)
        .values("object_id", "payload__step")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("object_id")
        .distinct()
        .count()
        for code in ONCE_PER_CASE
    }
    completed_events = events.filter(code="case.process_completed").values("object_id").distinct()
    jobs = Job.objects.filter(pk__gt=first_job)
    by_status = dict(jobs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_kind = dict(
        jobs.filter(status="done")
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return {
        "cases": cases.count(),
        "completed": cases.filter(process_status="completed").count(),
        "resolved": cases.filter(status="resolved").count(),
        "stages": dict(
            cases.values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
        ),
        "cases_with_process_completed_event": completed_events.count(),
        "events": by_code,
        "twice": twice,
        "jobs": by_status,
        "jobs_done": by_status.get("done", 0),
        "jobs_done_by_kind": by_kind,
        "jobs_retried": jobs.filter(attempts__gt=1).count(),
        "exception_tasks": Task.objects.filter(
            case_id__gte=first, case_id__lte=last, kind="exception"
        ).count(),
    }


def problems_of(check: dict[str, Any], cases: int) -> list[str]:
    problems = []
    if check["completed"] != cases or check["resolved"] != cases:
        problems.append(
            f"{cases - check['completed']:,} cases not completed, "
            f"{cases - check['resolved']:,} not resolved"
        )
    if check["cases_with_process_completed_event"] != cases:
        problems.append(
            f"{check['cases_with_process_completed_event']:,} cases with a completion event, "
            f"expected {cases:,}"
        )
    for code, n in check["twice"].items():
        if n:
            problems.append(f"{n:,} cases with {code} more than once for one step")
    if check["jobs"].get("failed"):
        problems.append(f"{check['jobs']['failed']:,} jobs failed")
    if check["exception_tasks"]:
        problems.append(f"{check['exception_tasks']:,} exception tasks")
    if check["billing_calls"] != cases:
        problems.append(f"{check['billing_calls']:,} billing calls for {cases:,} cases")
    return problems


# ---------------------------------------------------------------------------------------
# The child processes


def child_main(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection

    from casework.kernel import jobs

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.child == "worker":
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("jobs")
        connection.ensure_connection()
    else:
        connection.ensure_connection()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    cpu_began = time.process_time()
    began = time.time()
    if args.child == "worker":
        ran = passes = empty = 0
        deadline = time.monotonic() + args.max_seconds
        while not stopping and time.monotonic() < deadline:
            count = jobs.run_due()
            passes += 1
            ran += count
            if not count:
                empty += 1
                time.sleep(0.05)
        result: dict[str, Any] = {"jobs": ran, "passes": passes, "empty_passes": empty}
    else:
        result = bare_update_loop(args)
    result.update(
        {"began": began, "ended": time.time(), "cpu_seconds": time.process_time() - cpu_began}
    )
    connection.close()
    print(json.dumps(result), flush=True)


def bare_update_loop(args: argparse.Namespace) -> dict[str, Any]:
    """`--count` UPDATEs of random case rows in the range, one per transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    low, high = (int(value) for value in args.ids.split("-"))
    rng = random.Random(args.seed)
    ids = [rng.randint(low, high) for _ in range(args.count)]
    sql = "UPDATE cases_case SET updated_at = %s WHERE id = %s"
    latencies = []
    clock = time.perf_counter
    with connection.cursor() as cursor:
        for case_id in ids:
            began = clock()
            with transaction.atomic():
                cursor.execute(sql, [timezone.now(), case_id])
            latencies.append(round((clock() - began) * 1000, 4))
    return {"count": len(ids), "latencies_ms": latencies}


# ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument(
        "--latency-cases", type=int, default=1000, help="cases timed one by one, per case type"
    )
    parser.add_argument(
        "--cases", type=int, default=100_000, help="cases for the throughput run (PostgreSQL)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--bare-updates", type=int, default=20_000, help="bare UPDATEs, over all processes"
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="latency only (also on PostgreSQL)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=4 * 3600, help="at most this long for the workers"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the latency cases")
    parser.add_argument("--profile-cases", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--commit", help="measure this commit's source (git archive), not the working tree"
    )
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["worker", "bare-update"], help=argparse.SUPPRESS)
    parser.add_argument("--child-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child_main(args)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups
    dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if args.commit and os.environ.get("CASEWORK_BENCH_SOURCE") is None:
        run_at_commit(args.commit)
    if args.db == "both":
        run_both(args)
        return
    place = Place(args.db)
    with tempfile.TemporaryDirectory(prefix="casework-bench-casetypes-") as folder:
        try:
            result = run(args, place, Path(folder))
        finally:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            if not args.keep:
                place.drop()
                print(f"database {place.url} dropped")
    if args.result_file:
        args.result_file.write_text(json.dumps(result, default=str))


def run_at_commit(revision: str) -> None:
    """Measure the source of a commit (`git archive`), not the working tree: others may be
    half-way through an edit. Runs this script again with that `src` first on the path; the
    workers and `casework migrate` inherit it."""
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


def run_both(args: argparse.Namespace) -> None:
    results = []
    for engine in ("sqlite", "pg"):
        with tempfile.NamedTemporaryFile(suffix=".json") as handle:
            command = [sys.executable, str(Path(__file__).resolve()), "--db", engine]
            for option in ("latency_cases", "cases", "workers", "bare_updates", "max_seconds"):
                command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
            command += ["--profile-cases", str(args.profile_cases)]
            command += ["--commit", args.commit] if args.commit else []
            command += ["--quiet-wait", str(args.quiet_wait), "--result-file", handle.name]
            command += [flag for flag, on in (("--profile", args.profile), ("--keep", args.keep),
                        ("--no-throughput", args.no_throughput)) if on]  # fmt: skip
            completed = subprocess.run(command)
            text = Path(handle.name).read_text()
            if completed.returncode != 0 or not text:
                print(f"\n{engine}: the run failed (exit {completed.returncode})")
                continue
            results.append(json.loads(text))
    print("\n" + "=" * 100 + "\ncase_engine: summary, both databases")
    report.print_table("Summary", ["database", "what", "figure"], [
        (result["engine"], what, figure) for result in results for what, figure in result["summary"]
    ])  # fmt: skip
    report.print_checks(
        [
            report.Check(**{k: v for k, v in check.items() if k != "verdict"})
            for result in results
            for check in result["checks"]
        ]
    )
    if len(results) < 2:
        sys.exit(1)


def run(args: argparse.Namespace, place: Place, casetypes_dir: Path) -> dict[str, Any]:
    with billing_server() as billing:
        env = environment(place, casetypes_dir, billing.server_address[1])
        write_case_types(casetypes_dir)
        migrate_seconds = place.create(env)
        setup_django(env)
        facts = report.machine_facts()
        throughput = args.db == "pg" and not args.no_throughput
        customers = seed(customers_needed(args, throughput))
        report.print_header(
            f"case_engine: straight-through cases end to end, and engine throughput ({args.db})",
            facts,
            {
                "database": f"{place.url} (fresh, migrated in {migrate_seconds:.1f} s)",
                "source": "commit " + os.environ["CASEWORK_BENCH_SOURCE"]
                if "CASEWORK_BENCH_SOURCE" in os.environ
                else "the working tree",
                "case types": f"{SHIPPED_KEY} v1 (shipped; decision → integration → notify → "
                f"done), {BENCH_KEY} v1 (decision → set_data → notify → done)",
                "billing": f"ThreadingHTTPServer on {servers.HOST}:{billing.server_address[1]}",
                "customers": f"{len(customers):,} (gold and silver, contract ending in 60 days, "
                "one per case)",
                "latency": f"{args.latency_cases:,} cases per case type, after "
                f"{WARM_UP_CASES} warm-ups",
                "throughput": f"{args.cases:,} cases, {args.workers} worker processes"
                if throughput
                else "not run",
            },
        )
        return measure_all(args, place, env, customers, facts, throughput)


def measure_all(
    args: argparse.Namespace,
    place: Place,
    env: dict[str, str],
    customers: CustomerPool,
    facts: dict[str, Any],
    throughput: bool,
) -> dict[str, Any]:
    latencies = {}
    for key in (SHIPPED_KEY, BENCH_KEY):
        print(f"\nlatency: {args.latency_cases:,} {key} cases, one after the other")
        latencies[key] = latency_phase(
            key, customers, args.latency_cases, args.quiet_wait, place.pg_name
        )
        print_latency(args.db, latencies[key])
    profiles = {}
    if args.profile:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        report.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for key in (SHIPPED_KEY, BENCH_KEY):
            path = report.RESULTS_DIR / f"case_engine-{args.db}-{key}-{stamp}.prof.txt"
            profiles[key] = profile_phase(key, customers, args.profile_cases, path)

    checks = []
    summary = []
    for key, result in latencies.items():
        resolved = result["resolved"]
        summary.append(
            (
                f"{key}: opening → resolved",
                f"p50 {resolved.p50:.1f} ms, p99 {resolved.p99:.1f} ms; last job p50 "
                f"{result['drained'].p50:.1f} ms; {result['statements_per_case']:.0f} SQL, "
                f"{result['jobs_run_per_case']:.1f} jobs run per case",
            )
        )
        checks.append(
            report.Check(
                f"{key} median opening → resolved ({args.db})", resolved.p50, TARGET_MEDIAN_MS, "ms"
            )
        )
        checks.append(
            report.Check(
                f"{key} cases not completed ({args.db})", len(result["unfinished"]), 0, "cases"
            )
        )

    flow: dict[str, Any] | None = None
    if throughput:
        flow = throughput_phase(env, args, customers, place.pg_name)
        problems = problems_of(flow["check"], args.cases)
        print_throughput(flow, problems)
        summary.append(
            (
                f"throughput, {flow['workers']} workers, {args.cases:,} cases",
                f"{flow['steps_per_second']:,.0f} steps/s ({flow['cases_per_second']:,.1f} "
                f"cases/s); bare UPDATE {flow['bare_per_second']:,.0f}/s; ratio "
                f"{flow['ratio']:.3f}",
            )
        )
        checks.append(
            report.Check(
                "every case completed once, no step twice, no failed job (pg)",
                len(problems),
                0,
                "problems",
            )
        )
        flow["problems"] = problems
    print("\n" + "=" * 100)
    report.print_table(f"case_engine summary ({args.db})", ["what", "figure"], summary)
    report.print_checks(checks)

    def plain(result: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in result.items():
            if isinstance(value, measure.Latency):
                out[name] = value.as_dict()
            elif isinstance(value, measure.MachineLoad):
                out[name] = value.figures
            elif name == "per_pass":
                out[name] = [figures.as_dict() for figures in value]
            elif isinstance(value, list) and value and isinstance(value[0], measure.MachineLoad):
                out[name] = [load.figures for load in value]
            elif isinstance(value, dict) and "latency" in value:
                out[name] = {**value, "latency": value["latency"].as_dict()}
            else:
                out[name] = value
        return out

    data = {
        "benchmark": "case_engine",
        "engine": args.db,
        "facts": facts,
        "latency": {key: plain(result) for key, result in latencies.items()},
        "throughput": plain(flow) if flow else None,
        "profiles": profiles,
        "summary": summary,
        "checks": [check.as_dict() for check in checks],
    }
    report.write_results("case_engine", args.db, data)
    return data


def print_throughput(flow: dict[str, Any], problems: list[str]) -> None:
    check = flow["check"]
    rows = [
        ("cases opened up front", f"{flow['cases']:,} in {flow['open_seconds']:.0f} s"),
        ("workers: go → last job finished, s", round(flow["seconds"], 1)),
        ("step events", check_steps(check)),
        ("engine steps/s", round(flow["steps_per_second"], 1)),
        ("cases completed/s", round(flow["cases_per_second"], 2)),
        ("jobs done/s", round(flow["jobs_per_second"], 1)),
        (
            "bare UPDATE + COMMIT/s, before / after",
            f"{flow['bare_before']['per_second']:,.0f} / {flow['bare_after']['per_second']:,.0f}"
            f" (p50 {flow['bare_before']['latency'].p50:.2f} / "
            f"{flow['bare_after']['latency'].p50:.2f} ms)",
        ),
        ("engine steps/s ÷ bare UPDATEs/s", f"{flow['ratio']:.3f}"),
        (
            "samples with a worker waiting for a lock",
            f"{flow['lock_waits'].get('lock_wait_samples', 0):,} of "
            f"{flow['lock_waits']['samples']:,}",
        ),
    ]
    for index, result in enumerate(flow["worker_results"]):
        if "failed" in result:
            rows.append((f"worker {index + 1}", f"failed (exit {result['failed']})"))
            continue
        rows.append(
            (
                f"worker {index + 1}",
                f"{result['jobs']:,} jobs in {result['passes']:,} passes "
                f"({result['empty_passes']:,} empty), {result['cpu_seconds']:.0f} s CPU",
            )
        )
    report.print_table(
        f"Throughput, PostgreSQL, {flow['workers']} worker processes", ["what", "figure"], rows
    )
    by_kind = check["jobs_done_by_kind"]
    report.print_table(
        "In the database afterwards",
        ["what", "count"],
        [
            ("cases", check["cases"]),
            ("  completed / resolved", f"{check['completed']:,} / {check['resolved']:,}"),
            ("  final stages", ", ".join(f"{k} {v:,}" for k, v in check["stages"].items())),
            ("cases with a completion event", check["cases_with_process_completed_event"]),
            *(
                (f"cases with {code} twice or more for one step", n)
                for code, n in check["twice"].items()
            ),
            ("jobs by status", ", ".join(f"{k} {v:,}" for k, v in check["jobs"].items())),
            ("jobs done by kind", ", ".join(f"{k} {v:,}" for k, v in by_kind.items())),
            ("jobs that needed more than one attempt", check["jobs_retried"]),
            ("exception tasks", check["exception_tasks"]),
            ("billing calls", check["billing_calls"]),
        ],
    )  # fmt: skip
    events = ", ".join(f"{code} {n:,}" for code, n in sorted(check["events"].items()))
    print(f"events of these cases: {events}")
    if problems:
        print("VERIFICATION PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print("verified: every case completed exactly once, no step ran twice, no job failed")


def check_steps(check: dict[str, Any]) -> str:
    steps = sum(check["events"].get(code, 0) for code in STEP_EVENTS)
    per_case = steps / max(check["cases"], 1)
    return f"{steps:,} ({per_case:.2f} per case)"


if __name__ == "__main__":
    main()

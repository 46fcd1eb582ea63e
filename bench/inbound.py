"""Intake throughput with 1M customers: the pipeline in-process, over HTTP, and against the peer.

    .venv/bin/python bench/inbound.py [--db sqlite|pg] [--customers N] [--messages 5000]
                                      [--batch-sizes 50,200] [--http] [--peer]

In-process: messages per second through `casework.intake.services.ingest(InboundMessage(…))`
for a realistic mix (about 70 % known senders, 20 % unknown senders who become new
customers, 10 % replies quoting the reference of a case opened earlier in the run), next to a
bare INSERT of one interaction row per transaction; the ratio of the two per-message costs
has a target of at most 5×. Also the SQL statements per message and a cProfile of the
pipeline. Then the same number of messages through `ingest_batch()` for each of
`--batch-sizes` (one transaction per batch), with the cost per message against the same
bare INSERT.

`--http`: `casework serve --workers 2` on 127.0.0.1, 8 keep-alive clients POST
`/api/v1/inbound` (synchronous: the answer holds the case). Then the same with
`Prefer: respond-async` against the same kind of server plus one `casework worker`: accepted
requests per second (202) and messages per second end to end, from the first POST until the
worker has ingested the last message. `--peer` (implies --http): the django-helpdesk API
benchmark from ../shared/bench/peer (beside the project root) on the same database engine,
run twice: before and after the Casework HTTP runs, because the machine's speed drifts
(the peer's own rate moved from 75 to 100 creations/s within an hour on one machine). Each
Casework figure is divided by the mean of the two peer runs (target at least 10×); the
ratios to the faster and the slower peer run are printed beside it.

Runs on a copy of the cached data set (see dataset.py), dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import corpus
import dataset
import measure
import report
import servers

TARGET_RATIO = 5.0
TARGET_PEER_RATIO = 10.0
# The peer's harness lives beside the project root, in ../shared/bench/peer.
PEER_DIR = Path(
    os.environ.get(
        "CASEWORK_BENCH_PEER_DIR",
        str(Path(__file__).resolve().parents[2] / "shared" / "bench" / "peer"),
    )
)
PEER_PORT = 8765  # bench_api.sh and bench_http.py use their default port
MIX = (("known", 70), ("unknown", 20), ("reply", 10))
EXPECTED_MATCH = {"known": "matched", "unknown": "created"}


# ---------------------------------------------------------------------------------------
# The contacts


@dataclass(frozen=True)
class Contact:
    """One inbound contact, before it becomes an InboundMessage or a JSON body."""

    category: str  # known, unknown, reply
    channel: str
    external_id: str
    sender: tuple[tuple[str, str], ...]  # (kind, value as the channel spelled it)
    sender_name: str
    subject: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)

    def message(self) -> Any:
        from django.utils import timezone

        from casework.intake.messages import InboundMessage, SenderIdentifier

        return InboundMessage(
            channel=self.channel,
            external_id=self.external_id,
            received_at=timezone.now(),
            sender=tuple(SenderIdentifier(kind, value) for kind, value in self.sender),
            sender_name=self.sender_name,
            subject=self.subject,
            text=self.text,
            payload=self.payload,
        )

    def json_body(self) -> bytes:
        return json.dumps(
            {
                "channel": self.channel,
                "external_id": self.external_id,
                "sender": [{"kind": kind, "value": value} for kind, value in self.sender],
                "sender_name": self.sender_name,
                "subject": self.subject,
                "text": self.text,
                "payload": self.payload,
            }
        ).encode()


@dataclass(frozen=True)
class OpenedCase:
    reference: str
    first_contact: Contact


class ContactMix:
    """Draws contacts in the MIX proportions; replies quote cases this run opened. Thread-safe
    (the HTTP clients share one mix)."""

    def __init__(self, seed: int, customers: int) -> None:
        self.rng = random.Random(seed)
        self.customers = customers
        self.lock = threading.Lock()
        self.opened: list[OpenedCase] = []
        self.drawn = 0
        self.unknown_drawn = 0
        self.categories = [name for name, weight in MIX for _ in range(weight)]
        self.run_tag = f"{seed}-{int(time.time())}"

    def next(self) -> Contact:
        with self.lock:
            self.drawn += 1
            category = self.rng.choice(self.categories)
            if category == "reply" and self.opened:
                return self._reply(self.rng.choice(self.opened[-300:]))
            if category == "unknown":
                return self._unknown()
            return self._known()

    def remember_case(self, contact: Contact, reference: str) -> None:
        with self.lock:
            self.opened.append(OpenedCase(reference, contact))

    def _external_id(self, channel: str) -> str:
        if channel == "email":
            return f"<{self.run_tag}.{self.drawn}@mail.example.net>"
        return f"{channel}-{self.run_tag}-{self.drawn}"

    def _contact(self, category: str, channel: str, sender: tuple[str, str], name: str) -> Contact:
        rng = self.rng
        english = rng.random() < 0.2
        if channel == "email":
            subject = corpus.subject(rng, english=english)
            text = corpus.email_body(rng, name, english=english)
            payload = {"to": "service@example-telco.de", "has_html": rng.random() < 0.6}
        else:
            subject, text = "", corpus.call_note(rng)
            payload = {"duration_seconds": rng.randint(20, 900), "line": "hotline"}
        return Contact(
            category, channel, self._external_id(channel), (sender,), name, subject, text, payload
        )

    def _known(self) -> Contact:
        spec = dataset.customer_spec(self.rng.randint(1, self.customers))
        if self.rng.random() < 0.65:
            return self._contact("known", "email", ("email", spec.email_raw), spec.display_name)
        return self._contact("known", "phone", ("phone", spec.phone_raw), spec.display_name)

    def _unknown(self) -> Contact:
        self.unknown_drawn += 1
        rng = self.rng
        first = rng.choice(dataset.FEMALE_NAMES + dataset.MALE_NAMES)
        last = rng.choice(dataset.LAST_NAMES)
        name = f"{first} {last}"
        if rng.random() < 0.7:
            domain = rng.choice(dataset.UNKNOWN_DOMAINS)
            address = f"{dataset.slug(first)}.{dataset.slug(last)}.{self.unknown_drawn}@{domain}"
            return self._contact("unknown", "email", ("email", address), name)
        # The working copy is fresh every run, so numbering within the run is enough.
        _, raw = dataset.mobile_number(self.unknown_drawn, dataset.UNKNOWN_MOBILE_PREFIXES)
        return self._contact("unknown", "phone", ("phone", raw), name)

    def _reply(self, case: OpenedCase) -> Contact:
        first = case.first_contact
        contact = self._contact("reply", first.channel, first.sender[0], first.sender_name)
        if first.channel == "email":
            subject = f"AW: {first.subject or 'Ihre Anfrage'} [{case.reference}]"
            return replace(contact, subject=subject)
        return replace(contact, text=f"Rückruf zu Vorgang {case.reference}: {contact.text}")


# ---------------------------------------------------------------------------------------
# In-process phases


@dataclass
class PipelineRun:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    wall_seconds: float = 0.0
    unexpected: Counter[str] = field(default_factory=Counter)

    @property
    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


def ingest_contact(mix: ContactMix, contact: Contact, run: PipelineRun | None) -> Any:
    from casework.intake.services import ingest

    result = ingest(contact.message())
    if result.is_new_case:
        mix.remember_case(contact, result.case.reference)
    if run is not None:
        expected = EXPECTED_MATCH.get(contact.category)
        if contact.category == "reply" and result.is_new_case:
            run.unexpected["reply opened a new case"] += 1
        elif expected and result.customer_match != expected:
            run.unexpected[f"{contact.category} sender → {result.customer_match}"] += 1
    return result


def run_pipeline(mix: ContactMix, count: int) -> PipelineRun:
    run = PipelineRun()
    clock = time.perf_counter
    started = clock()
    for _ in range(count):
        contact = mix.next()
        began = clock()
        ingest_contact(mix, contact, run)
        run.latencies[contact.category].append(clock() - began)
    run.wall_seconds = clock() - started
    return run


def count_queries(mix: ContactMix, count: int) -> tuple[dict[str, float], list[tuple[str, float]]]:
    per_category: dict[str, list[int]] = defaultdict(list)
    shapes: Counter[str] = Counter()
    for _ in range(count):
        contact = mix.next()
        counter = measure.QueryCounter()
        with counter.installed():
            ingest_contact(mix, contact, None)
        per_category[contact.category].append(counter.total)
        shapes.update(counter.shapes)
    means = {name: sum(values) / len(values) for name, values in per_category.items()}
    means["all"] = sum(sum(v) for v in per_category.values()) / count
    return means, [(shape, n / count) for shape, n in shapes.most_common()]


def profile_pipeline(mix: ContactMix, count: int) -> cProfile.Profile:
    profiler = cProfile.Profile()
    contacts = [mix.next() for _ in range(count)]
    profiler.enable()
    for contact in contacts:
        ingest_contact(mix, contact, None)
    profiler.disable()
    return profiler


def run_api_in_process(
    data: dataset.Dataset, mix: ContactMix, count: int, *, profiled: int
) -> tuple[list[float], float, int, cProfile.Profile]:
    """POST /api/v1/inbound through Django's test client: authentication, validation, the
    pipeline and the response, without an HTTP server. Returns the latencies, the SQL
    statements per request, the number of failed requests, and a profile of `profiled`
    more requests."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {data.token}", HTTP_HOST=servers.HOST)
    latencies, failed, counted = [], 0, 0
    counter = measure.QueryCounter()
    clock = time.perf_counter
    for number in range(count):
        contact = mix.next()
        count_this = number >= count - 100
        began = clock()
        if count_this:
            with counter.installed():
                response = client.post(
                    "/api/v1/inbound", data=contact.json_body(), content_type="application/json"
                )
            counted += 1
        else:
            response = client.post(
                "/api/v1/inbound", data=contact.json_body(), content_type="application/json"
            )
        latencies.append(clock() - began)
        if response.status_code != 201:
            failed += 1
            continue
        answer = response.json()
        if answer["is_new_case"]:
            mix.remember_case(contact, answer["case"]["reference"])
    bodies = [mix.next().json_body() for _ in range(profiled)]
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        client.post("/api/v1/inbound", data=body, content_type="application/json")
    profiler.disable()
    return latencies, counter.total / max(counted, 1), failed, profiler


def run_batches(mix: ContactMix, count: int, size: int) -> PipelineRun:
    """`count` contacts through `ingest_batch()`, `size` per call (one transaction each).
    Latencies are per batch; the cost per message is their sum ÷ `count`."""
    from casework.intake.services import IntakeResult, ingest_batch

    run = PipelineRun()
    clock = time.perf_counter
    done = 0
    while done < count:
        contacts = [mix.next() for _ in range(min(size, count - done))]
        began = clock()
        results = ingest_batch([contact.message() for contact in contacts])
        run.latencies["batch"].append(clock() - began)
        for contact, result in zip(contacts, results, strict=True):
            if not isinstance(result, IntakeResult):
                run.unexpected[f"{contact.category}: {result.code}"] += 1
                continue
            if result.is_new_case:
                mix.remember_case(contact, result.case.reference)
            expected = EXPECTED_MATCH.get(contact.category)
            if contact.category == "reply" and result.is_new_case:
                run.unexpected["reply opened a new case"] += 1
            elif expected and result.customer_match != expected:
                run.unexpected[f"{contact.category} sender → {result.customer_match}"] += 1
        done += len(contacts)
    run.wall_seconds = sum(run.latencies["batch"])
    return run


def count_batch_queries(mix: ContactMix, size: int) -> tuple[float, list[tuple[str, float]]]:
    """SQL statements per message in one `ingest_batch()` of `size` contacts."""
    from casework.intake.services import ingest_batch

    contacts = [mix.next() for _ in range(size)]
    counter = measure.QueryCounter()
    with counter.installed():
        ingest_batch([contact.message() for contact in contacts])
    return counter.total / size, [(shape, n / size) for shape, n in counter.shapes.most_common()]


def run_bare_inserts(count: int, customers: int, case_ids: list[int]) -> list[float]:
    """One interaction row per transaction, the same columns the pipeline writes."""
    from django.db import connection, transaction
    from django.utils import timezone

    ops = connection.ops
    rng = random.Random(7)
    columns = (
        "channel",
        "direction",
        "occurred_at",
        "recorded_at",
        "agent_id",
        "sender",
        "subject",
        "text",
        "payload",
        "external_id",
        "case_id",
        "customer_id",
    )
    sql = (
        f"INSERT INTO interactions_interaction ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    rows = []
    for number in range(count):
        spec = dataset.customer_spec(rng.randint(1, customers))
        now = ops.adapt_datetimefield_value(timezone.now())
        payload = ops.adapt_json_value(
            {"to": "service@example-telco.de", "has_html": True, "customer_match": "matched"}, None
        )
        rows.append(
            (
                "email",
                "inbound",
                now,
                now,
                None,
                f"{spec.display_name} <{spec.email}>",
                corpus.subject(rng),
                corpus.email_body(rng, spec.display_name),
                payload,
                f"<bare-{time.time_ns()}-{number}@mail.example.net>",
                rng.choice(case_ids),
                spec.index,
            )
        )
    latencies = []
    clock = time.perf_counter
    with connection.cursor() as cursor:
        for row in rows:
            began = clock()
            with transaction.atomic():
                cursor.execute(sql, row)
            latencies.append(clock() - began)
    return latencies


# ---------------------------------------------------------------------------------------
# HTTP phases


def run_http(
    data: dataset.Dataset,
    mix: ContactMix,
    *,
    requests: int,
    clients: int,
    log_dir: Path,
    quiet_wait: float,
    asgi: bool,
    threads: int,
) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    headers = {
        "Authorization": f"Bearer {data.token}",
        "Content-Type": "application/json",
        "Host": f"{servers.HOST}",
    }
    unexpected: Counter[str] = Counter()

    def make_request(number: int) -> servers.Request:
        contact = mix.next()
        return servers.Request("POST", "/api/v1/inbound", contact.json_body(), contact)

    def on_response(request: servers.Request, status: int, body: bytes) -> None:
        contact: Contact = request.context
        answer = json.loads(body)
        if answer["is_new_case"]:
            mix.remember_case(contact, answer["case"]["reference"])
        expected = EXPECTED_MATCH.get(contact.category)
        if contact.category == "reply" and answer["is_new_case"]:
            unexpected["reply opened a new case"] += 1
        elif expected and answer["customer_match"] != expected:
            unexpected[f"{contact.category} sender → {answer['customer_match']}"] += 1

    log_path = log_dir / f"server-inbound-{data.target.engine}.log"
    with servers.CaseworkServer(
        dataset.server_environment(data.target),
        workers=2,
        log_path=log_path,
        asgi=asgi,
        threads=threads,
    ) as server:
        probe = servers.Request("GET", "/api/v1/customers/1")
        connections, spread = servers.connect_balanced(server, clients, headers, probe)
        try:
            warmup = servers.run_load(
                port=server.port,
                clients=connections,
                requests=clients * 5,
                headers=headers,
                make_request=make_request,
                on_response=on_response,
            )
            measure.wait_for_quiet(quiet_wait)
            cpu_before = server.worker_cpu()
            load = measure.MachineLoad(data.target.name if data.target.engine == "pg" else None)
            measured_requests = servers.made_in_advance(make_request, requests)
            with load:
                result = servers.run_load(
                    port=server.port,
                    clients=connections,
                    requests=requests,
                    headers=headers,
                    make_request=measured_requests,
                    on_response=on_response,
                )
            cpu_after = server.worker_cpu()
            # The floor: the same server answering 401 to a request without a token (HTTP
            # parsing, middleware, routing; no database, no intake).
            anonymous = servers.Request(
                "GET", "/api/v1/customers/1", headers={"Authorization": None}
            )
            floor = servers.run_load(
                port=server.port,
                clients=connections,
                requests=requests,
                headers=headers,
                make_request=lambda _: anonymous,
                expected=lambda status: status == 401,
            )
        finally:
            servers.close_all(connections)
        server_exceptions = server.logged_exceptions()
    worker_cpu = {pid: round(cpu_after[pid] - cpu_before.get(pid, 0.0), 2) for pid in cpu_after}
    latency = measure.Latency.of(result.latencies)
    return {
        "server": f"casework serve{' --asgi' if asgi else ''} --workers 2",
        "clients": clients,
        "requests": requests,
        "ok": result.ok,
        "completed": result.completed,
        "errors": result.error_count,
        "status_counts": dict(result.status_counts),
        "error_samples": result.errors[:5],
        "error_kinds": _error_kinds(result.errors),
        "server_exceptions": dict(server_exceptions.most_common(10)),
        "warmup_errors": warmup.error_count,
        "wall_seconds": round(result.wall_seconds, 2),
        "requests_per_second": round(result.per_second, 1),
        "latency": latency.as_dict(),
        "worker_cpu_seconds": worker_cpu,
        "client_cpu_seconds": round(result.client_cpu_seconds, 2),
        "connections_per_worker": spread,
        "unexpected_outcomes": dict(unexpected),
        "floor_401": {
            "requests_per_second": round(floor.per_second, 1),
            "latency": measure.Latency.of(floor.latencies).as_dict(),
            "unexpected": floor.error_count,
        },
        "machine_load": load.figures,
        "load_text": load.describe(),
    }


class WorkerProcess:
    """`casework worker` in a child process for the duration of a `with` block, stopped by
    its PID (SIGTERM: it finishes its pass; SIGKILL after 15 s)."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        log_path: Path,
        idle_seconds: float,
        options: tuple[str, ...] = (),
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.idle_seconds = idle_seconds
        self.options = options  # e.g. ("--only", "intake")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProcess:
        command = [str(servers.VENV_BIN / "casework"), "worker"]
        command += ["--idle-seconds", str(self.idle_seconds), *self.options]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        print(f"worker: {' '.join(command[1:])} (pid {self.process.pid}, log {self.log_path})")
        return self

    def cpu_seconds(self) -> float:
        return servers.cpu_seconds(self.process.pid) if self.process else float("nan")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        print(f"worker: stopped (pid {self.process.pid})")


def _worker_cpu(worker: WorkerProcess, rest: WorkerProcess | None) -> dict[str, float]:
    if rest is None:
        return {"worker": worker.cpu_seconds()}
    return {"worker (intake)": worker.cpu_seconds(), "worker (the rest)": rest.cpu_seconds()}


def _queued_left(after_id: int) -> tuple[int, int]:
    """(entries after `after_id` still queued, all entries after it)."""
    from django.db import connections, router

    from casework.intake.models import QueuedMessage

    # On SQLite the queue is a file of its own (casework.intake.dbrouter).
    with connections[router.db_for_read(QueuedMessage)].cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FILTER (WHERE status = 'queued'), COUNT(*) "
            "FROM intake_queuedmessage WHERE id > %s",
            [after_id],
        )
        queued, total = cursor.fetchone()
    return queued, total


def _wait_until_ingested(after_id: int, expected: int, *, max_seconds: float) -> bool:
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        queued, total = _queued_left(after_id)
        if total >= expected and queued == 0:
            return True
        time.sleep(0.05)
    return False


def run_http_async(
    data: dataset.Dataset,
    mix: ContactMix,
    *,
    requests: int,
    clients: int,
    log_dir: Path,
    quiet_wait: float,
    worker_idle_seconds: float,
    threads: int,
    worker_split: bool = False,
) -> dict[str, Any]:
    """`Prefer: respond-async` against `casework serve --workers 2` and one `casework
    worker`: accepted requests per second, and messages per second end to end (from the
    first POST until the worker has ingested the last message)."""
    from django.db import connections

    from casework.intake.models import QueuedMessage
    from casework.interactions.models import Interaction

    connections.close_all()
    headers = {
        "Authorization": f"Bearer {data.token}",
        "Content-Type": "application/json",
        "Host": f"{servers.HOST}",
        "Prefer": "respond-async",
    }
    sent: dict[str, Contact] = {}
    sent_lock = threading.Lock()

    def make_request(number: int) -> servers.Request:
        contact = mix.next()
        with sent_lock:
            sent[contact.external_id] = contact
        return servers.Request("POST", "/api/v1/inbound", contact.json_body(), contact)

    engine = data.target.engine
    env = dataset.server_environment(data.target)
    server_log = log_dir / f"server-inbound-async-{engine}.log"
    worker_log = log_dir / f"worker-inbound-async-{engine}.log"
    with (
        servers.CaseworkServer(env, workers=2, log_path=server_log, threads=threads) as server,
        WorkerProcess(
            env,
            log_path=worker_log,
            idle_seconds=worker_idle_seconds,
            options=("--only", "intake") if worker_split else (),
        ) as worker,
        WorkerProcess(
            env,
            log_path=log_dir / f"worker-rest-inbound-async-{engine}.log",
            idle_seconds=worker_idle_seconds,
            options=("--skip", "intake"),
        )
        if worker_split
        else contextlib.nullcontext() as rest,
    ):
        probe = servers.Request("GET", "/api/v1/customers/1")
        connections_, spread = servers.connect_balanced(server, clients, headers, probe)
        try:
            before_warmup = QueuedMessage.objects.order_by("-id").values_list("id", flat=True)
            warmup_after = before_warmup.first() or 0
            warmup = servers.run_load(
                port=server.port,
                clients=connections_,
                requests=clients * 5,
                headers=headers,
                make_request=make_request,
                expected=lambda status: status == 202,
            )
            _wait_until_ingested(warmup_after, clients * 5, max_seconds=60)
            after_id = QueuedMessage.objects.order_by("-id").values_list("id", flat=True).first()
            after_id = after_id or 0
            connections.close_all()
            measure.wait_for_quiet(quiet_wait)
            cpu_before = {**server.worker_cpu(), **_worker_cpu(worker, rest)}
            load = measure.MachineLoad(data.target.name if engine == "pg" else None)
            measured_requests = servers.made_in_advance(make_request, requests)
            with load:
                started_wall = time.time()
                result = servers.run_load(
                    port=server.port,
                    clients=connections_,
                    requests=requests,
                    headers=headers,
                    make_request=measured_requests,
                    expected=lambda status: status == 202,
                )
                accepted_at = time.perf_counter()
                finished = _wait_until_ingested(after_id, result.ok, max_seconds=600)
                drained_seconds = time.perf_counter() - accepted_at
            cpu_after = {**server.worker_cpu(), **_worker_cpu(worker, rest)}
        finally:
            servers.close_all(connections_)
        server_exceptions = server.logged_exceptions()

    measured = QueuedMessage.objects.filter(id__gt=after_id)
    statuses = Counter(measured.values_list("status", flat=True))
    last = measured.order_by("-processed_at").values_list("processed_at", flat=True).first()
    end_to_end_seconds = (last.timestamp() - started_wall) if last else float("nan")
    unexpected: Counter[str] = Counter()
    rows = list(measured.values_list("external_id", "status", "case_reference", "is_duplicate"))
    by_external_id = {row[0]: row for row in rows}
    matches: dict[str, str] = {}
    external_ids = list(by_external_id)
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        for external_id, payload in Interaction.objects.filter(external_id__in=chunk).values_list(
            "external_id", "payload"
        ):
            matches[external_id] = payload.get("customer_match", "")
    for external_id, (_, status, reference, duplicate) in by_external_id.items():
        contact = sent.get(external_id)
        if contact is None:
            continue
        if status != "ingested":
            unexpected[f"{contact.category}: {status}"] += 1
            continue
        if duplicate:
            unexpected[f"{contact.category}: duplicate"] += 1
        if contact.category == "reply":
            quoted = re.search(r"CW-\d{4}-\d{6}", contact.subject + " " + contact.text)
            if quoted and quoted.group(0) != reference:
                unexpected["reply went to another case"] += 1
        expected = EXPECTED_MATCH.get(contact.category)
        if expected and matches.get(external_id) != expected:
            unexpected[f"{contact.category} sender → {matches.get(external_id)}"] += 1
    cpu = {str(key): round(cpu_after[key] - cpu_before.get(key, 0.0), 2) for key in cpu_after}
    latency = measure.Latency.of(result.latencies)
    return {
        "server": "casework serve --workers 2 + "
        + (
            "casework worker --only intake + casework worker --skip intake"
            if worker_split
            else "casework worker"
        )
        + f" (--idle-seconds {worker_idle_seconds})",
        "clients": clients,
        "requests": requests,
        "accepted": result.ok,
        "errors": result.error_count,
        "status_counts": dict(result.status_counts),
        "error_kinds": _error_kinds(result.errors),
        "server_exceptions": dict(server_exceptions.most_common(10)),
        "warmup_errors": warmup.error_count,
        "accept_seconds": round(result.wall_seconds, 2),
        "accepted_per_second": round(result.per_second, 1),
        "latency": latency.as_dict(),
        "all_ingested": finished,
        "statuses": dict(statuses),
        "drain_seconds_after_last_accept": round(drained_seconds, 2),
        "end_to_end_seconds": round(end_to_end_seconds, 2),
        "end_to_end_per_second": round(statuses.get("ingested", 0) / end_to_end_seconds, 1),
        "cpu_seconds": cpu,
        "client_cpu_seconds": round(result.client_cpu_seconds, 2),
        "connections_per_worker": spread,
        "unexpected_outcomes": dict(unexpected),
        "machine_load": load.figures,
        "load_text": load.describe(),
    }


def _error_kinds(errors: list[tuple[int, str]]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for status, text in errors:
        title = re.search(r"<p>(.*?)</p>", text, re.DOTALL)
        kinds[f"{status}: {' '.join((title.group(1) if title else text).split())[:120]}"] += 1
    return dict(kinds.most_common(10))


def _port_is_free(port: int, *, wait_seconds: float = 15.0) -> bool:
    """Whether a server could listen on `port` (as servers do, with SO_REUSEADDR: the
    connections a stopped server left in TIME_WAIT do not count), waiting a little for a
    server that is still stopping."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((servers.HOST, port))
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
        time.sleep(0.5)


def run_peer(engine: str, *, requests: int, single_requests: int, out_dir: Path) -> dict[str, Any]:
    """The peer's own API benchmark (bench_api.sh): fresh peer DB with 1,000 tickets,
    gunicorn with 2 workers, a 1-client run, then `requests` POSTs from 8 clients."""
    if not (PEER_DIR / "bench_api.sh").exists():
        return {"failed": f"no peer harness in {PEER_DIR}"}
    if not _port_is_free(PEER_PORT):
        return {"failed": f"port {PEER_PORT} (the peer's) is in use"}
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CASEWORK_"))
    }
    env["PEER_RESULTS"] = str(out_dir)
    command = ["bash", str(PEER_DIR / "bench_api.sh"), engine, str(single_requests), str(requests)]
    print(f"peer: {' '.join(command)}  (PEER_RESULTS={out_dir})")
    began = time.perf_counter()
    try:
        completed = subprocess.run(command, cwd="/tmp", env=env, timeout=1800)
    finally:
        # bench_api.sh stops its gunicorn on exit; this covers an interrupted run.
        subprocess.run(
            ["bash", str(PEER_DIR / "serve.sh"), "stop"], cwd="/tmp", env=env, capture_output=True
        )
    if completed.returncode != 0:
        return {"failed": f"bench_api.sh exited with {completed.returncode}"}
    try:
        concurrent = json.loads((out_dir / f"api-{engine}-c8.json").read_text())
        single = json.loads((out_dir / f"api-{engine}-c1.json").read_text())
    except (OSError, ValueError) as error:
        return {"failed": f"no peer result: {error}"}
    return {"c8": concurrent, "c1": single, "seconds": round(time.perf_counter() - began, 1)}


def bracketing_peer(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The peer's runs before and after ours as one baseline: the mean of their
    8-client creations/s (a failed run fails the baseline)."""
    failed = [run["failed"] for run in runs if "failed" in run]
    if failed or not runs:
        return {"failed": "; ".join(failed) or "the peer did not run", "runs": runs}
    concurrent = [run["c8"] for run in runs]
    rates = [c8["creates_per_s"] for c8 in concurrent]
    return {
        "c8": {
            "creates_per_s": round(statistics.fmean(rates), 1),
            "latency_median_ms": round(
                statistics.fmean(c8["latency_median_ms"] for c8 in concurrent), 1
            ),
            "non_201": sum(c8["requested"] - c8["ok_201"] for c8 in concurrent),
        },
        "creates_per_s_each": rates,
        "runs": runs,
    }


def _ratio_range(figure: float, peer_rates: list[float]) -> str:
    return f"{figure / max(peer_rates):.1f}–{figure / min(peer_rates):.1f}× against each peer run"


# ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--customers", type=int, default=dataset.DEFAULT_CUSTOMERS)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--http", action="store_true", help="also measure over HTTP")
    parser.add_argument("--peer", action="store_true", help="also run the peer (implies --http)")
    parser.add_argument("--http-requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--peer-single-requests",
        type=int,
        default=300,
        help="the peer script's 1-client run before its 8-client run",
    )
    parser.add_argument("--profile-messages", type=int, default=300)
    parser.add_argument(
        "--batch-sizes",
        type=lambda text: [int(part) for part in text.split(",") if part],
        default=[50, 200],
        help="ingest_batch() sizes to measure in-process, comma-separated",
    )
    parser.add_argument(
        "--async-requests",
        type=int,
        default=0,
        help="requests of the respond-async HTTP run (default: --http-requests)",
    )
    parser.add_argument(
        "--worker-idle-seconds",
        type=float,
        default=1.0,
        help="`casework worker --idle-seconds` for the respond-async HTTP run (default: the "
        "worker's own; the intake queue is looked at every 0.1 s whatever it is)",
    )
    parser.add_argument(
        "--worker-split",
        action="store_true",
        help="two workers in the respond-async run: `--only intake` and `--skip intake`",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--asgi", action="store_true", help="serve with `casework serve --asgi` (uvicorn)"
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=1,
        help="`casework serve --threads`: requests each server process runs at a time",
    )
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data set")
    parser.add_argument("--keep", action="store_true", help="keep the working copy")
    args = parser.parse_args()
    args.http = args.http or args.peer
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups
    data = dataset.prepare(args.db, args.customers, rebuild=args.rebuild, copy="inbound")
    try:
        run(args, data)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            dataset.drop(data.target)
            print(f"data set: working copy {data.target.name} dropped")


def _latency_row(name: str, latency: measure.Latency, statements: float) -> tuple[Any, ...]:
    return (name, latency.n, latency.mean, latency.p50, latency.p95, latency.p99, statements)


def run(args: argparse.Namespace, data: dataset.Dataset) -> None:
    facts = report.machine_facts()
    report.print_header(
        f"inbound: intake pipeline throughput ({args.db})",
        facts,
        {
            "database": f"{data.url} (copy of {data.base.name})",
            "data set": f"{data.customers:,} customers, {3 * data.customers:,} identifiers",
            "messages": f"{args.messages:,} in-process (mix "
            + ", ".join(f"{name} {weight} %" for name, weight in MIX)
            + ")"
            + (
                f"; {args.http_requests:,} over HTTP from {args.clients} clients"
                if args.http
                else ""
            ),
        },
    )
    from casework.cases.models import Case

    engine_db = data.target.name if args.db == "pg" else None
    mix = ContactMix(args.seed, data.customers)
    warmup = run_pipeline(mix, 100)
    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(engine_db) as pipeline_load:
        pipeline = run_pipeline(mix, args.messages)
    queries, shapes = count_queries(mix, min(300, args.messages))
    profiler = profile_pipeline(mix, args.profile_messages)
    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(engine_db) as api_load:
        api_latencies, api_queries, api_failed, api_profiler = run_api_in_process(
            data, mix, 500, profiled=args.profile_messages
        )
    batches: dict[int, dict[str, Any]] = {}
    for size in args.batch_sizes:
        measure.wait_for_quiet(args.quiet_wait)
        with measure.MachineLoad(engine_db) as batch_load:
            batch_run = run_batches(mix, args.messages, size)
        per_message_sql, batch_shapes = count_batch_queries(mix, size)
        batches[size] = {
            "run": batch_run,
            "load": batch_load,
            "sql_per_message": per_message_sql,
            "shapes": batch_shapes,
        }
    case_ids = list(Case.objects.order_by("-id").values_list("id", flat=True)[:1000])
    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(engine_db) as bare_load:
        bare = run_bare_inserts(args.messages, data.customers, case_ids)

    all_latency = measure.Latency.of(pipeline.all_latencies)
    bare_latency = measure.Latency.of(bare)
    messages_per_second = args.messages / pipeline.wall_seconds
    inserts_per_second = len(bare) / sum(bare)
    ratio = all_latency.mean / bare_latency.mean

    print("\nIn-process pipeline: " + pipeline_load.describe())
    print("API via test client: " + api_load.describe())
    print("Bare inserts:        " + bare_load.describe())
    for size, batch in batches.items():
        print(f"ingest_batch({size}):  " + batch["load"].describe())
        if batch["run"].unexpected:
            print(f"ingest_batch({size}) UNEXPECTED OUTCOMES: {dict(batch['run'].unexpected)}")
        # Per message: the batch's cost spread over its messages.
        batch["per_message_ms"] = 1000 * batch["run"].wall_seconds / args.messages
        batch["ratio"] = batch["per_message_ms"] / bare_latency.mean
        batch["latency"] = measure.Latency.of(batch["run"].latencies["batch"])
    if api_failed:
        print(f"API via test client: {api_failed} requests did not answer 201")
    if pipeline.unexpected or warmup.unexpected:
        print(f"UNEXPECTED OUTCOMES: {dict(pipeline.unexpected + warmup.unexpected)}")
    api_latency = measure.Latency.of(api_latencies)
    rows = [
        _latency_row(
            f"ingest: {category}",
            measure.Latency.of(pipeline.latencies[category]),
            queries.get(category, float("nan")),
        )
        for category, _ in MIX
    ]
    rows += [
        _latency_row("ingest: all", all_latency, queries["all"]),
        _latency_row("API POST, Django test client", api_latency, api_queries),
    ]
    rows += [
        (
            f"ingest_batch({size}): per message",
            args.messages,
            batch["per_message_ms"],
            float("nan"),
            float("nan"),
            float("nan"),
            batch["sql_per_message"],
        )
        for size, batch in batches.items()
    ]
    rows += [
        _latency_row("bare INSERT + COMMIT", bare_latency, 1.0),
    ]
    report.print_table(
        f"In-process, ms per message ({args.db}, {data.customers:,} customers)",
        ["operation", "n", "mean", "p50", "p95", "p99", "SQL/msg"],
        rows,
    )
    report.print_table(
        f"SQL statements per message (average over {min(300, args.messages)} messages)",
        ["statement", "per message"],
        [(shape, per) for shape, per in shapes if per >= 0.05],
    )
    top_cumulative = measure.profile_top(profiler, sort="cumulative", limit=35)
    top_own = measure.profile_top(profiler, sort="tottime", limit=20)
    print(f"\ncProfile of {args.profile_messages} ingest() calls, by cumulative time:")
    print(top_cumulative)
    print(f"\ncProfile of {args.profile_messages} ingest() calls, by own time:")
    print(top_own)
    print(
        f"\ncProfile of {args.profile_messages} POST /api/v1/inbound through the test client, "
        "by cumulative time:"
    )
    print(measure.profile_top(api_profiler, sort="cumulative", limit=40))

    http_result: dict[str, Any] | None = None
    async_result: dict[str, Any] | None = None
    peer_runs: list[dict[str, Any]] = []
    log_dir = dataset.CACHE_DIR

    def measure_peer() -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        peer_runs.append(
            run_peer(
                args.db,
                requests=args.http_requests,
                single_requests=args.peer_single_requests,
                out_dir=dataset.CACHE_DIR / f"peer-results-{stamp}",
            )
        )

    if args.peer:
        measure_peer()  # before ours; again after them (see the module's docstring)
    if args.http:
        http_result = run_http(
            data,
            mix,
            requests=args.http_requests,
            clients=args.clients,
            log_dir=log_dir,
            quiet_wait=args.quiet_wait,
            asgi=args.asgi,
            threads=args.server_threads,
        )
        async_result = run_http_async(
            data,
            mix,
            requests=args.async_requests or args.http_requests,
            clients=args.clients,
            log_dir=log_dir,
            quiet_wait=args.quiet_wait,
            worker_idle_seconds=args.worker_idle_seconds,
            threads=args.server_threads,
            worker_split=args.worker_split,
        )
    if args.peer:
        measure_peer()
    peer_result = bracketing_peer(peer_runs) if args.peer else None

    print("\n" + "=" * 100)
    summary = [
        (
            "in-process ingest",
            f"{messages_per_second:,.1f} msg/s",
            f"mean {all_latency.mean:.2f} ms, p95 {all_latency.p95:.2f} ms, "
            f"{queries['all']:.1f} SQL/msg",
        ),
        (
            "bare INSERT + COMMIT",
            f"{inserts_per_second:,.0f} rows/s",
            f"mean {bare_latency.mean:.3f} ms",
        ),
        ("pipeline ÷ bare insert", f"{ratio:.1f}×", "per-message cost ratio"),
    ]
    checks = [report.Check(f"pipeline cost ÷ bare insert ({args.db})", ratio, TARGET_RATIO, "×")]
    for size, batch in batches.items():
        latency = batch["latency"]
        summary.append(
            (
                f"in-process ingest_batch({size})",
                f"{1000 / batch['per_message_ms']:,.1f} msg/s",
                f"{batch['per_message_ms']:.3f} ms per message, {batch['sql_per_message']:.1f} "
                f"SQL/msg; per batch p50 {latency.p50:.0f} ms, p95 {latency.p95:.0f} ms",
            )
        )
        summary.append(
            (f"ingest_batch({size}) ÷ bare insert", f"{batch['ratio']:.1f}×", "per message")
        )
        checks.append(
            report.Check(
                f"ingest_batch({size}) cost per message ÷ bare insert ({args.db})",
                batch["ratio"],
                TARGET_RATIO,
                "×",
            )
        )
    if http_result:
        lat = http_result["latency"]
        summary.append(
            (
                f"Casework HTTP POST /api/v1/inbound{' (--asgi)' if args.asgi else ''}",
                f"{http_result['requests_per_second']} req/s",
                f"{args.clients} clients, p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, "
                f"errors {http_result['errors']}",
            )
        )
        checks.append(report.Check(f"HTTP errors ({args.db})", http_result["errors"], 0, ""))
        floor = http_result["floor_401"]
        summary.append(
            (
                "same server, GET without token → 401",
                f"{floor['requests_per_second']} req/s",
                f"the stack's floor: HTTP, middleware, routing; p50 "
                f"{floor['latency']['p50_ms']:.1f} ms",
            )
        )
        print(f"HTTP: {http_result['load_text']}")
        print(
            f"HTTP: worker CPU seconds during the run: {http_result['worker_cpu_seconds']}; "
            f"the clients' {http_result['client_cpu_seconds']}"
        )
        spread = http_result["connections_per_worker"]
        if spread["final"]:
            print(
                f"HTTP: keep-alive connections per worker: first try {spread['first_attempt']}, "
                f"used {spread['final']} ({spread['reconnects']} reconnects)"
            )
        else:
            print("HTTP: the server closes each connection after its response (no keep-alive)")
        if http_result["completed"] < http_result["requests"]:
            print(
                f"HTTP: only {http_result['completed']} of {http_result['requests']} requests "
                "completed within the time limit"
            )
        if http_result["errors"]:
            print(f"HTTP ERRORS: {http_result['status_counts']}")
            for kind, count in http_result["error_kinds"].items():
                print(f"  {count:>5} × {kind}")
            print("HTTP: exceptions in the server log:")
            for line, count in http_result["server_exceptions"].items():
                print(f"  {count:>5} × {line}")
        if http_result["unexpected_outcomes"]:
            print(f"HTTP unexpected outcomes: {http_result['unexpected_outcomes']}")
        if args.db == "sqlite":
            print(
                "HTTP: SQLite allows one writer at a time: the 2 server processes queue on the "
                "database lock (IMMEDIATE transactions, 30 s busy timeout). Expected."
            )
    if async_result:
        lat = async_result["latency"]
        summary.append(
            (
                "Casework HTTP POST /api/v1/inbound, Prefer: respond-async",
                f"{async_result['accepted_per_second']} req/s accepted",
                f"{args.clients} clients, p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, "
                f"errors {async_result['errors']}",
            )
        )
        summary.append(
            (
                "… end to end (first POST → last message ingested by the worker)",
                f"{async_result['end_to_end_per_second']} msg/s",
                f"{async_result['end_to_end_seconds']} s for {async_result['accepted']} messages;"
                f" drained {async_result['drain_seconds_after_last_accept']} s after the last "
                f"202; statuses {async_result['statuses']}",
            )
        )
        checks.append(report.Check(f"async HTTP errors ({args.db})", async_result["errors"], 0, ""))
        print(f"HTTP async: {async_result['load_text']}")
        print(
            f"HTTP async: CPU seconds during the run: {async_result['cpu_seconds']}; "
            f"the clients' while posting {async_result['client_cpu_seconds']}"
        )
        if not async_result["all_ingested"]:
            print("HTTP async: NOT ALL MESSAGES WERE INGESTED within the time limit")
        if async_result["errors"]:
            print(f"HTTP async ERRORS: {async_result['status_counts']}")
            for kind, count in async_result["error_kinds"].items():
                print(f"  {count:>5} × {kind}")
        if async_result["server_exceptions"]:
            print(f"HTTP async: exceptions in the server log: {async_result['server_exceptions']}")
        if async_result["unexpected_outcomes"]:
            print(f"HTTP async unexpected outcomes: {async_result['unexpected_outcomes']}")
    if peer_result is not None:
        if "failed" in peer_result:
            summary.append(("peer (django-helpdesk) API create", "failed", peer_result["failed"]))
            checks.append(
                report.Check(
                    f"Casework ÷ peer req/s ({args.db})",
                    float("nan"),
                    TARGET_PEER_RATIO,
                    "×",
                    at_most=False,
                )
            )
        else:
            c8 = peer_result["c8"]
            rates = peer_result["creates_per_s_each"]
            peer_ratio = http_result["requests_per_second"] / c8["creates_per_s"]
            summary.append(
                (
                    "peer POST /api/tickets/ (8 clients)",
                    f"{c8['creates_per_s']} creates/s",
                    f"mean of the runs before and after ours ({' / '.join(map(str, rates))}); "
                    f"p50 {c8['latency_median_ms']} ms, non-201 {c8['non_201']}",
                )
            )
            summary.append(
                (
                    "Casework ÷ peer",
                    f"{peer_ratio:.1f}×",
                    "HTTP requests per second; "
                    + _ratio_range(http_result["requests_per_second"], rates),
                )
            )
            checks.append(
                report.Check(
                    f"Casework ÷ peer req/s ({args.db})",
                    peer_ratio,
                    TARGET_PEER_RATIO,
                    "×",
                    at_most=False,
                )
            )
            if async_result:
                for label, figure in (
                    ("async accepted req/s", async_result["accepted_per_second"]),
                    ("async end-to-end msg/s", async_result["end_to_end_per_second"]),
                ):
                    async_ratio = figure / c8["creates_per_s"]
                    summary.append(
                        (
                            f"Casework {label} ÷ peer",
                            f"{async_ratio:.1f}×",
                            _ratio_range(figure, rates),
                        )
                    )
                    checks.append(
                        report.Check(
                            f"Casework {label} ÷ peer ({args.db})",
                            async_ratio,
                            TARGET_PEER_RATIO,
                            "×",
                            at_most=False,
                        )
                    )
    report.print_table(f"inbound summary ({args.db})", ["what", "figure", "details"], summary)
    report.print_checks(checks)

    stamp = time.strftime("%Y%m%dT%H%M%S")
    profile_path = report.RESULTS_DIR / f"inbound-{args.db}-{stamp}.prof.txt"
    report.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    profile_path.write_text(measure.profile_full(profiler))
    api_profile_path = report.RESULTS_DIR / f"inbound-{args.db}-{stamp}.api.prof.txt"
    api_profile_path.write_text(measure.profile_full(api_profiler))
    report.write_results(
        "inbound",
        args.db,
        {
            "benchmark": "inbound",
            "engine": args.db,
            "facts": facts,
            "dataset": {key: value for key, value in data.meta.items() if key != "token"},
            "messages": args.messages,
            "mix": dict(MIX),
            "pipeline": {
                "messages_per_second": round(messages_per_second, 1),
                "latency_all": all_latency.as_dict(),
                "latency_by_category": {
                    name: measure.Latency.of(values).as_dict()
                    for name, values in pipeline.latencies.items()
                },
                "queries_per_message": {k: round(v, 2) for k, v in queries.items()},
                "statements_per_message": {k: round(v, 2) for k, v in shapes},
                "unexpected_outcomes": dict(pipeline.unexpected),
                "machine_load": pipeline_load.figures,
                "profile_file": str(profile_path.relative_to(report.REPO_DIR)),
            },
            "api_test_client": {
                "latency": api_latency.as_dict(),
                "queries_per_request": round(api_queries, 2),
                "failed": api_failed,
                "machine_load": api_load.figures,
                "profile_file": str(api_profile_path.relative_to(report.REPO_DIR)),
            },
            "bare_insert": {
                "rows_per_second": round(inserts_per_second, 1),
                "latency": bare_latency.as_dict(),
                "machine_load": bare_load.figures,
            },
            "ratio_pipeline_to_bare": round(ratio, 2),
            "batches": {
                str(size): {
                    "per_message_ms": round(batch["per_message_ms"], 4),
                    "ratio_to_bare": round(batch["ratio"], 2),
                    "sql_per_message": round(batch["sql_per_message"], 2),
                    "statements_per_message": {k: round(v, 3) for k, v in batch["shapes"]},
                    "batch_latency": batch["latency"].as_dict(),
                    "unexpected_outcomes": dict(batch["run"].unexpected),
                    "machine_load": batch["load"].figures,
                }
                for size, batch in batches.items()
            },
            "http": http_result,
            "http_async": async_result,
            "peer": peer_result,
            "checks": [check.as_dict() for check in checks],
        },
    )


if __name__ == "__main__":
    main()

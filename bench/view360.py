"""The customer 360° view of a customer with 500 interactions, among 1M customers.

    .venv/bin/python bench/view360.py [--db sqlite|pg] [--customers N] [--requests 200]

Gives one existing customer a history of 500 interactions on five channels (e-mail, phone,
chat, portal, letter) in about 100 cases, most of them resolved, through the intake pipeline
itself, plus contracts, a payment method, consents and interests; other customers get
background interactions in bulk. Then measures:

(a) `casework.customers.queries.customer_360(actor, id)` in-process,
(b) GET /api/v1/customers/{id}/360 through the Django test client (no HTTP server), and
(c) the same GET through `casework serve --workers 2` over loopback, one keep-alive client.

Target: p95 ≤ 50 ms. Also prints the SQL statements per view. Runs on a copy of the cached
data set, dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
from datetime import timedelta
from typing import Any

import corpus
import dataset
import measure
import report
import servers

TARGET_P95_MS = 50.0
HISTORY = 500
CASES = 100
OPEN_CASES = 6
CHANNEL_WEIGHTS = (("email", 40), ("phone", 25), ("chat", 15), ("portal", 10), ("letter", 10))
WARMUP = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--customers", type=int, default=dataset.DEFAULT_CUSTOMERS)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--background-interactions", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--asgi", action="store_true", help="serve with `casework serve --asgi` (uvicorn)"
    )
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data set")
    parser.add_argument("--keep", action="store_true", help="keep the working copy")
    return parser.parse_args()


# ---------------------------------------------------------------------------------------
# The customer's history


def add_background_interactions(count: int, customers: int, skip: int, seed: int) -> float:
    """Interactions of other customers, in bulk (an import would bring them like this)."""
    from django.db import connection, transaction
    from django.utils import timezone

    started = time.perf_counter()
    rng = random.Random(seed)
    ops = connection.ops
    now = timezone.now()
    columns = (
        "channel",
        "direction",
        "occurred_at",
        "recorded_at",
        "sender",
        "subject",
        "text",
        "payload",
    )
    channels = [name for name, weight in CHANNEL_WEIGHTS for _ in range(weight)]
    sql = (
        f"INSERT INTO interactions_interaction ({', '.join(columns)}, customer_id) "
        f"VALUES ({', '.join(['%s'] * (len(columns) + 1))})"
    )
    payload = ops.adapt_json_value({}, None)
    done = 0
    while done < count:
        rows = []
        for _ in range(min(20_000, count - done)):
            index = rng.randint(1, customers)
            if index == skip:
                continue
            channel = rng.choice(channels)
            when = ops.adapt_datetimefield_value(now - timedelta(minutes=rng.randint(0, 1.5e6)))
            text = corpus.call_note(rng) if channel == "phone" else corpus.chat_line(rng)
            rows.append(
                (channel, "inbound", when, when, "", corpus.subject(rng), text, payload, index)
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        done += len(rows) or 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE interactions_interaction")
    return time.perf_counter() - started


def build_history(spec: dataset.CustomerSpec, seed: int) -> dict[str, Any]:
    """HISTORY interactions in CASES cases through `ingest`, all but OPEN_CASES resolved;
    two contracts, a payment method, consents and interests through the services."""
    from django.utils import timezone

    from casework.cases.models import Case
    from casework.cases.services import resolve_case
    from casework.customers import services as customer_services
    from casework.customers.models import Customer
    from casework.intake.messages import InboundMessage, SenderIdentifier
    from casework.intake.services import ingest
    from casework.kernel.actors import Actor

    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    plan = []  # (when, case number)
    sizes = [1] * CASES
    for _ in range(HISTORY - CASES):
        sizes[min(int(rng.expovariate(1 / 18)), CASES - 1)] += 1
    for case_number, size in enumerate(sizes):
        when = now - timedelta(days=rng.uniform(5, 3 * 365))
        for _ in range(size):
            plan.append((when, case_number))
            when = min(when + timedelta(hours=rng.uniform(1, 96)), now - timedelta(minutes=1))
    plan.sort()
    channels = [name for name, weight in CHANNEL_WEIGHTS for _ in range(weight)]
    references: dict[int, str] = {}
    by_channel: dict[str, int] = {}
    for number, (when, case_number) in enumerate(plan):
        channel = rng.choice(channels)
        by_channel[channel] = by_channel.get(channel, 0) + 1
        reference = references.get(case_number)
        subject = corpus.subject(rng)
        if reference and channel in ("email", "chat", "portal"):
            subject = f"AW: {subject} [{reference}]"
        text = {
            "email": corpus.email_body(rng, spec.display_name),
            "phone": corpus.call_note(rng),
            "chat": corpus.chat_line(rng),
            "portal": corpus.chat_line(rng),
            "letter": corpus.email_body(rng, spec.display_name),
        }[channel]
        if reference and channel in ("phone", "letter"):
            text = f"Bezug: {reference}. {text}"
        sender: tuple[SenderIdentifier, ...] = ()
        if channel in ("email", "chat"):
            sender = (SenderIdentifier("email", spec.email_raw),)
        elif channel == "phone":
            sender = (SenderIdentifier("phone", spec.phone_raw),)
        elif channel == "portal":
            sender = (SenderIdentifier("customer_number", spec.customer_number),)
        result = ingest(
            InboundMessage(
                channel=channel,
                external_id=f"history-{seed}-{number}",
                received_at=when,
                sender=sender,
                sender_name=spec.display_name,
                subject="" if channel == "phone" else subject,
                text=text,
                customer_id=spec.index if channel == "letter" else None,
            )
        )
        references.setdefault(case_number, result.case.reference)
        if result.case.customer_id != spec.index:
            raise SystemExit(
                f"history message {number} landed on customer {result.case.customer_id}"
            )
    actor = Actor.system("bench")
    cases = list(Case.objects.filter(customer_id=spec.index).order_by("last_activity_at"))
    for case in cases[:-OPEN_CASES]:
        resolve_case(case, resolution_code=dataset.RESOLUTION_CODE, note="erledigt", actor=actor)
    customer = Customer.objects.get(pk=spec.index)
    for number, start in enumerate(("2019-04-01", "2023-09-15")):
        customer_services.add_contract(
            customer,
            customer_services.NewContract(
                product_code=dataset.PRODUCT_CODE, start_date=start, contract_number=f"V-B-{number}"
            ),
            actor=actor,
        )
    customer_services.add_payment_method(
        customer,
        customer_services.NewPaymentMethod(
            kind="direct_debit", account_holder=spec.display_name, iban="DE89370400440532013000"
        ),
        actor=actor,
    )
    for purpose in ("marketing_email", "marketing_phone", "profiling"):
        customer_services.record_consent(
            customer, purpose, is_granted=rng.random() < 0.5, source="portal", actor=actor
        )
    for tag in ("fiber", "roaming"):
        customer_services.record_interest(customer, tag, source="chat", actor=actor)
    return {
        "interactions": len(plan),
        "cases": len(cases),
        "open_cases": min(OPEN_CASES, len(cases)),
        "by_channel": by_channel,
        "seconds": round(time.perf_counter() - started, 1),
    }


# ---------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups
    data = dataset.prepare(args.db, args.customers, rebuild=args.rebuild, copy="view360")
    try:
        run(args, data)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            dataset.drop(data.target)
            print(f"data set: working copy {data.target.name} dropped")


def run(args: argparse.Namespace, data: dataset.Dataset) -> None:
    from django.db import connections
    from django.test import Client

    from casework.customers.queries import customer_360
    from casework.interactions.models import Interaction
    from casework.routing.models import Agent
    from casework.routing.queries import actor_for_agent

    facts = report.machine_facts()
    spec = dataset.customer_spec(data.customers // 2 + 1)
    report.print_header(
        f"view360: the customer 360° view ({args.db})",
        facts,
        {
            "database": f"{data.url} (copy of {data.base.name})",
            "data set": f"{data.customers:,} customers; customer {spec.index} "
            f"({spec.display_name}) gets {HISTORY} interactions in {CASES} cases",
            "requests": f"{args.requests} per measurement after {WARMUP} warm-ups",
        },
    )
    background_seconds = add_background_interactions(
        args.background_interactions, data.customers, spec.index, args.seed
    )
    print(
        f"background: {args.background_interactions:,} interactions of other customers in "
        f"{background_seconds:.1f} s"
    )
    history = build_history(spec, args.seed)
    print(
        f"history: {history['interactions']} interactions ({history['by_channel']}) in "
        f"{history['cases']} cases, {history['open_cases']} open, made through ingest() in "
        f"{history['seconds']} s; interactions in the table: "
        f"{Interaction.objects.count():,}"
    )

    actor = actor_for_agent(Agent.objects.select_related("user").get(user__username="bench-agent"))
    engine_db = data.target.name if args.db == "pg" else None
    clock = time.perf_counter

    # (a) the read model in-process
    for _ in range(WARMUP):
        customer_360(actor, spec.index)
    measure.wait_for_quiet(args.quiet_wait)
    in_process: list[float] = []
    with measure.MachineLoad(engine_db) as load_a:
        for _ in range(args.requests):
            began = clock()
            view = customer_360(actor, spec.index)
            in_process.append(clock() - began)
    counter_a = measure.QueryCounter()
    with counter_a.installed():
        view = customer_360(actor, spec.index)
    shown = (len(view.timeline.entries), view.timeline.has_next, len(view.open_cases))

    # (b) the API view through Django's test client: routing, auth, serialising; no server
    path = f"/api/v1/customers/{spec.index}/360"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {data.token}", HTTP_HOST=servers.HOST)
    for _ in range(WARMUP):
        client.get(path)
    measure.wait_for_quiet(args.quiet_wait)
    through_django: list[float] = []
    statuses: dict[int, int] = {}
    with measure.MachineLoad(engine_db) as load_b:
        for _ in range(args.requests):
            began = clock()
            response = client.get(path)
            through_django.append(clock() - began)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    counter_b = measure.QueryCounter()
    with counter_b.installed():
        response = client.get(path)
    body_bytes = len(response.content)
    timeline_entries = len(json.loads(response.content)["timeline"]["entries"])

    # (c) over HTTP
    connections.close_all()
    headers = {"Authorization": f"Bearer {data.token}", "Host": servers.HOST}
    log_path = dataset.CACHE_DIR / f"server-view360-{args.db}.log"
    server_kind = "serve --asgi" if args.asgi else "serve"
    with servers.CaseworkServer(
        dataset.server_environment(data.target), workers=2, log_path=log_path, asgi=args.asgi
    ) as server:
        request = servers.Request("GET", path)
        servers.run_load(
            port=server.port,
            clients=1,
            requests=WARMUP,
            headers=headers,
            make_request=lambda _: request,
        )
        measure.wait_for_quiet(args.quiet_wait)
        with measure.MachineLoad(engine_db) as load_c:
            over_http = servers.run_load(
                port=server.port,
                clients=1,
                requests=args.requests,
                headers=headers,
                make_request=lambda _: request,
            )

    a, b, c = (
        measure.Latency.of(values) for values in (in_process, through_django, over_http.latencies)
    )
    print(f"\n(a) {load_a.describe()}\n(b) {load_b.describe()}\n(c) {load_c.describe()}")
    print(
        f"view: {shown[0]} timeline entries shown (more pages: {shown[1]}), "
        f"{shown[2]} open cases; API response {body_bytes:,} bytes, {timeline_entries} entries"
    )
    if over_http.error_count or set(statuses) != {200}:
        print(f"ERRORS: test client {statuses}; HTTP {dict(over_http.status_counts)}")
        for status, text in over_http.errors[:5]:
            print(f"  {status}: {text}")
    report.print_table(
        "SQL statements per view",
        ["statement", "customer_360()", "API request"],
        [
            (shape, counter_a.shapes.get(shape, 0), counter_b.shapes.get(shape, 0))
            for shape in sorted(set(counter_a.shapes) | set(counter_b.shapes))
        ]
        + [("total", counter_a.total, counter_b.total)],
    )
    report.print_table(
        f"360 view latency in ms ({args.db}, {data.customers:,} customers, {HISTORY} interactions)",
        ["measurement", "n", "p50", "p95", "p99", "max", "SQL/view", "errors"],
        [
            ("(a) customer_360() in-process", a.n, a.p50, a.p95, a.p99, a.max, counter_a.total, 0),
            (
                "(b) GET …/360, Django test client",
                b.n,
                b.p50,
                b.p95,
                b.p99,
                b.max,
                counter_b.total,
                sum(n for s, n in statuses.items() if s != 200),
            ),
            (
                f"(c) GET …/360 over HTTP ({server_kind})",
                c.n,
                c.p50,
                c.p95,
                c.p99,
                c.max,
                counter_b.total,
                over_http.error_count,
            ),
        ],
    )
    checks = [
        report.Check(f"customer_360() p95 in-process ({args.db})", a.p95, TARGET_P95_MS, "ms"),
        report.Check(f"GET /360 p95 over HTTP ({args.db})", c.p95, TARGET_P95_MS, "ms"),
        report.Check(f"HTTP errors ({args.db})", over_http.error_count, 0, ""),
    ]
    report.print_checks(checks)
    report.write_results(
        "view360",
        args.db,
        {
            "benchmark": "view360",
            "engine": args.db,
            "facts": facts,
            "dataset": {key: value for key, value in data.meta.items() if key != "token"},
            "customer_id": spec.index,
            "history": history,
            "background_interactions": args.background_interactions,
            "requests": args.requests,
            "in_process": {
                **a.as_dict(),
                "queries": counter_a.total,
                "statements": dict(counter_a.shapes),
                "machine_load": load_a.figures,
            },
            "test_client": {
                **b.as_dict(),
                "queries": counter_b.total,
                "statements": dict(counter_b.shapes),
                "statuses": statuses,
                "machine_load": load_b.figures,
            },
            "http": {
                "server": f"casework {server_kind} --workers 2",
                **c.as_dict(),
                "errors": over_http.error_count,
                "status_counts": dict(over_http.status_counts),
                "error_samples": over_http.errors[:5],
                "response_bytes": body_bytes,
                "machine_load": load_c.figures,
            },
            "checks": [check.as_dict() for check in checks],
        },
    )


if __name__ == "__main__":
    main()

"""How long a telephone system waits for Casework's answer to a call event.

    .venv/bin/python bench/cti.py --db sqlite --calls 2000
    .venv/bin/python bench/cti.py --db pg --calls 2000

A fresh database (`/tmp/casework-bench/cti.sqlite3`, or `casework_bench_cti` on
PostgreSQL), migrated; a queue, `--agents` available agents with lines, `--customers`
customers with a phone number each, one CTI connection in Casework's format. Then
`--calls` calls, one after the other, each as a telephone system sends them — `new_call`
(80 % from a known customer's number in a German spelling, 20 % from unknown numbers),
`answered` at the agent the answer named, `hangup` — as signed HTTP requests through
Django's whole stack (middleware, the API, the signature check; the test client, no
network). The baseline, in the same run: the signed `GET …/calls/<id>` of a call (the
cheapest signed request: signature check and one read).

Reports p50/p99 per event kind and the baseline, the ratio to the baseline, SQL statements
per event, and checks afterwards that every call is ended, answered by an agent, and every
agent free again. There is no target in the issue; the figure matters because the
telephone system holds the caller until it has the answer to `new_call`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import fresh_db
import measure
import report
import servers

NAME = "cti"  # /tmp/casework-bench/cti.sqlite3, or the database casework_bench_cti
SECRET = "bench-secret"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--router",
        choices=["embedded", "process"],
        default="embedded",
        help="process: the calls are routed by `casework router` (docs/routing-process.md)",
    )
    measure.add_quiet_wait_option(parser)
    return parser.parse_args()


def load_data(args: argparse.Namespace) -> list[str]:
    """Agents, customers with numbers, the connection; returns the customers' numbers as a
    caller would dial them (national spelling)."""
    from django.contrib.auth import get_user_model

    from casework.channels.phone.models import AgentLine, ConnectionKind, CtiConnection
    from casework.customers.models import Customer, CustomerIdentifier
    from casework.kernel import secrets
    from casework.kernel.actors import Actor
    from casework.routing.models import Agent, Queue, Team
    from casework.routing.presence import set_presence

    team = Team.objects.create(code="phone", name_de="Telefon", name_en="Phone")
    queue = Queue.objects.create(code="phone", name_de="Telefon", name_en="Phone", team=team)
    users = get_user_model()
    for n in range(args.agents):
        user = users.objects.create_user(f"agent{n}", password=None)
        agent = Agent.objects.create(user=user)
        agent.teams.add(team)
        AgentLine.objects.create(agent=agent, extension=str(100 + n))
        set_presence(agent.pk, "available", actor=Actor.system("bench"))
    customers = Customer.objects.bulk_create(
        Customer(customer_number=f"B{n:08d}", last_name=f"Anrufer{n}")
        for n in range(args.customers)
    )
    national = [f"030 {5000000 + n}" for n in range(args.customers)]
    CustomerIdentifier.objects.bulk_create(
        CustomerIdentifier(customer=customer, kind="phone", value=f"+4930{5000000 + n}")
        for n, customer in enumerate(customers)
    )
    CtiConnection.objects.create(
        code="bench",
        name="Bench",
        kind=ConnectionKind.GENERIC,
        secret=secrets.encrypt(SECRET),
        default_queue=queue,
    )
    return national


class Telephone:
    """Signed requests through the test client, timed."""

    def __init__(self) -> None:
        from django.test import Client

        from casework.events.webhooks import sign

        self.client = Client(HTTP_HOST="127.0.0.1")
        self.sign = sign
        self.timings: dict[str, list[float]] = {}

    def _headers(self, body: bytes) -> dict[str, str]:
        stamp = int(time.time())
        return {"HTTP_CASEWORK_SIGNATURE": f"t={stamp},v1={self.sign(SECRET, stamp, body)}"}

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        body = json.dumps({"event": kind, **fields}).encode()
        headers = self._headers(body)
        started = time.perf_counter()
        response = self.client.post(
            "/api/v1/cti/generic/bench/events",
            data=body,
            content_type="application/json",
            **headers,
        )
        self.timings.setdefault(kind, []).append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    def status(self, call_id: str) -> None:
        headers = self._headers(b"")
        started = time.perf_counter()
        response = self.client.get(f"/api/v1/cti/generic/bench/calls/{call_id}", **headers)
        self.timings.setdefault("baseline: GET call", []).append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"status: {response.status_code}")


def run(args: argparse.Namespace, numbers: list[str]) -> dict[str, Any]:
    from django.db import connection

    rng = random.Random(args.seed)
    phone = Telephone()
    statements: dict[str, list[int]] = {}
    for n in range(args.calls):
        call_id = f"call-{n}"
        caller = rng.choice(numbers) if rng.random() < 0.8 else f"0171 {1000000 + n}"
        counted = n >= args.calls - 50  # statements over the last 50 calls
        queries_before = len(connection.queries) if counted else 0
        with _count(counted):
            answer = phone.event("new_call", call_id=call_id, caller=caller, called="0800 1234567")
        if counted:
            statements.setdefault("new_call", []).append(len(connection.queries) - queries_before)
        if answer["action"] != "connect":
            raise RuntimeError(f"nobody free for {call_id}: {answer}")
        phone.event("answered", call_id=call_id, agent=answer["agent"]["extension"])
        phone.status(call_id)
        phone.event("hangup", call_id=call_id, cause="normal")
        _wrap_up(answer["agent"]["id"])
    return {"timings": phone.timings, "statements": statements}


class _count:
    """Keep executed SQL in `connection.queries` for the counted calls only."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __enter__(self) -> None:
        from django.db import connection

        if self.on:
            connection.force_debug_cursor = True

    def __exit__(self, *exc: object) -> None:
        from django.db import connection

        connection.force_debug_cursor = False


def _wrap_up(agent_id: int) -> None:
    """After-call work would keep the agent away for 30 s of real time: end it now, as the
    wrap-up does, so the next call finds someone (not timed)."""
    from casework.routing.port import get_router

    get_router().end_after_work(agent_id)


def check(args: argparse.Namespace) -> list[str]:
    from casework.channels.phone.models import Call
    from casework.routing.models import AgentStatus

    problems = []
    calls = Call.objects.count()
    if calls != args.calls:
        problems.append(f"{calls} calls stored, {args.calls} made")
    if Call.objects.exclude(state="ended").exists():
        problems.append("calls not ended")
    if Call.objects.filter(agent__isnull=True).exists():
        problems.append("calls without an agent")
    if AgentStatus.objects.exclude(used_units=0).exists():
        problems.append("agents still occupied")
    return problems


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    fresh_db.setup_django(args.db, NAME)
    try:
        numbers = load_data(args)
        with contextlib.ExitStack() as router:
            if args.router == "process":
                from django.conf import settings

                router.enter_context(servers.router_process())
                settings.CASEWORK_ROUTER = "process"
            measure.wait_for_quiet(args.quiet_wait)
            started = time.perf_counter()
            result = run(args, numbers)
            wall = time.perf_counter() - started
        problems = check(args)
        facts = report.machine_facts()
        report.print_header(
            "CTI: call events through the HTTP API",
            facts,
            {"db": args.db, "calls": args.calls, "agents": args.agents, "router": args.router},
        )
        baseline = result["timings"]["baseline: GET call"]
        base_p50 = measure.percentile(baseline, 50)
        rows = []
        for kind, values in result["timings"].items():
            p50 = measure.percentile(values, 50)
            rows.append(
                (
                    kind,
                    len(values),
                    p50 * 1000,
                    measure.percentile(values, 99) * 1000,
                    p50 / base_p50,
                    (
                        sum(result["statements"][kind]) / len(result["statements"][kind])
                        if kind in result["statements"]
                        else float("nan")
                    ),
                )
            )
        report.print_table(
            "latency per request (ms)",
            ["request", "n", "p50", "p99", "p50 ÷ baseline p50", "SQL statements"],
            rows,
        )
        events = sum(len(values) for values in result["timings"].values())
        print(f"\n{events} requests in {wall:.1f} s wall ({events / wall:.0f}/s, one client)")
        print("checks:", problems or "all calls ended, every agent free")
        report.write_results(
            "cti",
            args.db,
            {
                "args": vars(args),
                "facts": facts,
                "rows": rows,
                "wall_seconds": wall,
                "problems": problems,
            },
        )
        return 1 if problems else 0
    finally:
        fresh_db.drop_database(args.db, NAME)


if __name__ == "__main__":
    sys.exit(main())

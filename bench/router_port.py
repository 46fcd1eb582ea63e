"""Routing operations as the product's processes ask them: the transactional router in
each process, against the router process over loopback.

    .venv/bin/python bench/router_port.py --db sqlite
    .venv/bin/python bench/router_port.py --db pg

A fresh database (`/tmp/casework-bench/router-port.sqlite3`, or `casework_bench_router_port`
on PostgreSQL) with `--agents` available agents in one queue. `--clients` client processes
(as web processes would be) each run `--cycles` calls' worth of port operations, one after
the other: `submit` (a new call: the routing decision, an offer), `accept` as the agent it
was offered to, `complete`, `end_after_work` (the wrap-up). In the same invocation, first
with CASEWORK_ROUTER=embedded (the transactional router: every operation a transaction in
the client's process), then with CASEWORK_ROUTER=process (`casework router` started by the
benchmark, the engine answering over loopback, writing behind every 0.25 s and logging its
decisions before each answer).

Reports routing decisions (offers) per second and operations per second of wall time, the
latency of each operation (p50/p99, in the client), the ratio process ÷ embedded, and
checks afterwards that every item is completed, every offer accepted, every agent free and
the event chain intact. Target (issue 5): ≥ 2,000 routing decisions per second on two cores
and p99 decision latency ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import fresh_db
import measure
import report
import servers

NAME = "router-port"
TARGET_DECISIONS_PER_SECOND = 2000.0
TARGET_P99_MS = 5.0
OPERATIONS = ("submit", "accept", "complete", "end_after_work")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=1000, help="calls per client and mode")
    parser.add_argument("--agents", type=int, default=200)
    measure.add_quiet_wait_option(parser)
    return parser.parse_args()


def load_data(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model

    from casework.kernel.actors import Actor
    from casework.routing.models import Agent, Queue, Team
    from casework.routing.presence import set_presence

    team = Team.objects.create(code="bench", name_de="Bench", name_en="Bench")
    Queue.objects.create(code="bench", name_de="Bench", name_en="Bench", team=team)
    users = get_user_model()
    for n in range(args.agents):
        agent = Agent.objects.create(user=users.objects.create_user(f"agent{n}", password=None))
        agent.teams.add(team)
        set_presence(agent.pk, "available", actor=Actor.system("bench"))


def client(mode: str, number: int, cycles: int, results: Any) -> None:
    """One client process: `cycles` calls through the port; its timings to `results`."""
    from django.conf import settings

    from casework.kernel.actors import Actor, ActorKind
    from casework.routing import port
    from casework.routing.router import NewWorkItem

    settings.CASEWORK_ROUTER = mode
    port._routers.clear()
    router = port.get_router()
    system = Actor.system("bench")
    timings: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    unrouted = 0
    clock = time.perf_counter
    for n in range(cycles):
        new = NewWorkItem(
            channel="phone",
            external_id=f"{mode}-{number}-{n}",
            queue="bench",
            first_submission=True,
            open_case_owner=None,
        )
        started = clock()
        item = router.submit(new, actor=system)
        timings["submit"].append(clock() - started)
        if item.agent_id is None:  # every agent busy with the other clients' calls
            router.withdraw(item.id, actor=system, reason="bench")
            unrouted += 1
            continue
        agent = Actor(ActorKind.AGENT, item.agent_id, f"agent:{item.agent_id}")
        started = clock()
        router.accept(item.id, actor=agent)
        accepted = clock()
        router.complete(item.id, actor=agent)
        completed = clock()
        router.end_after_work(item.agent_id)
        timings["accept"].append(accepted - started)
        timings["complete"].append(completed - accepted)
        timings["end_after_work"].append(clock() - completed)
    results.put((timings, unrouted, time.process_time()))


def run_mode(args: argparse.Namespace, mode: str, router_pid: int | None = None) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # the clients are forked: each opens its own
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    clients = [
        context.Process(target=client, args=(mode, number, args.cycles, results))
        for number in range(args.clients)
    ]
    router_cpu = _router_cpu(router_pid)
    started = time.perf_counter()
    for process in clients:
        process.start()
    collected = [results.get(timeout=3600) for _ in clients]
    wall = time.perf_counter() - started
    router_cpu = {
        pid: cpu - router_cpu.get(pid, 0.0) for pid, cpu in _router_cpu(router_pid).items()
    }
    for process in clients:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a {mode} client failed (exit {process.exitcode})")
    timings = {name: [t for found, _, _ in collected for t in found[name]] for name in OPERATIONS}
    unrouted = sum(count for _, count, _ in collected)
    client_cpu = sum(cpu for _, _, cpu in collected)
    writer_cpu = sum(cpu for pid, cpu in router_cpu.items() if pid != router_pid)
    return {"wall": wall, "timings": timings, "unrouted": unrouted, "client_cpu": client_cpu,
            "router_cpu": sum(router_cpu.values()), "writer_cpu": writer_cpu}  # fmt: skip


def _router_cpu(router_pid: int | None) -> dict[int, float]:
    """CPU seconds of the router process and its writer process so far."""
    if router_pid is None:
        return {}
    pids = [router_pid, *measure.descendants(router_pid)]
    return {pid: measure.process_cpu_seconds(pid) for pid in pids}


def operations_of(run: dict[str, Any]) -> int:
    return sum(len(values) for values in run["timings"].values())


def check(args: argparse.Namespace) -> list[str]:
    from casework.events.services import verify_chain
    from casework.routing.models import AgentStatus, Offer, WorkItem

    problems = []
    made = WorkItem.objects.count()
    if made != 2 * args.clients * args.cycles:
        problems.append(f"{made} work items for {2 * args.clients * args.cycles} calls")
    if WorkItem.objects.exclude(status__in=["completed", "withdrawn"]).exists():
        problems.append("work items still open")
    if Offer.objects.exclude(status="accepted").exists():
        problems.append("offers not accepted")
    if AgentStatus.objects.exclude(used_units=0).exists():
        problems.append("agents still occupied")
    if AgentStatus.objects.exclude(presence_id="available").exists():
        problems.append("agents not available again")
    if not verify_chain().is_intact:
        problems.append("the event chain is broken")
    return problems


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    fresh_db.setup_django(args.db, NAME)
    try:
        load_data(args)
        measure.wait_for_quiet(args.quiet_wait)
        runs = {"embedded": run_mode(args, "embedded")}
        with servers.router_process() as router_pid:
            runs["process"] = run_mode(args, "process", router_pid)
        problems = check(args)
        facts = report.machine_facts()
        report.print_header(
            "Routing operations through the port: transactional router vs router process",
            facts,
            {"db": args.db, "clients": args.clients, "cycles": args.cycles,
             "agents": args.agents},
        )  # fmt: skip
        rows = []
        summary: dict[str, dict[str, float]] = {}
        for mode, run in runs.items():
            decisions = len(run["timings"]["submit"])
            operations = sum(len(values) for values in run["timings"].values())
            summary[mode] = {
                "decisions_per_second": decisions / run["wall"],
                "operations_per_second": operations / run["wall"],
                "submit_p99_ms": measure.percentile(run["timings"]["submit"], 99) * 1000,
            }
            for name in OPERATIONS:
                values = run["timings"][name]
                rows.append(
                    (
                        f"{mode}: {name}",
                        len(values),
                        measure.percentile(values, 50) * 1000,
                        measure.percentile(values, 99) * 1000,
                    )
                )
        report.print_table("latency per operation, in the client (ms)",
                           ["operation", "n", "p50", "p99"], rows)  # fmt: skip
        report.print_table(
            "throughput, and CPU per operation (µs)",
            ["router", "wall s", "decisions/s", "operations/s", "unrouted", "CPU clients",
             "CPU router process", "of it its writer"],
            [
                (mode, run["wall"], summary[mode]["decisions_per_second"],
                 summary[mode]["operations_per_second"], run["unrouted"],
                 run["client_cpu"] / operations_of(run) * 1e6,
                 run["router_cpu"] / operations_of(run) * 1e6 if mode == "process" else "–",
                 run["writer_cpu"] / operations_of(run) * 1e6 if mode == "process" else "–")
                for mode, run in runs.items()
            ],
        )  # fmt: skip
        ratio = (
            summary["process"]["decisions_per_second"] / summary["embedded"]["decisions_per_second"]
        )
        print(f"\nrouter process ÷ transactional router, decisions/s: {ratio:.2f}×")
        checks = [
            report.Check("routing decisions per second (router process)",
                         summary["process"]["decisions_per_second"],
                         TARGET_DECISIONS_PER_SECOND, "/s", at_most=False),
            report.Check("p99 decision latency (router process)",
                         summary["process"]["submit_p99_ms"], TARGET_P99_MS, "ms"),
        ]  # fmt: skip
        report.print_checks(checks)
        print("checks:", problems or "every item completed, every agent free, chain intact")
        report.write_results(
            "router-port",
            args.db,
            {
                "args": vars(args),
                "facts": facts,
                "rows": rows,
                "summary": summary,
                "ratio": ratio,
                "checks": [c.as_dict() for c in checks],
                "problems": problems,
            },
        )
        return 1 if problems else 0
    finally:
        fresh_db.drop_database(args.db, NAME)


if __name__ == "__main__":
    sys.exit(main())

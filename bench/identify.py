"""Recognising a customer among 1M: `customers.matching.identify` against a bare indexed SELECT.

    .venv/bin/python bench/identify.py [--db sqlite|pg|both] [--customers N] [--samples 20000]

For random existing phone numbers and e-mail addresses (and some unknown ones), times
`identify([Identifier(kind, value)])` in-process, and the bare
`SELECT customer_id FROM customers_customeridentifier WHERE kind=%s AND value=%s` for the same
value on the same connection. Prints median, p95 and p99 per kind and the ratio
identify ÷ bare. Target: p99 ≤ 2 ms. `--db both` runs SQLite, then PostgreSQL, each in its
own process.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dataset
import measure
import report

TARGET_P99_MS = 2.0
BARE_SQL = "SELECT customer_id FROM customers_customeridentifier WHERE kind=%s AND value=%s"
# Share of each kind of lookup in the sample.
MIX = (("phone", 45), ("e-mail", 45), ("unknown phone", 5), ("unknown e-mail", 5))
WARMUP = 2000
PROFILED = 2000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--customers", type=int, default=dataset.DEFAULT_CUSTOMERS)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data set")
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


Sample = tuple[str, Any, int | None]  # (category, Identifier, expected customer id or None)


def make_samples(rng: random.Random, customers: int, count: int) -> list[Sample]:
    from casework.customers.identifiers import Identifier, IdentifierKind

    categories = [name for name, weight in MIX for _ in range(weight)]
    samples = []
    for number in range(count):
        category = rng.choice(categories)
        index = rng.randint(1, customers)
        spec = dataset.customer_spec(index)
        if category == "phone":
            samples.append((category, Identifier(IdentifierKind.PHONE, spec.phone), index))
        elif category == "e-mail":
            samples.append((category, Identifier(IdentifierKind.EMAIL, spec.email), index))
        elif category == "unknown phone":
            phone, _ = dataset.mobile_number(rng.randrange(10**7), dataset.UNKNOWN_MOBILE_PREFIXES)
            samples.append((category, Identifier(IdentifierKind.PHONE, phone), None))
        else:
            domain = rng.choice(dataset.UNKNOWN_DOMAINS)
            address = f"{dataset.slug(spec.first_name or 'info')}.{number}@{domain}"
            samples.append((category, Identifier(IdentifierKind.EMAIL, address), None))
    return samples


def explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        return [" ".join(str(part) for part in row) for row in cursor.fetchall()]


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    data = dataset.prepare(args.db, args.customers, rebuild=args.rebuild)
    facts = report.machine_facts()
    report.print_header(
        f"identify: customers.matching.identify vs bare indexed SELECT ({args.db})",
        facts,
        {
            "database": data.url,
            "data set": f"{data.customers:,} customers, {3 * data.customers:,} identifiers",
            "samples": f"{args.samples:,} lookups after {WARMUP:,} warm-up lookups "
            f"(mix {', '.join(f'{name} {weight} %' for name, weight in MIX)})",
        },
    )
    from django.db import connection

    from casework.customers.matching import identify

    cursor = connection.cursor()

    def by_identify(identifier: Any) -> int | None:
        result = identify([identifier])
        return result.customer.pk if result.customer is not None else None

    def by_bare_select(identifier: Any) -> int | None:
        cursor.execute(BARE_SQL, [identifier.kind.value, identifier.value])
        row = cursor.fetchone()
        return row[0] if row else None

    for _, identifier, _ in make_samples(random.Random(args.seed + 1), data.customers, WARMUP):
        by_identify(identifier)
        by_bare_select(identifier)

    samples = make_samples(random.Random(args.seed), data.customers, args.samples)
    timings: dict[str, dict[str, list[float]]] = {
        name: {"identify": [], "bare": []} for name, _ in MIX
    }
    wrong = []
    clock = time.perf_counter
    measure.wait_for_quiet(args.quiet_wait)
    with measure.MachineLoad(data.target.name if args.db == "pg" else None) as load:
        started = clock()
        for number, (category, identifier, expected) in enumerate(samples):
            # Alternate which goes first, so neither always finds the row's pages just read.
            order = (by_identify, by_bare_select)
            if number % 2:
                order = (by_bare_select, by_identify)
            for lookup in order:
                began = clock()
                found = lookup(identifier)
                elapsed = clock() - began
                timings[category]["identify" if lookup is by_identify else "bare"].append(elapsed)
                if found != expected:
                    wrong.append((category, identifier.value, expected, found, lookup.__name__))
        total_seconds = clock() - started

    captured: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        by_identify(samples[0][1])
    plans = {
        "identify": [line for sql, params in captured for line in explain(sql, params)],
        "bare": explain(BARE_SQL, [samples[0][1].kind.value, samples[0][1].value]),
    }
    counter = measure.QueryCounter()
    with counter.installed():
        by_identify(samples[0][1])
    profiler = cProfile.Profile()
    profiler.enable()
    for _, identifier, _ in samples[:PROFILED]:
        by_identify(identifier)
    profiler.disable()

    rows, stats, checks = [], {}, []
    for category, _ in MIX:
        ours = measure.Latency.of(timings[category]["identify"])
        bare = measure.Latency.of(timings[category]["bare"])
        ratio_p50, ratio_p99 = ours.p50 / bare.p50, ours.p99 / bare.p99
        rows.append(
            (
                category,
                ours.n,
                ours.p50,
                ours.p95,
                ours.p99,
                bare.p50,
                bare.p95,
                bare.p99,
                f"{ratio_p50:.1f}×",
                f"{ratio_p99:.1f}×",
            )
        )
        stats[category] = {
            "identify": ours.as_dict(),
            "bare_select": bare.as_dict(),
            "ratio_p50": round(ratio_p50, 2),
            "ratio_p99": round(ratio_p99, 2),
        }
        checks.append(
            report.Check(f"identify p99, {category} ({args.db})", ours.p99, TARGET_P99_MS, "ms")
        )

    print(f"\n{load.describe()}")
    print(f"identify() sends {counter.total} SQL statement(s) per lookup: {dict(counter.shapes)}")
    for name, lines in plans.items():
        print(f"plan ({name}): " + " | ".join(lines))
    print(f"\ncProfile of {PROFILED:,} identify() calls, by own time:")
    print(measure.profile_top(profiler, sort="tottime", limit=15))
    report.print_table(
        f"Lookup latency in ms ({args.db}, {data.customers:,} customers; "
        f"{args.samples:,} samples in {total_seconds:.1f} s)",
        [
            "lookup",
            "n",
            "identify p50",
            "p95",
            "p99",
            "bare p50",
            "p95",
            "p99",
            "ratio p50",
            "ratio p99",
        ],
        rows,
    )
    if wrong:
        print(f"\nWRONG RESULTS: {len(wrong)}, first: {wrong[:5]}")
        checks.append(report.Check(f"wrong results ({args.db})", len(wrong), 0, ""))
    report.print_checks(checks)
    result = {
        "benchmark": "identify",
        "engine": args.db,
        "facts": facts,
        "dataset": {key: value for key, value in data.meta.items() if key != "token"},
        "samples": args.samples,
        "seed": args.seed,
        "queries_per_identify": counter.total,
        "plans": plans,
        "latency": stats,
        "wrong_results": len(wrong),
        "machine_load": load.figures,
        "checks": [check.as_dict() for check in checks],
    }
    report.write_results("identify", args.db, result)
    return result


def run_both(args: argparse.Namespace) -> None:
    results = []
    for engine in ("sqlite", "pg"):
        with tempfile.NamedTemporaryFile(suffix=".json") as handle:
            command = [sys.executable, str(Path(__file__).resolve()), "--db", engine]
            command += ["--customers", str(args.customers), "--samples", str(args.samples)]
            command += ["--seed", str(args.seed), "--result-file", handle.name]
            command += ["--quiet-wait", str(args.quiet_wait)]
            command += ["--rebuild"] if args.rebuild else []
            completed = subprocess.run(command)
            text = Path(handle.name).read_text()
            if completed.returncode != 0 or not text:
                print(f"\n{engine}: the run failed (exit {completed.returncode})")
                continue
            results.append(json.loads(text))
    rows = []
    checks = []
    for result in results:
        for category, figures in result["latency"].items():
            rows.append(
                (
                    f"{result['engine']}: {category}",
                    figures["identify"]["p50_ms"],
                    figures["identify"]["p95_ms"],
                    figures["identify"]["p99_ms"],
                    figures["bare_select"]["p50_ms"],
                    figures["bare_select"]["p99_ms"],
                    f"{figures['ratio_p50']:.1f}×",
                    f"{figures['ratio_p99']:.1f}×",
                )
            )
        checks += [
            report.Check(**{k: v for k, v in check.items() if k != "verdict"})
            for check in result["checks"]
        ]
    print("\n" + "=" * 100 + "\nidentify: summary, both databases")
    report.print_table(
        "Lookup latency in ms",
        [
            "database: lookup",
            "identify p50",
            "p95",
            "p99",
            "bare p50",
            "bare p99",
            "ratio p50",
            "ratio p99",
        ],
        rows,
    )
    report.print_checks(checks)
    if len(results) < 2:
        sys.exit(1)


def main() -> None:
    args = parse_args()
    if args.db == "both":
        run_both(args)
        return
    result = run_one(args)
    if args.result_file:
        args.result_file.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()

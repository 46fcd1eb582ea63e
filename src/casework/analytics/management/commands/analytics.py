"""`casework analytics catch-up|rebuild|verify`: the KPI summary tables."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandParser

from casework.analytics import aggregation


class Command(BaseCommand):
    help = (
        "KPI summary tables. 'catch-up' folds in the events recorded since the last pass "
        "(the worker does this continuously); 'rebuild' recomputes them from the whole event "
        "log; 'verify' compares them with a recomputation and lists every difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["catch-up", "rebuild", "verify"])
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args: object, **options: object) -> None:
        action, batch_size = options["action"], int(options["batch_size"])  # type: ignore[arg-type]
        started = time.perf_counter()
        if action == "verify":
            differences = aggregation.verify()
            for difference in differences[:50]:
                self.stderr.write(
                    f"{difference.table} {difference.key}: stored {difference.stored}, "
                    f"recomputed {difference.expected}"
                )
            if differences:
                self.stderr.write(f"{len(differences)} rows differ from a recomputation")
                sys.exit(1)
            self.stdout.write("summary tables equal a recomputation from the event log")
            return
        run = aggregation.rebuild if action == "rebuild" else aggregation.catch_up
        read = run(batch_size)
        seconds = time.perf_counter() - started
        self.stdout.write(f"{read} events read in {seconds:.1f} s")

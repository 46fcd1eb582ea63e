"""`casework worker`: background work from the database (webhook outbox)."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from casework.events.webhooks import run_once


class Command(BaseCommand):
    help = "Process background work: deliver webhooks from the outbox, with retries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--idle-seconds", type=float, default=1.0)

    def handle(self, *args: object, **options: object) -> None:
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            attempted = run_once()
            if options["once"]:
                self.stdout.write(f"{attempted} events fanned out or deliveries attempted")
                return
            if not attempted:
                time.sleep(float(options["idle_seconds"]))  # type: ignore[arg-type]
            # A long-running process must notice dropped or expired database connections.
            close_old_connections()

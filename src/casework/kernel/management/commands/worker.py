"""`casework worker`: background work from the database: the jobs listed in
`CASEWORK_BACKGROUND_JOBS` (webhook deliveries, outgoing mail), one pass after another."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def _run(job: Callable[[], int]) -> int:
    """One job's pass. A failing job (a database that went away, a bug) is logged and tried
    again on the next pass; it must not stop the other jobs or the worker."""
    try:
        return job()
    except Exception:
        logger.exception("background job %s failed", getattr(job, "__qualname__", job))
        close_old_connections()
        return 0


class Command(BaseCommand):
    help = "Process background work (webhooks, outgoing mail), with retries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--idle-seconds", type=float, default=1.0)

    def handle(self, *args: object, **options: object) -> None:
        jobs = [import_string(path) for path in settings.CASEWORK_BACKGROUND_JOBS]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            attempted = sum(_run(job) for job in jobs)
            if options["once"]:
                self.stdout.write(f"{attempted} items of background work done")
                return
            if not attempted:
                time.sleep(float(options["idle_seconds"]))  # type: ignore[arg-type]
            # A long-running process must notice dropped or expired database connections.
            close_old_connections()

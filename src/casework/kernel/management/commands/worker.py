"""`casework worker`: background work from the database: the jobs listed in
`CASEWORK_BACKGROUND_JOBS` (webhook deliveries, outgoing mail), one pass after another."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

from casework.kernel.background import BackgroundPasses
from casework.kernel.db.sqlite3.base import checkpoint_in_background


class Command(BaseCommand):
    help = "Process background work (webhooks, outgoing mail), with retries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--idle-seconds",
            type=float,
            default=1.0,
            help="how long a job that found no work rests before it looks again",
        )

    def handle(self, *args: object, **options: object) -> None:
        sqlite_files = [
            database["NAME"]
            for database in settings.DATABASES.values()
            if database["ENGINE"] == "casework.kernel.db.sqlite3"
        ]
        if sqlite_files and not options["once"]:
            # The worker writes most: its commits should not stop to copy the log.
            connections.close_all()
            checkpoint_in_background(sqlite_files)
        jobs = [import_string(path) for path in settings.CASEWORK_BACKGROUND_JOBS]
        passes = BackgroundPasses(jobs, idle_seconds=float(options["idle_seconds"]))  # type: ignore[arg-type]
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            done = passes.run_pass()
            if options["once"]:
                self.stdout.write(f"{done} items of background work done")
                return
            if not done:
                time.sleep(passes.seconds_to_rest())
            # A long-running process must notice dropped or expired database connections.
            close_old_connections()

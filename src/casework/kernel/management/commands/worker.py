"""`casework worker`: background work from the database: the jobs listed in
`CASEWORK_BACKGROUND_JOBS` (webhook deliveries, outgoing mail), one pass after another.

`--only`/`--skip` share the jobs out between several workers — one for the queued intake,
another for the rest, say — so that a job that keeps a worker busy does not wait for the
others' turns (nor they for it)."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

from casework.kernel.background import BackgroundPasses
from casework.kernel.db.sqlite3.base import checkpoint_in_background


def chosen_jobs(paths: list[str], *, only: list[str], skip: list[str]) -> list[str]:
    """The job paths containing one of `only` (all, if none is given) and none of `skip`."""
    chosen = [
        path
        for path in paths
        if (not only or any(part in path for part in only))
        and not any(part in path for part in skip)
    ]
    if not chosen:
        raise CommandError(
            f"no background job is left by --only {only} --skip {skip} "
            f"(the jobs: {', '.join(paths)})"
        )
    return chosen


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
        parser.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="PART",
            help="run only the jobs whose name (as in CASEWORK_BACKGROUND_JOBS) contains "
            "PART, e.g. 'intake' (repeatable)",
        )
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            metavar="PART",
            help="leave out the jobs whose name contains PART (repeatable)",
        )

    def handle(self, *args: object, **options: object) -> None:
        paths = chosen_jobs(
            settings.CASEWORK_BACKGROUND_JOBS,
            only=options["only"],  # type: ignore[arg-type]
            skip=options["skip"],  # type: ignore[arg-type]
        )
        sqlite_files = [
            database["NAME"]
            for database in settings.DATABASES.values()
            if database["ENGINE"] == "casework.kernel.db.sqlite3"
        ]
        if sqlite_files and not options["once"]:
            # The worker writes most: its commits should not stop to copy the log.
            connections.close_all()
            checkpoint_in_background(sqlite_files)
        jobs = [import_string(path) for path in paths]
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

"""`casework router`: the router process (docs/routing-process.md). The web and worker
processes ask it when they run with CASEWORK_ROUTER=process."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.routing.lease import LeaseHeld
from casework.routing.process import RouterProcess


class Command(BaseCommand):
    help = "Run the router process: the routing engine in memory, asked over loopback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="loopback address to answer on")
        parser.add_argument("--port", type=int, default=8766, help="0: any free port")
        parser.add_argument(
            "--flush-interval",
            type=float,
            default=0.25,
            help="seconds between writes of the routing tables",
        )
        parser.add_argument(
            "--writer-in-thread",
            action="store_true",
            help="write the routing tables from a thread of this process, not a process of "
            "their own",
        )

    def handle(self, *args: object, **options: Any) -> None:
        process = RouterProcess(
            options["host"],
            options["port"],
            options["flush_interval"],
            writer_process=not options["writer_in_thread"],
        )
        signal.signal(signal.SIGTERM, lambda signum, frame: process.stop())
        signal.signal(signal.SIGINT, lambda signum, frame: process.stop())

        def ready(running: RouterProcess) -> None:
            self.stdout.write(f"router answering on {running.host}:{running.port}", ending="\n")
            self.stdout.flush()

        try:
            process.run(on_ready=ready)
        except LeaseHeld as error:
            raise CommandError(error.message) from None
        except OSError as error:
            address = f"{options['host']}:{options['port']}"
            raise CommandError(f"cannot answer on {address}: {error}") from None
        self.stdout.write("router stopped")

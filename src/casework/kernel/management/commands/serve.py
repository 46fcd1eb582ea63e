"""`casework serve`: the web UI and the API.

By default granian serves the WSGI application from worker processes (docs/adr/0015):
every view is synchronous Django, and HTTP (parsing, keep-alive connections, writing the
answer) is handled in granian's Rust core instead of in Python. `--asgi` runs uvicorn
instead, for the real-time endpoints that need it."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser
from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels


class Command(BaseCommand):
    help = "Run the web UI and the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="server processes")
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="requests one server process runs at the same time (WSGI)",
        )
        parser.add_argument("--asgi", action="store_true", help="uvicorn (ASGI) instead")

    def handle(self, *args: object, **options: Any) -> None:
        host, port, workers = options["host"], options["port"], options["workers"]
        if options["asgi"]:
            uvicorn.run(
                "casework.config.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                lifespan="off",
            )
            return
        Granian(
            "casework.config.wsgi:application",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            # Each process runs as many requests at a time as it has threads (one by
            # default, as gunicorn's sync workers did): on SQLite that keeps writers few.
            blocking_threads=options["threads"],
            log_level=LogLevels.warning,
            # A worker that dies (out of memory, a crash in a C library) is replaced.
            respawn_failed_workers=True,
        ).serve()

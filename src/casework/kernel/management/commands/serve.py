"""`casework serve`: the web UI and API on uvicorn (ASGI)."""

from __future__ import annotations

import uvicorn
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web UI and the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="server processes")

    def handle(self, *args: object, **options: object) -> None:
        uvicorn.run(
            "casework.config.asgi:application",
            host=str(options["host"]),
            port=int(options["port"]),  # type: ignore[call-overload]
            workers=int(options["workers"]),  # type: ignore[call-overload]
            log_level="warning",
            lifespan="off",
        )

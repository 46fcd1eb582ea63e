"""`casework serve`: the web UI and the API.

By default a gunicorn server with synchronous worker processes (WSGI): every view is
synchronous Django, and measured on two cores it serves the intake API about 1.6 times
faster than uvicorn (docs/adr/0005). `--asgi` runs uvicorn instead, for the real-time
endpoints that need it."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from casework.config.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the web UI and the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="server processes")
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
        _Gunicorn(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "sync",
                "accesslog": None,
                "loglevel": "warning",
                # Requests never wait on other systems (webhooks go out through the
                # worker), so a request running a minute is stuck and is restarted.
                "timeout": 60,
            }
        ).run()

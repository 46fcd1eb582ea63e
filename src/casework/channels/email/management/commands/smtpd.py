"""`casework smtpd`: receive e-mail for the configured mailboxes over SMTP."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from casework.channels.email.smtp import build_controller


class Command(BaseCommand):
    help = "Run the inbound SMTP server for the configured mailboxes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: object, **options: Any) -> None:
        controller = build_controller(options["host"], options["port"])
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        controller.start()
        self.stdout.write(f"SMTP server on {options['host']}:{options['port']}")
        try:
            stopped.wait()
        finally:
            controller.stop()

"""`casework smtpd`: receive e-mail for the configured mailboxes over SMTP.

With `--processes N` (N > 1) this process only supervises: it starts N server processes
that share the port (SO_REUSEPORT), so parsing and SMTP work use every core while the
database serialises the writers. A server process that dies is not replaced: the
supervisor then stops the others and exits non-zero, for the service manager to restart
it (senders retry what was not answered 250).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from casework.channels.email.smtp import build_controller

_PR_SET_PDEATHSIG = 1


class Command(BaseCommand):
    help = "Run the inbound SMTP server for the configured mailboxes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="server processes sharing the port (default 1)",
        )
        parser.add_argument("--reuse-port", action="store_true", help="set SO_REUSEPORT")

    def handle(self, *args: object, **options: Any) -> None:
        if options["processes"] > 1:
            sys.exit(self._supervise(options))
        controller = build_controller(
            options["host"], options["port"], reuse_port=options["reuse_port"]
        )
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        controller.start()
        self.stdout.write(f"SMTP server on {options['host']}:{options['port']}")
        self.stdout.flush()
        try:
            stopped.wait()
        finally:
            controller.stop()

    def _supervise(self, options: dict[str, Any]) -> int:
        command = [sys.executable, "-m", "casework.cli", "smtpd"]
        command += ["--host", options["host"], "--port", str(options["port"])]
        command += ["--processes", "1", "--reuse-port"]
        children = [
            subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: PLW1509
            for _ in range(options["processes"])
        ]
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        self.stdout.write(
            f"SMTP server on {options['host']}:{options['port']}, "
            f"{len(children)} processes: {', '.join(str(c.pid) for c in children)}"
        )
        self.stdout.flush()
        code = 0
        while not stopped.wait(0.5):
            if any(child.poll() is not None for child in children):
                code = 1
                break
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
        return code


def _die_with_parent() -> None:
    """A server process must not outlive its supervisor (e.g. after SIGKILL): it would keep
    the port and a database connection."""
    # Not Linux: stopping the supervisor cleanly still stops the children.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

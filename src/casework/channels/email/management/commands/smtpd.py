"""`casework smtpd`: receive e-mail for the configured mailboxes over SMTP.

With `--processes N` (N > 1) this process only supervises: it starts N server processes
that share the port (SO_REUSEPORT), so parsing and SMTP work use every core while the
database serialises the writers. A server process that dies is started again (senders
retry what was not answered 250); if new ones keep dying right after their start, the
supervisor stops the others and exits non-zero, for the service manager to see.
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
# A server process that ends this soon after its start did not get going at all.
EARLY_DEATH_SECONDS = 30.0
MAX_EARLY_DEATHS = 3


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
        children = [_start(command) for _ in range(options["processes"])]
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        self.stdout.write(
            f"SMTP server on {options['host']}:{options['port']}, "
            f"{len(children)} processes: {', '.join(str(c.pid) for c, _ in children)}"
        )
        self.stdout.flush()
        code, early_deaths = 0, 0
        while code == 0 and not stopped.wait(0.5):
            for index, (child, started_at) in enumerate(children):
                if child.poll() is None:
                    continue
                early = time.monotonic() - started_at < EARLY_DEATH_SECONDS
                early_deaths = early_deaths + 1 if early else 0
                if early_deaths >= MAX_EARLY_DEATHS:
                    self.stderr.write("SMTP server processes keep dying at start; stopping")
                    code = 1
                    break
                self.stderr.write(f"SMTP server process {child.pid} ended; starting another")
                children[index] = _start(command)
        for child, _ in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child, _ in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
        return code


def _start(command: list[str]) -> tuple[subprocess.Popen[bytes], float]:
    process = subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: PLW1509
    return process, time.monotonic()


def _die_with_parent() -> None:
    """A server process must not outlive its supervisor (e.g. after SIGKILL): it would keep
    the port and a database connection."""
    # Not Linux: stopping the supervisor cleanly still stops the children.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

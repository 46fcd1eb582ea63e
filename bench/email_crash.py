"""Crash test of the SMTP server: SIGKILL at random moments, no mail lost or doubled.

    .venv/bin/python bench/email_crash.py [--db sqlite|pg] [--mails 1000] [--kills 10]
                                          [--clients 4] [--processes 1] [--seed 7]

A fresh database (`casework migrate`) with one mailbox; `casework smtpd` on a loopback
port. C client threads send M small mails (one in ten without a Message-ID, so that the
content hash has to recognise its second delivery), each until it gets a 250: a refused
connection, a dropped one or a 4xx answer is retried after a pause, on a new connection.
Meanwhile the server's whole process group is killed with SIGKILL K times, at random
moments, and started again on the same port. Afterwards every mail is looked for in the
database: each must be there as exactly one inbound interaction and one ingested raw mail
(a delivery that was committed but not answered before the kill comes again and is kept as
a duplicate raw mail, nothing else). Prints the figures and PASS or FAIL (exit status 1).

Also imported by `tests/channels/email/test_crash.py` (100 mails, 3 kills).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_DIR / ".venv" / "bin"
HOST = "127.0.0.1"
MAILBOX = "crash@casework.test"
SETTINGS_MODULE = "casework.config.settings.demo"
PG_SERVER_URL = os.environ.get("CASEWORK_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


@dataclass
class CrashResult:
    mails: int
    accepted: int = 0  # mails that got their 250
    kills: int = 0
    retries: int = 0  # attempts after a failed one
    found_once: int = 0
    missing: int = 0  # got a 250, not in the database
    duplicated: int = 0  # more than one interaction or ingested raw mail
    duplicate_deliveries_kept: int = 0  # raw mails marked duplicate (retries of committed mail)
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.accepted == self.mails
            and self.found_once == self.mails
            and self.missing == 0
            and self.duplicated == 0
        )


# ---------------------------------------------------------------------------------------
# The database and the server


@contextlib.contextmanager
def fresh_database(engine: str, work_dir: Path) -> Iterator[str]:
    """A new, migrated database; dropped afterwards. Yields its URL."""
    if engine == "sqlite":
        url = f"sqlite:///{work_dir / 'crash.sqlite3'}"
        yield url
        return
    import psycopg

    name = f"casework_crash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER_URL}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(url: str, work_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "DJANGO_"))}
    env["CASEWORK_DATABASE_URL"] = url
    env["CASEWORK_DATA_DIR"] = str(work_dir / "data")
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env["CASEWORK_LOG_LEVEL"] = "ERROR"
    return env


def prepare_database(env: dict[str, str]) -> None:
    """`casework migrate` and the mailbox, in a child process: this one stays free of
    Django."""
    command = [str(VENV_BIN / "python"), str(Path(__file__).resolve()), "--setup-child"]
    subprocess.run(command, env=env, check=True, timeout=600)


def setup_child() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    create_mailbox()


def create_mailbox() -> None:
    """The mailbox the crash test sends to (with its team, queue and case type)."""
    from casework.cases.models import CaseType
    from casework.channels.email.models import Mailbox
    from casework.routing.models import Queue, Team

    team = Team.objects.create(code="crash", name_de="Crash", name_en="Crash")
    queue = Queue.objects.create(code="crash", name_de="Crash", name_en="Crash", team=team)
    case_type = CaseType.objects.create(
        code="crash", name_de="Anfrage", name_en="Request", default_queue=queue
    )
    Mailbox.objects.create(address=MAILBOX, display_name="Crash", case_type=case_type, queue=queue)


def count_in_database(url: str) -> dict:
    """Per mail token: inbound interactions and ingested raw mails; and how many raw mails
    were kept as duplicates. Plain SQL, so that this process stays free of Django."""
    interactions_sql = (
        "SELECT subject FROM interactions_interaction "
        "WHERE channel = 'email' AND direction = 'inbound'"
    )
    raw_sql = (
        "SELECT r.status, i.subject FROM email_channel_rawemail r "
        "LEFT JOIN interactions_interaction i ON i.id = r.interaction_id"
    )
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            subjects = [row[0] for row in db.execute(interactions_sql)]
            raw_rows = list(db.execute(raw_sql))
    else:
        import psycopg

        with psycopg.connect(url) as db:
            subjects = [row[0] for row in db.execute(interactions_sql)]
            raw_rows = list(db.execute(raw_sql))
    ingested = Counter(
        _token(subject or "") for status, subject in raw_rows if status == "ingested"
    )
    return {
        "interactions": Counter(_token(subject) for subject in subjects),
        "ingested": ingested,
        "duplicates": sum(1 for status, _ in raw_rows if status == "duplicate"),
    }


def _token(subject: str) -> str:
    return subject.rpartition("#")[2]


class Server:
    """`casework smtpd` in its own process group, so SIGKILL takes all of it."""

    def __init__(self, env: dict[str, str], port: int, processes: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.processes = processes
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(VENV_BIN / "casework"), "smtpd", "--host", HOST]
        command += ["--port", str(self.port), "--processes", str(self.processes)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"smtpd exited with {self.process.returncode}")
            try:
                with socket.create_connection((HOST, self.port), timeout=5) as probe:
                    if probe.recv(512).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtpd did not answer within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


# ---------------------------------------------------------------------------------------
# The mails and the clients


def make_mail(number: int, run_id: str) -> bytes:
    token = f"{run_id}-{number}"
    headers = [
        f"From: Kunde {number} <kunde{number % 97}@example.net>",
        f"To: {MAILBOX}",
        # A subject of its own per mail: subject threading must not join them.
        f"Subject: Crash test mail #{token}",
        "Date: Thu, 26 Nov 2026 01:00:00 +0100",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if number % 10 != 9:  # one in ten without a Message-ID: the content hash decides
        headers.append(f"Message-ID: <crash-{token}@example.net>")
    body = f"Mail {token}.\r\nIch habe eine Frage zu meiner Abrechnung.\r\n"
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def send_all(
    port: int, mails: list[bytes], clients: int, *, deadline: float, result: CrashResult
) -> None:
    lock = threading.Lock()
    upcoming = iter(range(len(mails)))

    def take() -> int | None:
        with lock:
            return next(upcoming, None)

    def client() -> None:
        connection: smtplib.SMTP | None = None
        retries, failures = 0, []
        while (index := take()) is not None:
            while time.monotonic() < deadline:
                try:
                    if connection is None:
                        connection = smtplib.SMTP(HOST, port, timeout=30)
                        connection.ehlo("crash-client.localhost")
                    connection.sendmail("kunde@example.net", [MAILBOX], mails[index])
                    with lock:
                        result.accepted += 1
                    break
                except (OSError, smtplib.SMTPException) as error:
                    # Refused, dropped or 4xx: the sending server keeps the mail and retries.
                    retries += 1
                    if len(failures) < 5:
                        failures.append(f"{type(error).__name__}: {str(error)[:80]}")
                    with contextlib.suppress(Exception):
                        if connection is not None:
                            connection.close()
                    connection = None
                    time.sleep(0.1)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.quit()
        with lock:
            result.retries += retries
            result.failures += failures

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_crash_test(
    *,
    engine: str,
    mails: int,
    kills: int,
    clients: int = 4,
    processes: int = 1,
    seed: int = 7,
    max_seconds: float = 600,
    database_url: str | None = None,
) -> CrashResult:
    """`database_url`: a database already migrated and holding the mailbox (see
    `create_mailbox`), left in place; otherwise a fresh one, dropped afterwards."""
    rng = random.Random(seed)
    run_id = uuid.uuid4().hex[:8]
    result = CrashResult(mails=mails)
    work_dir = Path(tempfile.mkdtemp(prefix="casework-crash-"))
    try:
        with contextlib.ExitStack() as stack:
            if database_url is None:
                url = stack.enter_context(fresh_database(engine, work_dir))
                env = environment(url, work_dir)
                prepare_database(env)
            else:
                url = database_url
                env = environment(url, work_dir)
            server = Server(env, _free_port(), processes, work_dir / "smtpd.log")
            stack.callback(server.stop)
            server.start()
            corpus = [make_mail(n, run_id) for n in range(mails)]
            began = time.monotonic()
            sender = threading.Thread(
                target=send_all,
                args=(server.port, corpus, clients),
                kwargs={"deadline": began + max_seconds, "result": result},
            )
            sender.start()
            # Kills at random points of the run (after a random number of accepted mails,
            # plus a random few milliseconds, so that they land anywhere between DATA and
            # the 250: parsing, storing, committing, answering).
            points = sorted(rng.sample(range(1, max(mails - 1, kills + 1)), kills))
            for point in points:
                while result.accepted < point and sender.is_alive():
                    time.sleep(0.002)
                if not sender.is_alive():
                    break
                time.sleep(rng.uniform(0, 0.03))
                server.kill()
                result.kills += 1
                server.start()
            sender.join()
            result.seconds = time.monotonic() - began
            server.stop()
            _count(count_in_database(url), run_id, result)
            if not result.passed:
                log = server.log_path.read_text(errors="replace").splitlines()
                result.failures += [line for line in log if "rror" in line][-5:]
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return result


def _count(found: dict, run_id: str, result: CrashResult) -> None:
    interactions, ingested = found["interactions"], found["ingested"]
    for number in range(result.mails):
        token = f"{run_id}-{number}"
        seen, kept = interactions.get(token, 0), ingested.get(token, 0)
        if seen == 1 and kept == 1:
            result.found_once += 1
        elif seen == 0 or kept == 0:
            result.missing += 1
        else:
            result.duplicated += 1
    result.duplicate_deliveries_kept = found["duplicates"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def main() -> None:
    if "--setup-child" in sys.argv:
        setup_child()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--processes", type=int, default=1, help="casework smtpd --processes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run_crash_test(
        engine=args.db,
        mails=args.mails,
        kills=args.kills,
        clients=args.clients,
        processes=args.processes,
        seed=args.seed,
    )
    figures = asdict(result)
    failures = figures.pop("failures")
    print(f"email_crash ({args.db}, smtpd --processes {args.processes}, {args.clients} clients)")
    for name, value in figures.items():
        print(f"  {name:<28} {round(value, 1) if isinstance(value, float) else value}")
    if failures:
        print("  client errors seen, e.g.: " + "; ".join(failures[:3]))
    print("PASS" if result.passed else "FAIL")
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()

"""E-mail ingestion over real SMTP, against the peer's `get_email` on the same corpus.

    .venv/bin/python bench/email_ingest.py [--db sqlite|pg] [--emails 10000] [--clients 4]
                                           [--no-peer] [--profile] [--keep]

The corpus is the peer's own generator (`../shared/bench/peer/gen_emails.py --seed 42`):
German and English mail, plain and HTML, attachments, 20 % replies. Casework gets a fresh
database (`casework migrate`), one mailbox for the corpus's To address (with its case type,
queue and team; `acknowledges=True`, so every new case also queues an acknowledgement),
and `casework smtpd` on a free loopback port. C client threads (smtplib, one connection
each, reused for every message) send every file: MAIL FROM, RCPT TO, DATA. The clock runs
from the first MAIL FROM to the last 250; the smtpd answers 250 only after the commit.
Then the database is checked: every Message-ID of the corpus stored exactly once as a
RawEmail, one inbound interaction per ingested mail.

The peer: `bench_ingest.sh N DB RUN` from the peer folder (fresh peer database with 1,000
tickets, one `manage.py get_email` over a directory of the same N files). Target:
Casework e-mails/s ÷ peer e-mails/s ≥ 20×. On a miss (or with --profile) `receive_email`
runs in-process over the first files of the corpus on another fresh database, under
cProfile, to show where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import email.parser
import email.utils
import hashlib
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dataset
import measure
import report
import servers

TARGET_PEER_RATIO = 20.0
PEER_DIR = Path(
    os.environ.get(
        "CASEWORK_BENCH_PEER_DIR",
        str(Path(__file__).resolve().parents[2] / "shared" / "bench" / "peer"),
    )
)
TO_ADDRESS = "support@casework-peer.example.com"  # gen_emails.py's default --to
SEED = 42
WORK_NAME = "email-ingest"
PG_DATABASE = "casework_bench_email"
MAX_SEND_SECONDS = 1200  # the whole send phase, however many messages are left
PROFILE_BATCH = 16  # mails per transaction in the profile, as the smtpd batches under load


# ---------------------------------------------------------------------------------------
# Databases


@dataclass(frozen=True)
class Place:
    """A fresh database and data directory for one smtpd (or one profile run)."""

    engine: str
    name: str  # "email-ingest" / "email-ingest-profile"

    @property
    def sqlite_path(self) -> Path:
        return dataset.CACHE_DIR / f"{self.name}.sqlite3"

    @property
    def pg_name(self) -> str:
        return PG_DATABASE + self.name.removeprefix(WORK_NAME).replace("-", "_")

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{dataset.PG_SERVER_URL}/{self.pg_name}"

    @property
    def data_dir(self) -> Path:
        return dataset.CACHE_DIR / f"{self.name}-data"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CASEWORK_DATABASE_URL"] = self.url
        env["CASEWORK_DATA_DIR"] = str(self.data_dir)
        env["DJANGO_SETTINGS_MODULE"] = dataset.SETTINGS_MODULE
        env.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
        return env

    def drop(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal", ".smtpd-lock"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
        else:
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    def create(self) -> float:
        """Drop, create, `casework migrate`; returns the seconds it took."""
        began = time.perf_counter()
        self.drop()
        self.data_dir.mkdir(parents=True)
        if self.engine == "pg":
            dataset._pg_admin(f'CREATE DATABASE "{self.pg_name}"')
        command = [str(servers.VENV_BIN / "casework"), "migrate", "-v", "0"]
        subprocess.run(command, env=self.env(), check=True, timeout=600)
        return time.perf_counter() - began


def setup_django(place: Place) -> None:
    os.environ.update(
        {
            key: value
            for key, value in place.env().items()
            if key.startswith(("CASEWORK_", "DJANGO_"))
        }
    )
    import django

    django.setup()


def create_mailbox() -> dict[str, Any]:
    from django.db import transaction

    from casework.cases.models import CaseType
    from casework.channels.email.models import Mailbox
    from casework.routing.models import Queue, Team

    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            code="support", defaults={"name_de": "Kundenservice", "name_en": "Customer service"}
        )
        queue, _ = Queue.objects.get_or_create(
            code="support-mail", defaults={"name_de": "E-Mail", "name_en": "E-mail", "team": team}
        )
        case_type, _ = CaseType.objects.get_or_create(
            code="email-request",
            defaults={"name_de": "Anfrage", "name_en": "Request", "default_queue": queue},
        )
        mailbox, _ = Mailbox.objects.get_or_create(
            address=TO_ADDRESS,
            defaults={
                "display_name": "Support",
                "case_type": case_type,
                "queue": queue,
                "acknowledges": True,
            },
        )
    return {"address": mailbox.address, "acknowledges": mailbox.acknowledges, "queue": queue.code}


# ---------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Mail:
    name: str
    sender: str
    message_id: str
    data: bytes  # CRLF line endings, as on the wire


def make_corpus(count: int) -> Path:
    out = dataset.CACHE_DIR / f"email-corpus-{count}-seed{SEED}"
    if len(list(out.glob("*.eml"))) == count:
        print(f"corpus: reusing {out}")
        return out
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, str(PEER_DIR / "gen_emails.py"), "--n", str(count)]
    command += ["--out", str(out), "--seed", str(SEED)]
    subprocess.run(command, check=True, timeout=900)
    return out


def read_corpus(directory: Path) -> list[Mail]:
    parser = email.parser.BytesHeaderParser()
    mails = []
    for path in sorted(directory.glob("*.eml")):
        raw = path.read_bytes()
        headers = parser.parsebytes(raw)
        sender = email.utils.parseaddr(str(headers["From"]))[1]
        wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        mails.append(Mail(path.name, sender, str(headers["Message-ID"]).strip(), wire))
    return mails


# The email package draws MIME boundaries from the unseeded `random`: they differ between two
# runs of the generator, everything else is the same.
_BOUNDARY = re.compile(rb"={15}\d+==")


def corpus_digest(directory: Path) -> str:
    """The corpus's fingerprint, MIME boundaries left out."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.eml")):
        digest.update(path.name.encode())
        digest.update(_BOUNDARY.sub(b"=BOUNDARY=", path.read_bytes()))
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# The smtpd and the SMTP clients


class Smtpd:
    """`casework smtpd` in a child process, always stopped by its PID."""

    def __init__(self, place: Place, log_path: Path, *, processes: int = 1) -> None:
        self.place = place
        self.log_path = log_path
        self.processes = processes
        self.port = servers.free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Smtpd:
        command = [str(servers.VENV_BIN / "casework"), "smtpd"]
        command += ["--host", servers.HOST, "--port", str(self.port)]
        command += ["--processes", str(self.processes)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env=self.place.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        print(f"smtpd: {' '.join(command[1:])} (pid {self.process.pid}, log {self.log_path})")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"smtpd exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with socket.create_connection((servers.HOST, self.port), timeout=5) as probe:
                    if probe.recv(512).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("smtpd did not answer within 60 s")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """The smtpd process and, with --processes N, its N server processes."""
        assert self.process is not None
        return [self.process.pid, *measure.descendants(self.process.pid)]

    def memory_kib(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS, summed over the smtpd's processes."""
        found = {"VmHWM": 0, "VmRSS": 0}
        for pid in self.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
                for line in status:
                    key, _, value = line.partition(":")
                    if key in found:
                        found[key] += int(value.split()[0])
        return found

    def cpu_seconds(self) -> float:
        return sum(servers.cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class SendRun:
    first_mail_from: float = float("inf")
    last_250: float = 0.0
    latencies: list[float] = field(default_factory=list)  # DATA → 250
    accepted: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # the detail after "250 2.0.0 OK"
    failures: list[str] = field(default_factory=list)
    unsent: int = 0

    @property
    def seconds(self) -> float:
        return max(self.last_250 - self.first_mail_from, 1e-9)


def send_all(port: int, mails: list[Mail], clients: int, *, max_seconds: float) -> SendRun:
    run = SendRun()
    lock = threading.Lock()
    upcoming = iter(mails)
    deadline = time.monotonic() + max_seconds
    clock = time.perf_counter

    def take() -> Mail | None:
        with lock:
            return next(upcoming, None)

    def client() -> None:
        latencies, answers, failures = [], Counter(), []
        first, last = float("inf"), 0.0
        try:
            connection = smtplib.SMTP(servers.HOST, port, timeout=120)
            connection.ehlo("bench-client.localhost")
        except (OSError, smtplib.SMTPException) as error:
            with lock:
                run.failures.append(f"connect: {error}")
            return
        try:
            while time.monotonic() < deadline and (mail := take()) is not None:
                began = clock()
                first = min(first, began)
                code, text = connection.mail(mail.sender, ["BODY=8BITMIME"])
                if code != 250:
                    failures.append(f"{mail.name} MAIL {code} {text[:80]!r}")
                    connection.rset()
                    continue
                code, text = connection.rcpt(TO_ADDRESS)
                if code != 250:
                    failures.append(f"{mail.name} RCPT {code} {text[:80]!r}")
                    connection.rset()
                    continue
                data_began = clock()
                try:
                    code, text = connection.data(mail.data)
                except smtplib.SMTPResponseException as error:
                    failures.append(f"{mail.name} DATA {error.smtp_code} {error.smtp_error[:80]!r}")
                    connection.rset()
                    continue
                ended = clock()
                last = max(last, ended)
                latencies.append(ended - data_began)
                detail = text.decode(errors="replace").split("OK", 1)[-1].strip()
                answers["case reference" if detail.startswith("CW-") else detail] += 1
        except (OSError, smtplib.SMTPException) as error:
            failures.append(f"connection lost: {error}")
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.quit()
            with lock:
                run.first_mail_from = min(run.first_mail_from, first)
                run.last_250 = max(run.last_250, last)
                run.latencies += latencies
                run.accepted += len(latencies)
                run.answers.update(answers)
                run.failures += failures

    threads = [threading.Thread(target=client, name=f"smtp-client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.unsent = sum(1 for _ in upcoming)
    return run


# ---------------------------------------------------------------------------------------
# Checking the database


def verify(mails: list[Mail]) -> dict[str, Any]:
    from django.db.models import Count, Q

    from casework.cases.models import Case
    from casework.channels.email.models import OutboundEmail, RawEmail
    from casework.interactions.models import Interaction

    expected = {mail.message_id.strip("<>") for mail in mails}
    raw = RawEmail.objects.all()
    by_status = dict(Counter(raw.values_list("status", flat=True)))
    stored = Counter(mid.strip("<>") for mid in raw.values_list("message_id", flat=True))
    stored_twice = {mid: n for mid, n in stored.items() if n > 1}
    inbound = Interaction.objects.filter(channel="email", direction="inbound")
    inbound_ids = Counter(
        (mid or "").strip("<>") for mid in inbound.values_list("external_id", flat=True)
    )
    ingested_rows = raw.filter(status="ingested")
    linked = ingested_rows.exclude(interaction=None).values("interaction").distinct().count()
    cases_per_size = Counter(
        Case.objects.annotate(
            n=Count("interactions", filter=Q(interactions__direction="inbound"))
        ).values_list("n", flat=True)
    )
    return {
        "raw_emails": sum(stored.values()),
        "by_status": by_status,
        "ingested": by_status.get("ingested", 0),
        "duplicate": by_status.get("duplicate", 0),
        "quarantined": by_status.get("quarantined", 0),
        "missing": len(expected - set(stored)),
        "unexpected_message_ids": len(set(stored) - expected),
        "stored_more_than_once": len(stored_twice),
        "inbound_interactions": sum(inbound_ids.values()),
        "interactions_more_than_once": sum(1 for n in inbound_ids.values() if n > 1),
        "interactions_without_raw_email": len(set(inbound_ids) - set(stored)),
        "ingested_linked_to_distinct_interactions": linked,
        "cases": sum(cases_per_size.values()),
        "cases_with_more_than_one_interaction": sum(
            n for size, n in cases_per_size.items() if size > 1
        ),
        "acknowledgements_queued": OutboundEmail.objects.filter(kind="acknowledgement").count(),
        "reply_mails_in_corpus": sum(1 for mail in mails if b"In-Reply-To:" in mail.data),
    }


def verification_problems(check: dict[str, Any], count: int) -> list[str]:
    problems = []
    if check["raw_emails"] != count:
        problems.append(f"{check['raw_emails']} RawEmail rows for {count} mails")
    for key in (
        "missing",
        "unexpected_message_ids",
        "stored_more_than_once",
        "interactions_more_than_once",
        "interactions_without_raw_email",
        "duplicate",
        "quarantined",
    ):
        if check[key]:
            problems.append(f"{key}: {check[key]}")
    if check["inbound_interactions"] != check["ingested"]:
        problems.append(
            f"{check['inbound_interactions']} inbound interactions for "
            f"{check['ingested']} ingested mails"
        )
    if check["ingested_linked_to_distinct_interactions"] != check["ingested"]:
        problems.append("ingested RawEmail rows not linked to one interaction each")
    return problems


# ---------------------------------------------------------------------------------------
# The peer


def run_peer(engine: str, count: int, out_dir: Path, run_number: int) -> dict[str, Any]:
    script = PEER_DIR / "bench_ingest.sh"
    if not script.exists():
        return {"failed": f"no peer harness in {PEER_DIR}"}
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CASEWORK_"))}
    env["PEER_RESULTS"] = str(out_dir)
    command = ["bash", str(script), str(count), engine, str(run_number)]
    print(f"\npeer: {' '.join(command)}  (PEER_RESULTS={out_dir})")
    began = time.perf_counter()
    # Its own session, so an interrupt stops the whole group (get_email included).
    process = subprocess.Popen(command, cwd="/tmp", env=env, start_new_session=True)
    try:
        process.wait(timeout=3600)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise
    if process.returncode != 0:
        return {"failed": f"bench_ingest.sh exited with {process.returncode}"}
    path = out_dir / f"ingest-{engine}-{count}-r{run_number}.json"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return {"failed": f"no peer result: {error}"}
    result["seconds_with_setup"] = round(time.perf_counter() - began, 1)
    peer_corpus = Path(f"/tmp/peer-mail/src-{count}")
    result["corpus_dir"] = str(peer_corpus)
    result["corpus_digest"] = corpus_digest(peer_corpus) if peer_corpus.is_dir() else None
    return result


# ---------------------------------------------------------------------------------------
# The profile (a child process: Django is set up for another database there)


def profile_child(engine: str, corpus_dir: Path, count: int, out_path: Path) -> None:
    place = Place(engine, f"{WORK_NAME}-profile")
    place.create()
    setup_django(place)
    create_mailbox()
    from django.db import connections

    from casework.channels.email.models import Mailbox
    from casework.channels.email.services import prepare_email, receive_batch, receive_email

    mails = read_corpus(corpus_dir)[:count]
    mailbox = Mailbox.objects.select_related("case_type", "queue").get(address=TO_ADDRESS)

    def receive_one_by_one(batch: list[Mail]) -> float:
        began = time.perf_counter()
        for mail in batch:
            receive_email(mail.data, envelope_from=mail.sender, recipients=[TO_ADDRESS])
        return time.perf_counter() - began

    def receive(batch: list[Mail]) -> float:
        """As the smtpd does it: parse, then PROFILE_BATCH mails per transaction."""
        began = time.perf_counter()
        for start in range(0, len(batch), PROFILE_BATCH):
            prepared = [
                prepare_email(mail.data, envelope_from=mail.sender, mailbox=mailbox)
                for mail in batch[start : start + PROFILE_BATCH]
            ]
            for result in receive_batch(prepared):
                if isinstance(result, Exception):
                    raise result
        return time.perf_counter() - began

    receive(mails[:50])  # warm-up: imports, caches, the connection
    single, timed = mails[50 : count // 4], mails[count // 4 : count // 2]
    counted, profiled = mails[count // 2 : count // 2 + 96], mails[count // 2 + 96 :]
    single_seconds = receive_one_by_one(single)
    seconds = receive(timed)
    counter = measure.QueryCounter()
    with counter.installed():
        receive(counted)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled_seconds = receive(profiled)
    profiler.disable()
    print(
        f"profile: receive_email() in-process, no SMTP, one transaction per mail: "
        f"{len(single)} calls at {len(single) / single_seconds:,.0f} e-mails/s "
        f"({1000 * single_seconds / len(single):.2f} ms each)"
    )
    print(
        f"profile: prepare_email() + receive_batch() of {PROFILE_BATCH}, no SMTP: {len(timed)} "
        f"mails at {len(timed) / seconds:,.0f} e-mails/s "
        f"({1000 * seconds / len(timed):.2f} ms each); "
        f"{counter.total / len(counted):.1f} SQL statements per e-mail"
    )
    report.print_table(
        f"SQL statements per e-mail (average over {len(counted)})",
        ["statement", "per e-mail"],
        [(shape, n / len(counted)) for shape, n in counter.shapes.most_common(20)],
    )
    print(
        f"\ncProfile of {len(profiled)} more mails ({len(profiled) / profiled_seconds:,.0f} "
        "e-mails/s with the profiler on), by cumulative time:"
    )
    print(measure.profile_top(profiler, sort="cumulative", limit=50))
    print("\nby own time:")
    print(measure.profile_top(profiler, sort="tottime", limit=25))
    out_path.write_text(measure.profile_full(profiler))
    print(f"\nprofile: full text in {out_path.relative_to(report.REPO_DIR)}")
    connections.close_all()
    place.drop()


def run_profile(engine: str, corpus_dir: Path, count: int, out_path: Path) -> int:
    command = [sys.executable, str(Path(__file__).resolve()), "--db", engine]
    command += ["--profile-child", str(corpus_dir), "--profile-emails", str(count)]
    command += ["--profile-out", str(out_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CASEWORK_DAT"))}
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return process.wait(timeout=1800)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise


# ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent SMTP connections")
    parser.add_argument(
        "--processes", type=int, default=2, help="casework smtpd --processes (default 2)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the peer's run")
    parser.add_argument("--peer-run", type=int, default=1, help="bench_ingest.sh's RUN number")
    parser.add_argument("--profile", action="store_true", help="profile even on a PASS")
    parser.add_argument("--profile-emails", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--profile-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups
    dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if args.profile_child:
        profile_child(args.db, args.profile_child, args.profile_emails, args.profile_out)
        return
    place = Place(args.db, WORK_NAME)
    try:
        run(args, place)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            place.drop()
            print(f"database {place.url} dropped")


def run(args: argparse.Namespace, place: Place) -> None:
    corpus_dir = make_corpus(args.emails)
    migrate_seconds = place.create()
    setup_django(place)
    mailbox = create_mailbox()
    facts = report.machine_facts()
    report.print_header(
        f"email_ingest: e-mail over SMTP into Casework, against the peer ({args.db})",
        facts,
        {
            "database": f"{place.url} (fresh, migrated in {migrate_seconds:.1f} s)",
            "corpus": f"{args.emails:,} e-mails from gen_emails.py --seed {SEED}: {corpus_dir}",
            "mailbox": f"{mailbox['address']} (acknowledges={mailbox['acknowledges']})",
            "clients": f"{args.clients} SMTP connections, each reused for its messages",
            "smtpd": f"casework smtpd --processes {args.processes}",
        },
    )
    from django.db import connections

    mails = read_corpus(corpus_dir)
    corpus_bytes = sum(len(mail.data) for mail in mails)
    connections.close_all()  # the smtpd is the only writer while measuring

    measure.wait_for_quiet(args.quiet_wait)
    log_path = dataset.CACHE_DIR / f"smtpd-{args.db}.log"
    with Smtpd(place, log_path, processes=args.processes) as smtpd:
        cpu_before = smtpd.cpu_seconds()
        with measure.MachineLoad(place.pg_name if args.db == "pg" else None) as load:
            sent = send_all(smtpd.port, mails, args.clients, max_seconds=MAX_SEND_SECONDS)
        cpu = smtpd.cpu_seconds() - cpu_before
        memory = smtpd.memory_kib()
    logged = Counter()
    with contextlib.suppress(OSError), open(log_path, errors="replace") as log:
        for line in log:
            if "Traceback" in line or "quarantined" in line or "ERROR" in line:
                logged[line.strip()[:140]] += 1

    check = verify(mails)
    problems = verification_problems(check, len(mails))
    if sent.failures:
        problems.append(f"{len(sent.failures)} SMTP failures, e.g. {sent.failures[:3]}")
    if sent.unsent:
        problems.append(f"{sent.unsent} mails not sent within {MAX_SEND_SECONDS} s")
    connections.close_all()

    latency = measure.Latency.of(sent.latencies)
    per_second = sent.accepted / sent.seconds
    print("\nSMTP send: " + load.describe())

    peer: dict[str, Any] | None = None
    if not args.no_peer:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        peer = run_peer(
            args.db, args.emails, dataset.CACHE_DIR / f"peer-results-{stamp}", args.peer_run
        )
    ratio = float("nan")
    if peer and "failed" not in peer:
        ratio = per_second / peer["emails_per_s"]

    report.print_table(
        f"Casework over SMTP ({args.db}, {args.emails:,} e-mails, {args.clients} clients, "
        f"{args.processes} smtpd processes)",
        ["what", "figure"],
        [
            ("e-mails accepted (250)", sent.accepted),
            ("first MAIL FROM → last 250, s", round(sent.seconds, 2)),
            ("e-mails/s end to end", round(per_second, 1)),
            ("MB/s on the wire", round(corpus_bytes / 1e6 / sent.seconds, 2)),
            ("DATA → 250 p50, ms", latency.p50),
            ("DATA → 250 p95, ms", latency.p95),
            ("DATA → 250 p99 / max, ms", f"{latency.p99:.1f} / {latency.max:.1f}"),
            ("smtpd CPU s during the send", round(cpu, 1)),
            ("smtpd peak RSS (VmHWM), MiB", round(memory.get("VmHWM", 0) / 1024, 1)),
            ("smtpd RSS at the end, MiB", round(memory.get("VmRSS", 0) / 1024, 1)),
        ],
    )
    report.print_table(
        "In the database afterwards",
        ["what", "count"],
        [
            ("RawEmail rows", check["raw_emails"]),
            ("  ingested", check["ingested"]),
            ("  duplicate", check["duplicate"]),
            ("  quarantined", check["quarantined"]),
            ("corpus Message-IDs missing", check["missing"]),
            ("Message-IDs stored more than once", check["stored_more_than_once"]),
            ("inbound e-mail interactions", check["inbound_interactions"]),
            ("cases", check["cases"]),
            (
                "cases with more than one inbound mail",
                check["cases_with_more_than_one_interaction"],
            ),
            ("acknowledgements queued", check["acknowledgements_queued"]),
            ("replies in the corpus (In-Reply-To)", check["reply_mails_in_corpus"]),
        ],
    )
    print(
        "250 answers by detail: "
        + ", ".join(f"{detail} {n:,}" for detail, n in sent.answers.most_common(5))
    )
    if check["reply_mails_in_corpus"]:
        print(
            "replies quote the peer's ticket references ([support-<id>], parents "
            "<reply-parent-<id>@helpdesk.example.com>), which Casework never sent: each opens "
            "a case of its own (the peer adds them to its 1,000 seeded tickets)."
        )
    if logged:
        print("smtpd log lines worth a look:")
        for line, n in logged.most_common(8):
            print(f"  {n:>5} × {line}")
    if problems:
        print("VERIFICATION PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print("verified: every mail of the corpus stored exactly once, one interaction each")

    summary = [
        (
            "Casework, casework smtpd",
            f"{per_second:,.1f} e-mails/s",
            f"{args.clients} SMTP clients, {args.processes} processes; "
            f"DATA→250 p50 {latency.p50:.1f} ms, p95 {latency.p95:.1f} ms; "
            f"peak RSS {memory.get('VmHWM', 0) / 1024:.0f} MiB",
        )
    ]
    checks = [
        report.Check(f"every mail stored exactly once ({args.db})", len(problems), 0, "problems")
    ]
    if peer is not None:
        if "failed" in peer:
            summary.append(("peer get_email", "failed", peer["failed"]))
        else:
            same = peer.get("corpus_digest") == corpus_digest(corpus_dir)
            summary.append(
                (
                    "peer (django-helpdesk) get_email",
                    f"{peer['emails_per_s']:,.1f} e-mails/s",
                    f"{peer['processed']:,} processed in {peer['wall_s']} s, "
                    f"{peer['new_tickets']:,} new tickets, peak RSS {peer['peak_rss_mib']} MiB; "
                    f"same corpus: {'yes' if same else 'NO'}",
                )
            )
            summary.append(("Casework ÷ peer", f"{ratio:.1f}×", "e-mails per second"))
        checks.append(
            report.Check(
                f"Casework ÷ peer e-mails/s ({args.db})",
                ratio,
                TARGET_PEER_RATIO,
                "×",
                at_most=False,
            )
        )
    print("\n" + "=" * 100)
    report.print_table(f"email_ingest summary ({args.db})", ["what", "figure", "details"], summary)
    report.print_checks(checks)

    profile_path = None
    if args.profile or (peer is not None and ratio == ratio and ratio < TARGET_PEER_RATIO):
        stamp = time.strftime("%Y%m%dT%H%M%S")
        profile_path = report.RESULTS_DIR / f"email_ingest-{args.db}-{stamp}.prof.txt"
        report.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        print(f"\nprofiling receive_email() in-process over the first {args.profile_emails} files")
        run_profile(args.db, corpus_dir, args.profile_emails, profile_path)

    report.write_results(
        "email_ingest",
        args.db,
        {
            "benchmark": "email_ingest",
            "engine": args.db,
            "facts": facts,
            "emails": args.emails,
            "corpus": {"dir": str(corpus_dir), "bytes": corpus_bytes, "seed": SEED},
            "clients": args.clients,
            "smtpd_processes": args.processes,
            "mailbox": mailbox,
            "casework": {
                "accepted": sent.accepted,
                "seconds": round(sent.seconds, 3),
                "emails_per_second": round(per_second, 1),
                "latency_data_to_250": latency.as_dict(),
                "smtpd_cpu_seconds": round(cpu, 2),
                "smtpd_peak_rss_mib": round(memory.get("VmHWM", 0) / 1024, 1),
                "answers": dict(sent.answers),
                "failures": sent.failures[:20],
                "unsent": sent.unsent,
                "machine_load": load.figures,
            },
            "database_check": check,
            "problems": problems,
            "peer": peer,
            "ratio_casework_to_peer": round(ratio, 2) if ratio == ratio else None,
            "profile_file": str(profile_path.relative_to(report.REPO_DIR))
            if profile_path
            else None,
            "checks": [c.as_dict() for c in checks],
        },
    )


if __name__ == "__main__":
    main()

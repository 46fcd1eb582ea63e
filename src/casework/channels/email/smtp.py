"""The inbound SMTP server (aiosmtpd).

RCPT is refused (550) for addresses that are not an active mailbox; DATA above the size
limit is refused (552) by aiosmtpd itself. DATA is answered 250 only after the raw mail and
what it caused are committed; any failure before that answers 451, so the sending server
keeps the mail and retries — nothing is lost when this process dies between DATA and
commit.

Group commit (docs/adr/0006-smtp-group-commit.md): the event loop hands each mail to a
parser thread, then to the one database thread, which takes every mail waiting from all
sessions and stores them in one transaction, one savepoint per mail. Each sender gets its
answer after that single commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections

from casework.channels.email.models import Mailbox
from casework.channels.email.services import (
    MailboxCache,
    PreparedEmail,
    ReceivedEmail,
    prepare_email,
    receive_batch,
)

logger = logging.getLogger(__name__)

# More mails per transaction would hold the write lock (SQLite) or the event chain head
# (PostgreSQL) longer without saving more fsyncs.
MAX_BATCH = 64
READY_TIMEOUT_SECONDS = 60.0
RETRY_LATER = "451 4.3.0 Temporary failure, please try again later"


@dataclass
class _Job:
    """Work for the database thread: a prepared mail (batched) or a function (alone)."""

    future: Future[Any]
    mail: PreparedEmail | None = None
    function: Callable[[], Any] | None = None


class DatabaseThread:
    """The one thread of this process that talks to the database. The ORM is synchronous
    and writers queue on the database anyway; one thread keeps one connection warm and
    can put the mails of many sessions into one transaction."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="smtp-db", daemon=True)
        self._thread.start()

    def call(self, function: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put(_Job(future, function=function))
        return future

    def store(self, mail: PreparedEmail) -> Future[ReceivedEmail]:
        future: Future[ReceivedEmail] = Future()
        self._jobs.put(_Job(future, mail=mail))
        return future

    def close(self) -> None:
        """Release the thread's database connection (a PostgreSQL database cannot be
        dropped, or a server restarted cleanly, while it is open)."""
        self.call(connections.close_all).result()
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            jobs = [job]
            # Everything that arrived while the last transaction ran goes into this one.
            while len(jobs) < self.max_batch:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # stop after this batch
                    break
                jobs.append(more)
            # A session that went away cancelled its future: its sender got no 250 and
            # will send again, so its mail is not stored now. The others can no longer be
            # cancelled from here on.
            jobs = [job for job in jobs if job.future.set_running_or_notify_cancel()]
            try:
                close_old_connections()
                for job in jobs:
                    if job.function is not None:
                        _settle(job.future, job.function)
                self._store([job for job in jobs if job.mail is not None])
            except Exception as error:  # noqa: BLE001 - this thread must keep serving
                logger.exception("the SMTP server's database thread failed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _store(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        try:
            with _writer_turn():
                results = receive_batch([job.mail for job in jobs if job.mail is not None])
        except Exception as error:  # noqa: BLE001 - the commit failed: every sender retries
            logger.exception("a batch of %s mails could not be committed", len(jobs))
            for job in jobs:
                job.future.set_exception(error)
            return
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)


@contextlib.contextmanager
def _writer_turn() -> Iterator[None]:
    """On SQLite, server processes (`--processes N`) take turns through a lock file: a
    process waiting for SQLite's write lock polls with sleeps of up to 100 ms, a process
    waiting for the file lock wakes as soon as the other is done."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or str(db.settings_dict["NAME"]).startswith(("file:", ":memory")):
        yield
        return
    with open(f"{db.settings_dict['NAME']}.smtpd-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _settle(future: Future[Any], function: Callable[[], Any]) -> None:
    try:
        future.set_result(function())
    except Exception as error:  # noqa: BLE001 - handed to the waiting coroutine
        future.set_exception(error)


class CaseworkHandler:
    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.database = DatabaseThread(max_batch=max_batch)
        # Parsing is pure Python: off the event loop (which serves every session) and off
        # the database thread (which then only does database work).
        self.parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-parse")
        self.mailboxes = MailboxCache()

    def close(self) -> None:
        self.parser.shutdown()
        self.database.close()

    async def _find_mailbox(self, address: str) -> Mailbox | None:
        known, mailbox = self.mailboxes.peek(address)
        if known:
            return mailbox
        return await asyncio.wrap_future(self.database.call(lambda: self.mailboxes.find(address)))

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        mailbox = await self._find_mailbox(address)
        if mailbox is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        # DATA stores the mail for the first recipient that is a mailbox, found here.
        if getattr(envelope, "casework_mailbox", None) is None:
            envelope.casework_mailbox = mailbox
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        try:
            prepared = await asyncio.get_running_loop().run_in_executor(
                self.parser,
                lambda: prepare_email(
                    raw,
                    envelope_from=envelope.mail_from or "",
                    mailbox=envelope.casework_mailbox,
                ),
            )
            received: ReceivedEmail = await asyncio.wrap_future(self.database.store(prepared))
        except Exception:
            logger.exception("could not store a mail from %s; asking to retry", envelope.mail_from)
            return RETRY_LATER
        detail = received.case_reference or received.status
        return f"250 2.0.0 OK {detail}"


class CaseworkController(Controller):  # type: ignore[misc]
    def __init__(self, *args: Any, reuse_port: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reuse_port = reuse_port

    def _create_server(self) -> Any:
        # SO_REUSEPORT: several `casework smtpd` processes listen on one port and the
        # kernel spreads the connections over them.
        return self.loop.create_server(
            self._factory_invoker,
            host=self.hostname,
            port=self.port,
            ssl=self.ssl_context,
            reuse_port=self.reuse_port or None,
        )

    def _trigger_server(self) -> None:
        if not self.reuse_port:
            super()._trigger_server()
            return
        # aiosmtpd checks its protocol factory by connecting to its own port; with
        # SO_REUSEPORT that connection may reach a sibling process, and the check would
        # fail after the timeout. Invoke the factory directly instead.
        self.loop.call_soon_threadsafe(self._factory_invoker)

    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        self.handler.close()


def build_controller(host: str, port: int, *, reuse_port: bool = False) -> Controller:
    return CaseworkController(
        CaseworkHandler(),
        hostname=host,
        port=port,
        reuse_port=reuse_port,
        # The controller talks to itself once at start; on a busy machine that can take
        # longer than aiosmtpd's default second.
        ready_timeout=READY_TIMEOUT_SECONDS,
        data_size_limit=settings.CASEWORK_MAX_EMAIL_BYTES,
        # Keep the bytes exactly as they arrived (no decoding of the DATA stream).
        decode_data=False,
        ident="Casework ESMTP",
    )

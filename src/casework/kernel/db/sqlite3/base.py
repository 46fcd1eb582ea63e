"""Django's SQLite backend, with writers that say when they wait for the write lock, and
checkpoints in the background for a process that writes much.

SQLite has one write lock per file. A writer that finds it taken waits in SQLite's busy
handler, which looks again after 1, 2, 5 … ms and, once it has waited a third of a second,
only every 100 ms. A process that writes batch after batch (the intake worker) would shut
such a writer out: it must leave the lock free for 100 ms now and then — and pausing when
nobody waits costs it a tenth of its time.

So every connection of this backend holds a shared `flock` on a file beside the database
(`<name>-writers`) while it waits to begin writing: at `BEGIN IMMEDIATE`, and at a write
statement outside a transaction. `WaitingWriters.let_in()` tells whether anyone holds it
— someone is waiting — and waits until they are in. In-memory databases have no such file
(and no other process to wait for).

A commit that finds the write-ahead log longer than 1,000 pages copies it into the database
file (a checkpoint, with its fsyncs) before it returns — for the intake worker a twelfth of
its time. `checkpoint_in_background()` turns that off for the process's connections and
lets a thread of its own checkpoint instead: SQLite runs a checkpoint beside writers and
readers, and the driver releases the GIL meanwhile, so the commits go on.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.backends.sqlite3.base import SQLiteCursorWrapper

logger = logging.getLogger(__name__)

# Statements that need the write lock (a WITH may only read: announcing it costs the
# worker a moment's wait at most). Plain BEGIN (deferred) takes no lock yet.
_WRITES = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "BEGIN IMMEDIATE",
    "BEGIN EXCLUSIVE",
    "CREATE",
    "DROP",
    "ALTER",
    "WITH",
)

# How often `let_in()` looks whether the waiting writers are in.
_LOOK_SECONDS = 0.002


class WaitingWriters:
    """The `<database>-writers` file of one connection. Opened on first use; each
    connection has its own descriptor, as `flock` locks belong to the open file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._descriptor: int | None = None

    def _file(self) -> int:
        if self._descriptor is None:
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._descriptor

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Held while this connection waits for the write lock."""
        descriptor = self._file()
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)

    def anyone_waiting(self) -> bool:
        descriptor = self._file()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return False

    def let_in(self, max_seconds: float) -> float:
        """Wait (without holding the write lock) until no writer waits any more, or for
        `max_seconds`; returns the seconds waited (0.0: nobody was waiting)."""
        started = time.monotonic()
        while self.anyone_waiting():
            waited = time.monotonic() - started
            if waited >= max_seconds:
                return waited
            time.sleep(_LOOK_SECONDS)
        return time.monotonic() - started

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def _is_write(query: str) -> bool:
    return query.lstrip()[:15].upper().startswith(_WRITES)


class AnnouncingCursor(SQLiteCursorWrapper):
    """Announces a statement that will wait for the write lock: one outside a transaction
    that writes or begins a writing transaction."""

    writers: WaitingWriters | None = None

    def execute(self, query: str, params: Any = None) -> Any:
        if self.writers is not None and self._may_wait(query):
            with self.writers.waiting():
                return super().execute(query, params)
        return super().execute(query, params)

    def executemany(self, query: str, param_list: Any) -> Any:
        if self.writers is not None and self._may_wait(query):
            with self.writers.waiting():
                return super().executemany(query, param_list)
        return super().executemany(query, param_list)

    def _may_wait(self, query: str) -> bool:
        # Inside a transaction the connection has the write lock since its BEGIN IMMEDIATE
        # (the settings' transaction mode), which announced itself.
        return not self.connection.in_transaction and _is_write(query)


# Set by `checkpoint_in_background()`: this process's connections leave checkpoints to it.
_checkpoints_elsewhere = False


def checkpoint_in_background(paths: Sequence[str], *, every_seconds: float = 0.25) -> None:
    """From now on this process's new connections commit without checkpointing; a daemon
    thread checkpoints the files at `paths` every `every_seconds` instead. Other processes
    keep checkpointing as usual. Connections opened before keep doing so too: call this
    first."""
    global _checkpoints_elsewhere
    _checkpoints_elsewhere = True
    stop = threading.Event()
    threading.Thread(
        target=checkpoint_until, args=(stop, list(paths), every_seconds), daemon=True,
        name="sqlite-checkpoints",
    ).start()  # fmt: skip


def checkpoint_until(stop: threading.Event, paths: list[str], every_seconds: float) -> None:
    """Checkpoint the files every `every_seconds` until `stop` is set. PASSIVE: copies what
    no reader still needs, and never waits for a lock."""
    files: dict[str, sqlite3.Connection] = {}
    try:
        while not stop.is_set():
            for path in paths:
                try:
                    if path not in files:
                        files[path] = sqlite3.connect(path, timeout=30)
                    files[path].execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    # Tried again next round, on a new connection; until then the log only
                    # grows, and other processes' commits still checkpoint it.
                    logger.exception("checkpointing %s failed", path)
                    stale = files.pop(path, None)
                    if stale is not None:
                        stale.close()
            stop.wait(every_seconds)
    finally:
        for connection in files.values():
            connection.close()


class DatabaseWrapper(SQLiteDatabaseWrapper):
    waiting_writers: WaitingWriters | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if _checkpoints_elsewhere:
            connection.execute("PRAGMA wal_autocheckpoint = 0")
        path = f"{conn_params['database']}-writers"
        if self.waiting_writers is not None and self.waiting_writers.path != path:
            self.waiting_writers.close()  # the name changed (e.g. to the test database's)
            self.waiting_writers = None
        if self.waiting_writers is None and not self.is_in_memory_db():
            self.waiting_writers = WaitingWriters(path)
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=AnnouncingCursor)
        cursor.writers = self.waiting_writers
        return cursor

    def _close(self) -> None:
        super()._close()
        if self.waiting_writers is not None:
            self.waiting_writers.close()

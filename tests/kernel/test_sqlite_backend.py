"""The SQLite backend's writers say when they wait for the write lock, so a process
holding it batch after batch (the intake worker) lets them in without pausing blindly."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from casework.kernel.db.sqlite3 import base
from casework.kernel.db.sqlite3.base import WaitingWriters, _is_write, checkpoint_until

on_sqlite = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="SQLite only"
)


def test_statements_that_take_the_write_lock_are_told_from_those_that_do_not():
    for query in (
        "INSERT INTO t VALUES (1)",
        "  update t SET x = 1",
        "DELETE FROM t",
        "BEGIN IMMEDIATE",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "CREATE TABLE t (x)",
    ):
        assert _is_write(query), query
    for query in ("SELECT 1", "BEGIN", "PRAGMA data_version", "SAVEPOINT s1", "COMMIT"):
        assert not _is_write(query), query


def test_a_writer_holding_the_file_is_seen_as_waiting(tmp_path):
    path = str(tmp_path / "db.sqlite3-writers")
    writer, worker = WaitingWriters(path), WaitingWriters(path)
    try:
        assert not worker.anyone_waiting()
        assert worker.let_in(1.0) < 0.05  # nobody waits: no pause
        with writer.waiting():
            assert worker.anyone_waiting()
            assert worker.let_in(0.05) >= 0.05  # still waiting: gives up after the limit
        assert not worker.anyone_waiting()
    finally:
        writer.close()
        worker.close()


def _eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def _in_thread(work: Callable[[], None]) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        try:
            work()
            done.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done


@on_sqlite
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["transaction", "autocommit"])
def test_a_django_writer_waiting_for_the_lock_says_so_until_it_is_in(how):
    main = connections[DEFAULT_DB_ALIAS]
    main.ensure_connection()
    watcher = main.waiting_writers
    other = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    def write() -> None:
        if how == "transaction":
            with transaction.atomic(), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("UPDATE django_content_type SET model = model WHERE id = 0")
        else:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("UPDATE django_content_type SET model = model WHERE id = 0")

    thread, done = _in_thread(write)
    try:
        assert _eventually(watcher.anyone_waiting)
        assert not done.is_set()
        other.execute("COMMIT")
        assert watcher.let_in(5.0) < 5.0  # the busy handler looks again: it gets in
        thread.join(timeout=10)
        assert done.is_set() and not watcher.anyone_waiting()
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        thread.join()


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_readers_do_not_say_they_wait():
    main = connections[DEFAULT_DB_ALIAS]
    main.ensure_connection()
    other = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    seen: list[bool] = []

    def read() -> None:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM django_content_type")
            seen.append(main.waiting_writers.anyone_waiting())

    try:
        thread, done = _in_thread(read)
        thread.join(timeout=10)
        assert done.is_set() and seen == [False]  # WAL: reading needs no lock
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_background_thread_checkpoints_what_the_writers_leave(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # as the worker's connections
    writer.execute("CREATE TABLE t (x)")
    for n in range(200):
        writer.execute("INSERT INTO t VALUES (?)", [f"row {n}" * 50])

    def copied_all() -> bool:
        # A second passive checkpoint finds nothing left to copy: (0, frames, frames).
        busy, frames, copied = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames > 0 and copied == frames

    stop = threading.Event()
    thread = threading.Thread(target=checkpoint_until, args=(stop, [path], 0.01))
    thread.start()
    try:
        assert _eventually(lambda: _log_copied(path))
        assert copied_all()
    finally:
        stop.set()
        thread.join(timeout=10)
        writer.close()
    assert not thread.is_alive()


def _log_copied(path: str) -> bool:
    """Whether the database file holds every row (read without the log)."""
    copy = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return copy.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 200
    except sqlite3.OperationalError:
        return False  # not even the table is in the file yet
    finally:
        copy.close()


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_connections_of_a_checkpointing_process_leave_the_checkpoints_to_it(monkeypatch):
    connection = connections[DEFAULT_DB_ALIAS]

    def autocheckpoint() -> int:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    assert autocheckpoint() == 1000
    monkeypatch.setattr(base, "_checkpoints_elsewhere", True)
    assert autocheckpoint() == 0
    monkeypatch.setattr(base, "_checkpoints_elsewhere", False)
    assert autocheckpoint() == 1000

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

from casework.kernel.db.sqlite3.base import WaitingWriters, _is_write

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

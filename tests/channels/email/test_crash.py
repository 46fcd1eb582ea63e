"""SIGKILL the SMTP server while mail arrives: every mail answered 250 is stored exactly
once (the bounded variant of `bench/email_crash.py`, which does the work)."""

from __future__ import annotations

import contextlib
import importlib.util
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, connections

BENCH_SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "email_crash.py"


def load_crash_harness():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("email_crash", BENCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def crash_database(transactional_db, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """A copy of the migrated test database with the crash test's mailbox, for the server
    processes (migrating a new database would take most of the test's time)."""
    harness = load_crash_harness()
    settings = connection.settings_dict
    harness.create_mailbox()
    connections.close_all()  # SQLite: the file complete; PostgreSQL: a free template
    if settings["ENGINE"].endswith("sqlite3"):
        path = tmp_path / "crash.sqlite3"
        # The backup API copies what is committed, also what still sits in the WAL file.
        with (
            contextlib.closing(sqlite3.connect(settings["NAME"])) as source,
            contextlib.closing(sqlite3.connect(path)) as copy,
        ):
            source.backup(copy)
        yield f"sqlite:///{path}"
        return
    name = f"casework_crash_{uuid.uuid4().hex[:10]}"
    _postgres_admin(settings, f'CREATE DATABASE "{name}" TEMPLATE "{settings["NAME"]}"')
    try:
        yield f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
    finally:
        _postgres_admin(settings, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(settings: dict, statement: str) -> None:
    import psycopg

    with psycopg.connect(
        dbname="postgres",
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute(statement)


def test_no_mail_is_lost_or_doubled_when_the_server_is_killed(crash_database):
    harness = load_crash_harness()

    result = harness.run_crash_test(
        engine="given",
        mails=100,
        kills=3,
        clients=4,
        seed=11,
        max_seconds=60,
        database_url=crash_database,
    )

    assert result.kills == 3, result
    assert result.accepted == 100, result
    assert (result.found_once, result.missing, result.duplicated) == (100, 0, 0), result

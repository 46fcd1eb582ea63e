"""On SQLite the intake queue is a file of its own: messages are accepted while the worker's
ingesting transaction holds the main file's write lock."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction

from casework.cases.models import Case
from casework.intake import queue
from casework.intake.dbrouter import (
    QUEUE_ALIAS,
    move_queue_out_of_default,
    queue_database,
    queue_is_separate,
)
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.models import QueuedMessage

on_sqlite = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="SQLite only"
)


def mail(external_id: str) -> InboundMessage:
    return InboundMessage(
        channel="email",
        external_id=external_id,
        received_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        sender=(SenderIdentifier("email", "helmut@example.de"),),
        subject="Frage zu meinem Vertrag",
        text="Guten Tag, ich habe eine Frage.",
    )


@on_sqlite
def test_on_sqlite_the_queue_lives_beside_the_main_file_and_nothing_else_does():
    main = Path(settings.DATABASES["default"]["NAME"])
    assert Path(settings.DATABASES[QUEUE_ALIAS]["NAME"]) == main.with_name(
        f"{main.stem}-queue{main.suffix}"
    )
    assert queue_is_separate()
    assert router.db_for_write(QueuedMessage) == QUEUE_ALIAS
    assert router.db_for_write(Case) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(QUEUE_ALIAS, "intake", model_name="queuedmessage")
    assert not router.allow_migrate(QUEUE_ALIAS, "cases", model_name="case")
    assert not router.allow_migrate(DEFAULT_DB_ALIAS, "intake", model_name="queuedmessage")


def test_without_a_queue_file_everything_stays_in_one_database(monkeypatch):
    monkeypatch.delitem(settings.DATABASES, QUEUE_ALIAS, raising=False)  # as on PostgreSQL
    assert queue_database() == DEFAULT_DB_ALIAS and not queue_is_separate()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "intake", model_name="queuedmessage")


@on_sqlite
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_message_is_accepted_while_another_process_holds_the_main_write_lock(email_intake):
    main = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    main.execute("BEGIN IMMEDIATE")  # as the worker does while it ingests a batch
    accepted: list[queue.Accepted] = []

    def accept() -> None:
        try:
            accepted.append(queue.enqueue(mail("<m1@x>")))
        finally:
            connections.close_all()

    try:
        thread = threading.Thread(target=accept)
        thread.start()
        thread.join(timeout=10)  # the busy timeout is 30 s: waiting would show
        assert not thread.is_alive() and accepted and accepted[0].is_new
    finally:
        main.execute("ROLLBACK")
        main.close()
        thread.join()
    assert QueuedMessage.objects.filter(external_id="<m1@x>").exists()


@on_sqlite
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_entries_of_a_queue_kept_in_the_main_file_move_over_with_their_ids(email_intake):
    main = connections[DEFAULT_DB_ALIAS]
    with main.schema_editor() as editor:
        editor.create_model(QueuedMessage)  # the table as it was before the queue moved
    try:
        with main.cursor() as cursor:
            for pk in (41, 42):
                cursor.execute(
                    "INSERT INTO intake_queuedmessage (id, channel, external_id, message, "
                    "received_at, accepted_at, status, attempts, next_attempt_at, "
                    "case_reference, is_duplicate, error) VALUES (%s, 'email', %s, '{}', "
                    "'2026-11-02 09:30:00', '2026-11-02 09:30:00', 'queued', 0, "
                    "'2026-11-02 09:30:00', '', 0, '{}')",
                    [pk, f"<m{pk}@x>"],
                )

        assert move_queue_out_of_default() == 2

        assert list(QueuedMessage.objects.order_by("pk").values_list("pk", "external_id")) == [
            (41, "<m41@x>"),
            (42, "<m42@x>"),
        ]
        with main.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM intake_queuedmessage")
            assert cursor.fetchone()[0] == 0
        assert move_queue_out_of_default() == 0  # nothing left to move
        assert queue.enqueue(mail("<m43@x>")).entry.pk > 42  # ids go on after the moved
    finally:
        with main.schema_editor() as editor:
            editor.delete_model(QueuedMessage)


@on_sqlite
def test_casework_migrate_creates_both_files(tmp_path):
    environment = {
        **os.environ,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "casework.config.settings.demo",
    }
    environment.pop("CASEWORK_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "casework.cli", "migrate", "-v", "0"],
        env=environment,
        check=True,
        timeout=300,
    )

    def tables(name: str) -> set[str]:
        with sqlite3.connect(tmp_path / name) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}

    assert "intake_queuedmessage" in tables("casework-queue.sqlite3")
    assert "cases_case" not in tables("casework-queue.sqlite3")
    assert "cases_case" in tables("casework.sqlite3")
    assert "intake_queuedmessage" not in tables("casework.sqlite3")


@on_sqlite
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_after_a_full_batch_the_worker_lets_waiting_writers_in_and_only_them():
    assert queue._step_aside() < queue.SQLITE_PAUSE_SECONDS / 2  # nobody waits: no pause

    got_in = threading.Event()

    def write() -> None:
        try:
            with transaction.atomic():  # BEGIN IMMEDIATE waits for the worker's lock
                got_in.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    with transaction.atomic():  # the worker's batch holds the write lock
        Case.objects.filter(pk=0).update(subject="")
        writer.start()
        waiting = connections[DEFAULT_DB_ALIAS].waiting_writers
        deadline = time.monotonic() + 10
        while not waiting.anyone_waiting() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not got_in.is_set()
    waited = queue._step_aside()  # the batch committed: the writer gets its turn
    writer.join(timeout=10)
    assert got_in.is_set()
    assert 0 < waited < queue.SQLITE_PAUSE_SECONDS

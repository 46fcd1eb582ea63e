"""Which database holds the intake queue.

On SQLite the queue is a file of its own (`DATABASES["intake_queue"]`, see the settings):
web processes accept messages into it while the worker's ingesting transactions hold the
main file's write lock. Without that entry (PostgreSQL) everything is in `default`, and the
worker takes and ingests a batch in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

QUEUE_ALIAS = "intake_queue"
_QUEUE_MODEL = ("intake", "queuedmessage")


def queue_database() -> str:
    return QUEUE_ALIAS if QUEUE_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS


def queue_is_separate() -> bool:
    return queue_database() != DEFAULT_DB_ALIAS


def _is_queue(app_label: str, model_name: str | None) -> bool:
    return (app_label, model_name) == _QUEUE_MODEL


class QueueDatabaseRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return (
            queue_database() if _is_queue(model._meta.app_label, model._meta.model_name) else None
        )

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return self.db_for_read(model, **hints)

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if db == QUEUE_ALIAS:
            return _is_queue(app_label, model_name)
        if _is_queue(app_label, model_name):
            return db == queue_database()
        return None


def move_queue_out_of_default(*, batch: int = 10_000) -> int:
    """An installation that kept the queue in its main SQLite file before it had a file of
    its own: its entries move over with their ids (status URLs stay valid). Returns how
    many moved; run by `casework migrate` after both databases are migrated."""
    if not queue_is_separate():
        return 0
    main, queue = connections[DEFAULT_DB_ALIAS], connections[QUEUE_ALIAS]
    table = "intake_queuedmessage"
    if table not in main.introspection.table_names():
        return 0
    moved = 0
    with (
        transaction.atomic(using=QUEUE_ALIAS),
        transaction.atomic(using=DEFAULT_DB_ALIAS),
        main.cursor() as source,
        queue.cursor() as target,
    ):
        source.execute(f"SELECT * FROM {table} ORDER BY id")
        columns = ", ".join(column[0] for column in source.description)
        marks = ", ".join(["%s"] * len(source.description))
        while rows := source.fetchmany(batch):
            target.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", rows)
            moved += len(rows)
        source.execute(f"DELETE FROM {table}")
    return moved

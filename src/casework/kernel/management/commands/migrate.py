"""`casework migrate`: Django's migrate, for every database of the installation.

Without `--database` it migrates `default` and, on SQLite, the intake queue's own file
(`casework.intake.dbrouter`); with `--database` only the one named."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS

from casework.intake.dbrouter import QUEUE_ALIAS, move_queue_out_of_default, queue_is_separate


class Command(migrate.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        kwargs = super().get_check_kwargs({**options, "database": DEFAULT_DB_ALIAS})
        return {**kwargs, "databases": [options["database"] or DEFAULT_DB_ALIAS]}

    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] is not None:
            super().handle(*args, **options)
            return
        super().handle(*args, **{**options, "database": DEFAULT_DB_ALIAS})
        if queue_is_separate():
            super().handle(*args, **{**options, "database": QUEUE_ALIAS})
            moved = move_queue_out_of_default()
            if moved and options["verbosity"]:
                self.stdout.write(f"Moved {moved} queued inbound messages to the queue's file.")

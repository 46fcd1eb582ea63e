"""`casework audit verify`: prove the event log untampered."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser

from casework.events.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail operations. 'verify' recomputes the hash chain of the event log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: object, **options: object) -> None:
        result = verify_chain()
        if result.is_intact:
            self.stdout.write(f"event log intact: {result.checked} entries verified")
            return
        self.stderr.write(
            f"event log BROKEN at entry {result.first_broken_seq}: {result.reason} "
            f"({result.checked} entries before it verified)"
        )
        sys.exit(1)

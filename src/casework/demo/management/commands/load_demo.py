"""`casework load_demo`: the demo data set (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from casework.demo.loading import load_demo


class Command(BaseCommand):
    help = "Load the demo data set: reference data, the reference journeys, generated customers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="generated customers")

    def handle(self, *args: object, **options: object) -> None:
        load_demo(
            generated_customers=int(options["customers"]),  # type: ignore[call-overload]
            progress=self.stdout.write,
        )

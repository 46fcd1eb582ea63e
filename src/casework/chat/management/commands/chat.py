"""`casework chat train-intents [FILE]`: train the bot's intent classifier (the shipped
examples unless a CSV with columns text, language, intent is given) and make it active."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.chat.intents import SHIPPED_EXAMPLES, train_intents
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError


class Command(BaseCommand):
    help = "The chat bot: train its intent classifier."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train-intents", help="train and activate the intent model")
        train.add_argument("file", nargs="?", type=Path, default=SHIPPED_EXAMPLES)

    def handle(self, *args: object, **options: Any) -> None:
        try:
            version = train_intents(
                actor=Actor.system("cli"), path=options["file"], trained_by="cli"
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        scores = version.scores or {}
        self.stdout.write(
            f"chat_intent version {version.number} active "
            f"(held-out accuracy {scores.get('accuracy', '—')})"
        )

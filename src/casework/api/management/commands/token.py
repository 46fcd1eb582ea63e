"""`casework token create USERNAME`: print a new API bearer token on the last line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.api.tokens import create_token
from casework.kernel.errors import NotFound


class Command(BaseCommand):
    help = "API tokens. 'create USERNAME' prints a new bearer token (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--description", default="")

    def handle(self, *args: object, **options: object) -> None:
        try:
            token = create_token(str(options["username"]), description=str(options["description"]))
        except NotFound as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"API token for {options['username']} (shown once; keep it secret):")
        self.stdout.write(token)

"""`casework ledger verify`: prove the commission ledger untampered, or name the first
inconsistency (exit status 1). `casework ledger statement PARTNER MONTH`: write a
partner's monthly statement as CSV or PDF."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.kernel.errors import DomainError
from casework.partners.services import get_partner, verify_ledger
from casework.partners.statements import (
    build_statement,
    parse_month,
    statement_csv,
    statement_pdf,
)


class Command(BaseCommand):
    help = (
        "Commission ledger operations. 'verify' recomputes the hash chain and names the first "
        "entry that was changed, removed or inserted; 'statement PARTNER YYYY-MM' writes a "
        "partner's monthly statement."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "statement"])
        parser.add_argument("args", nargs="*", help="statement: the partner's code and month")
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="verify: the hash an entry must have, e.g. from a statement a partner "
            "received (repeatable)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=20_000, help="verify: entries per read"
        )
        parser.add_argument("--format", choices=["csv", "pdf"], default="pdf")
        parser.add_argument(
            "--output", "-o", help="statement: the file to write (default: its own name)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify(options)
        else:
            self._statement(list(args), options)

    def _verify(self, options: dict[str, Any]) -> None:
        anchors = {}
        for text in options["anchor"]:
            seq, _sep, expected = text.partition(":")
            if not seq.isdigit() or len(expected) != 64:
                raise CommandError(_("an anchor is SEQ:HASH, e.g. 1234:<64 hex digits>"))
            anchors[int(seq)] = expected.lower()
        started = time.perf_counter()
        result = verify_ledger(batch_size=options["batch_size"], anchors=anchors)
        seconds = time.perf_counter() - started
        if result.is_intact:
            self.stdout.write(
                _("ledger intact: %(count)s entries verified, head %(hash)s")
                % {"count": result.checked, "hash": result.head_hash}
            )
            if options["verbosity"] > 1:
                self.stdout.write(
                    _("%(seconds).1f s, %(rate).0f entries per second")
                    % {"seconds": seconds, "rate": result.checked / seconds if seconds else 0}
                )
            return
        self.stderr.write(
            _("ledger BROKEN: %(problem)s (%(count)s entries before it verified)")
            % {"problem": result.problem, "count": result.checked}
        )
        sys.exit(1)

    def _statement(self, args: list[str], options: dict[str, Any]) -> None:
        if len(args) != 2:
            raise CommandError(_("statement needs the partner's code and the month (YYYY-MM)"))
        try:
            statement = build_statement(get_partner(args[0]), parse_month(args[1]))
        except DomainError as error:
            raise CommandError(error.message) from error
        kind = options["format"]
        body = statement_csv(statement) if kind == "csv" else statement_pdf(statement)
        path = Path(options["output"] or f"{statement.filename_stem}.{kind}")
        path.write_bytes(body)
        self.stdout.write(
            _("%(path)s: %(count)s entries, total %(total)s EUR, chain hash %(hash)s")
            % {
                "path": path,
                "count": len(statement.lines),
                "total": statement.total,
                "hash": statement.chain_hash or "-",
            }
        )

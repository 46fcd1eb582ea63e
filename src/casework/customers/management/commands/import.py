"""`casework import customers|contracts FILE.csv`: load another system's CSV export.

Exit codes: 0 every row imported or unchanged, 1 some rows rejected (see the report),
2 the file refused as a whole (nothing imported). docs/import.md has the column format.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.customers.importing import (
    DELIMITERS,
    FileRefused,
    ImportKind,
    ProgressBar,
    import_rows,
    read_import_file,
)

EXIT_REJECTED_ROWS = 1
EXIT_FILE_REFUSED = 2


class Command(BaseCommand):
    help = (
        "Import customers or contracts from a CSV file (UTF-8 or --encoding, ';' or ','). "
        "Each row is imported completely or not at all; rejected rows go to a report file. "
        "Importing the same file again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[kind.value for kind in ImportKind])
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--report",
            type=Path,
            default=None,
            help="where rejected rows go (default: FILE with .rejected.csv for .csv)",
        )
        parser.add_argument(
            "--delimiter",
            choices=DELIMITERS,
            default=None,
            help="the field separator (default: read from the header line)",
        )
        parser.add_argument(
            "--encoding",
            default=None,
            help="the file's character set, e.g. cp1252 for Excel on Windows (default: utf-8)",
        )

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["file"]))
        report = options["report"]
        try:
            source = read_import_file(
                str(options["kind"]),
                path,
                encoding=_optional_text(options["encoding"]),
                delimiter=_optional_text(options["delimiter"]),
            )
            progress = ProgressBar(
                source.row_count,
                # Plain text: stderr's default style would paint the bar as an error.
                write=lambda text: self.stderr.write(text, style_func=_unstyled, ending=""),
                is_terminal=self.stderr.isatty(),
                label=path.name,
            )
            summary = import_rows(
                source,
                report_path=None if report is None else Path(str(report)),
                progress=progress,
            )
        except FileRefused as error:
            raise CommandError(
                f"{path}: refused, nothing imported: {error.message}",
                returncode=EXIT_FILE_REFUSED,
            ) from error
        self.stdout.write(
            f"{path}: {summary.total:,} rows in {summary.seconds:.1f} s "
            f"({summary.rows_per_second:,.0f} rows/s)\n"
            f"  imported   {summary.imported:>9,}\n"
            f"  unchanged  {summary.unchanged:>9,}  (imported before)\n"
            f"  rejected   {summary.rejected:>9,}  -> {summary.report_path}"
        )
        if not summary.is_complete:
            raise CommandError(
                f"{summary.rejected:,} of {summary.total:,} rows rejected; the reasons are in "
                f"{summary.report_path}",
                returncode=EXIT_REJECTED_ROWS,
            )


def _unstyled(text: str) -> str:
    return text


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)

"""`casework scans FILE…` or `casework scans --folder DIR`: read scanned response cards.

A scan folder (where the mail room's scanner writes) is worked through file by file; each
file's pages are queued for the worker (which receives them in batches), and the file
moves to `done/` once they are committed in the queue, or to `failed/` with a `.txt`
beside it saying why — so nothing is read twice and nothing is lost. Files named on the
command line are received at once, and their outcomes printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError
from casework.retention import scans

ACTOR = Actor.system("scan-folder")
SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


class Command(BaseCommand):
    help = "Read scanned response cards: the files named, or every file of a scan folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*")
        parser.add_argument("--folder", help="work through this folder (done/ and failed/)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["folder"]:
                self._folder(Path(options["folder"]))
                return
            if not options["files"]:
                raise CommandError(_("name the files or a --folder"))
            for name in options["files"]:
                self._read(Path(name))
        except scans.ScansNotReadable as error:
            # The server's problem, not the files': stop and leave them where they are.
            raise CommandError(error.message) from error

    def _read(self, path: Path, *, queued: bool = False) -> None:
        try:
            results = scans.receive_scan(
                path.read_bytes(), filename=path.name, actor=ACTOR, queued=queued
            )
        except scans.ScansNotReadable:
            raise
        except (OSError, DomainError) as error:
            raise CommandError(f"{path}: {getattr(error, 'message', error)}") from error
        for result in results:
            response = result.response
            if result.pending is not None:
                line = _("page %(page)d: queued") % {"page": result.page}
            elif response is None:
                line = _("page %(page)d: received before") % {"page": result.page}
            else:
                line = _("page %(page)d: %(outcome)s %(reason)s %(case)s") % {
                    "page": result.page,
                    "outcome": response.get_outcome_display(),
                    "reason": response.reason_text,
                    "case": response.case.reference if response.case_id else "",
                }
            self.stdout.write(f"{path.name}: {' '.join(line.split())}")

    def _folder(self, folder: Path) -> None:
        if not folder.is_dir():
            raise CommandError(_("no folder %(path)s") % {"path": folder})
        done, failed = folder / "done", folder / "failed"
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
                continue
            try:
                self._read(path, queued=True)
            except CommandError as error:
                failed.mkdir(exist_ok=True)
                shutil.move(path, failed / path.name)
                (failed / f"{path.name}.txt").write_text(str(error), encoding="utf-8")
                self.stderr.write(str(error))
                continue
            done.mkdir(exist_ok=True)
            shutil.move(path, done / path.name)

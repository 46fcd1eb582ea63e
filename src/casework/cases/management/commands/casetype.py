"""`casework casetype check PATH` and `casework casetype graph NAME`: author case types.

`check` takes a case type file, a decision table, or a folder of case types, prints every
problem as `file:line: message` and exits with 1 if there is any. `graph` draws a case
type's life cycle as SVG, from the shipped case types and `CASEWORK_CASETYPES_DIR`, or from
the folders given with `--path`.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.cases.definitions import check_path, configured_folders, load_case_types
from casework.cases.definitions.graph import render_svg
from casework.kernel.errors import DomainError, NotFound
from casework.rules.problems import InvalidDefinition

EXIT_PROBLEMS = 1


class Command(BaseCommand):
    help = "Check case type definitions and decision tables, or draw a case type's life cycle."
    requires_system_checks: list[str] = []  # reads files only; no models involved

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser("check", help="check a case type, a decision table or a folder")
        check.add_argument("path", type=Path)
        graph = actions.add_parser("graph", help="draw a case type's life cycle as SVG")
        graph.add_argument("name", help="the case type's key")
        graph.add_argument("--version", type=int, default=None, help="default: the latest")
        graph.add_argument("--output", type=Path, default=None, help="default: standard output")
        graph.add_argument(
            "--path",
            type=Path,
            action="append",
            default=None,
            help="a folder of case types (repeatable; default: the configured folders)",
        )
        graph.add_argument("--language", choices=["de", "en"], default="en")
        publish = actions.add_parser(
            "publish", help="make the newest version of case types the one new cases start with"
        )
        publish.add_argument("keys", nargs="*", help="case type keys (default: all)")
        migrate = actions.add_parser(
            "migrate", help="move the open cases of one version to a newer published version"
        )
        migrate.add_argument("key")
        migrate.add_argument("--from", dest="from_version", type=int, required=True)
        migrate.add_argument("--to", dest="to_version", type=int, required=True)
        migrate.add_argument(
            "--stage",
            action="append",
            default=[],
            metavar="OLD=NEW",
            help="where cases in a stage that the new version lacks go (repeatable)",
        )
        migrate.add_argument("--dry-run", action="store_true", help="show, change nothing")

    def handle(self, *args: object, **options: object) -> None:
        if options["action"] == "check":
            self.check_definitions(Path(str(options["path"])))
        elif options["action"] == "publish":
            self.publish(list(options["keys"]))  # type: ignore[call-overload]
        elif options["action"] == "migrate":
            self.migrate(options)
        else:
            folders = options["path"]
            self.draw_graph(
                str(options["name"]),
                version=options["version"],  # type: ignore[arg-type]
                output=options["output"],  # type: ignore[arg-type]
                folders=folders if folders else configured_folders(),  # type: ignore[arg-type]
                language=str(options["language"]),
            )

    def publish(self, keys: list[str]) -> None:
        from casework.cases.process import publish_configured
        from casework.kernel.actors import Actor

        try:
            published = publish_configured(keys or None, actor=Actor.system("casetype publish"))
        except InvalidDefinition as error:
            for problem in error.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                _("the case types have problems; run casetype check"), returncode=EXIT_PROBLEMS
            ) from error
        except DomainError as error:
            raise CommandError(error.message, returncode=EXIT_PROBLEMS) from error
        for entry in published:
            state = _("published") if entry.is_new else _("already published")
            self.stdout.write(f"{entry.key} v{entry.version}: {state}")

    def migrate(self, options: dict[str, object]) -> None:
        from casework.cases.process import migrate_open_cases
        from casework.kernel.actors import Actor

        stage_map = {}
        for pair in options["stage"]:  # type: ignore[attr-defined]
            old, equals, new = str(pair).partition("=")
            if not equals or not old or not new:
                raise CommandError(_("--stage takes OLD=NEW, not %(pair)s") % {"pair": pair})
            stage_map[old] = new
        try:
            moved = migrate_open_cases(
                str(options["key"]),
                from_version=int(options["from_version"]),  # type: ignore[call-overload]
                to_version=int(options["to_version"]),  # type: ignore[call-overload]
                stage_map=stage_map,
                actor=Actor.system("casetype migrate"),
                dry_run=bool(options["dry_run"]),
            )
        except DomainError as error:
            raise CommandError(error.message, returncode=EXIT_PROBLEMS) from error
        for entry in moved:
            step = entry.step_after or _("(stage starts again)")
            self.stdout.write(
                f"{entry.reference}: {entry.stage_before} → {entry.stage_after} {step}"
            )
        summary = (
            _("%(count)d open case(s) would move")
            if options["dry_run"]
            else _("%(count)d open case(s) moved")
        )
        self.stdout.write(summary % {"count": len(moved)})

    def check_definitions(self, path: Path) -> None:
        if not path.exists():
            raise CommandError(_("%(path)s: no such file or folder") % {"path": path}, returncode=2)
        report = check_path(path)
        for problem in report.problems:
            self.stdout.write(str(problem))
        if report.problems:
            raise CommandError(
                _("%(count)d problem(s) in %(path)s")
                % {"count": len(report.problems), "path": path},
                returncode=EXIT_PROBLEMS,
            )
        self.stdout.write(
            _(
                "%(path)s: %(files)d file(s) checked, %(case_types)d case type(s) and "
                "%(tables)d decision table(s), no problems"
            )
            % {
                "path": path,
                "files": report.files,
                "case_types": len(report.case_types),
                "tables": len(report.tables),
            }
        )

    def draw_graph(
        self,
        name: str,
        *,
        version: int | None,
        output: Path | None,
        folders: list[Path],
        language: str,
    ) -> None:
        try:
            definition = load_case_types(folders).get(name, version)
        except InvalidDefinition as error:
            for problem in error.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                _("the case types have problems; run casetype check"), returncode=EXIT_PROBLEMS
            ) from error
        except NotFound as error:
            raise CommandError(error.message, returncode=EXIT_PROBLEMS) from error
        svg = render_svg(definition, language=language)
        if output is None:
            self.stdout.write(svg, ending="")
        else:
            output.write_text(svg, encoding="utf-8")
            self.stderr.write(
                _("%(definition)s drawn to %(path)s") % {"definition": definition, "path": output}
            )

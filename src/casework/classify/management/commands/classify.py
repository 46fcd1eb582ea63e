"""`casework classify train|evaluate|activate|rollback|retrain|versions`: text classifiers.

Progress goes to stderr; `evaluate` prints exactly one JSON object on stdout, so that its
output can be piped into other tools. docs/classification.md describes the commands.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.classify import services, training
from casework.classify.charts import confusion_svg
from casework.classify.linear import MODEL_KINDS, fit_steps
from casework.classify.progress import StepProgress
from casework.classify.sources import LabelledSource, read_labelled_csv
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError

ACTOR = Actor.system("classify")


class Command(BaseCommand):
    help = (
        "Train, evaluate, activate and roll back text classifiers (service type, topic, "
        "urgency, sentiment, language)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        train = actions.add_parser(
            "train",
            help="train a new model version from a CSV file and score it on held-out rows",
        )
        _add_source_arguments(train)
        train.add_argument(
            "--model",
            choices=sorted(MODEL_KINDS),
            default="default",
            help=(
                "the model recipe: default (word and character n-grams, linear SVM), "
                "ensemble (the same features, three linear models stacked; slower to "
                "train), embeddings (the ensemble with static sentence embeddings; needs "
                "casework[embeddings])"
            ),
        )
        train.add_argument(
            "--holdout",
            type=float,
            default=training.DEFAULT_HOLDOUT_FRACTION,
            help="share of every label held out for the evaluation (default: 0.2)",
        )
        train.add_argument(
            "--activate",
            action="store_true",
            help="activate the new version (the first version of a task always is)",
        )
        train.add_argument("--by", default=None, help="who trained it (default: the OS user)")

        evaluate = actions.add_parser(
            "evaluate", help="score a version on a labelled CSV file; prints one JSON object"
        )
        _add_source_arguments(evaluate)
        evaluate.add_argument(
            "--version", type=int, default=None, help="version number (default: the active one)"
        )
        evaluate.add_argument(
            "--confusion", type=Path, default=None, help="write the confusion matrix (.svg)"
        )

        activate = actions.add_parser("activate", help="make a version the active one")
        activate.add_argument("--task", required=True)
        activate.add_argument("--version", type=int, required=True)

        rollback = actions.add_parser(
            "rollback", help="activate the version that was active before the current one"
        )
        rollback.add_argument("--task", required=True)

        retrain = actions.add_parser(
            "retrain",
            help="train with agents' corrections; activate only if not worse on held-out rows",
        )
        retrain.add_argument("--task", required=True)
        retrain.add_argument("--by", default=None, help="who trained it (default: the OS user)")

        versions = actions.add_parser("versions", help="list a task's versions and scores")
        versions.add_argument("--task", required=True)

    def handle(self, *args: object, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"_{action}")(options)
        except DomainError as error:
            raise CommandError(error.message) from error

    def _train(self, options: dict[str, Any]) -> None:
        source = _read(options)
        progress = self._progress(training.training_steps(options["model"]), source.name)
        try:
            version = services.train_version(
                options["task"],
                source,
                actor=ACTOR,
                trained_by=options["by"] or _os_user(),
                kind=options["model"],
                holdout_fraction=options["holdout"],
                activate=options["activate"],
                progress=progress,
            )
        finally:
            progress.finish()
        scores = version.scores
        split = scores["split"]
        baseline = scores["majority_baseline"]
        self.stdout.write(
            f"{version}: {version.source_rows:,} rows of {version.source_name}, "
            f"{len(version.labels)} labels, {scores['seconds']} s\n"
            f"  held out  {split['holdout_rows']:,} rows ({split['holdout_fraction']:.0%})\n"
            f"  accuracy  {scores['accuracy']:.4f}   (majority class: {baseline['accuracy']:.4f})\n"
            f"  macro-F1  {scores['macro_f1']:.4f}   (majority class: {baseline['macro_f1']:.4f})\n"
            f"  confident {scores['calibration']['coverage']:.1%} of texts at "
            f"{scores['calibration']['threshold']}, accuracy there "
            f"{scores['calibration']['accuracy_when_confident']:.4f}\n"
            f"  {'active' if version.is_active else 'not active: casework classify activate'}"
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        picture = options["confusion"]
        if picture is not None and picture.suffix.lower() != ".svg":
            raise CommandError(f"{picture}: the confusion matrix is written as SVG (.svg)")
        source = _read(options)
        evaluation = services.evaluate_version(
            options["task"], source.examples, number=options["version"]
        )
        scores = {**evaluation.scores, "source": source.name, "source_sha256": source.sha256}
        if picture is not None:
            title = (
                f"{evaluation.version} on {source.name}: accuracy {scores['accuracy']:.3f}, "
                f"macro-F1 {scores['macro_f1']:.3f}"
            )
            try:
                picture.write_text(confusion_svg(evaluation.confusion, title=title), "utf-8")
            except OSError as error:
                raise CommandError(f"{picture}: {error.strerror or error}") from error
            scores["confusion_file"] = str(picture)
        self.stdout.write(json.dumps(scores, ensure_ascii=False, sort_keys=False))

    def _activate(self, options: dict[str, Any]) -> None:
        version = services.activate_version(options["task"], options["version"], actor=ACTOR)
        self.stdout.write(f"{version} is active")

    def _rollback(self, options: dict[str, Any]) -> None:
        version = services.roll_back(options["task"], actor=ACTOR)
        self.stdout.write(f"rolled back: {version} is active")

    def _retrain(self, options: dict[str, Any]) -> None:
        task = services.get_task(options["task"])
        active = services.get_version(task)
        progress = self._progress(
            training.training_steps(active.kind) + fit_steps(active.kind) + 1,
            task.name,
        )
        try:
            outcome = services.retrain(
                task.name, actor=ACTOR, trained_by=options["by"] or _os_user(), progress=progress
            )
        finally:
            progress.finish()
        if outcome.candidate is None:
            self.stdout.write(
                f"{outcome.active_before}: no corrections since it was trained; nothing to do"
            )
            return
        self.stdout.write(
            f"{outcome.candidate}: {outcome.new_corrections} new corrections; held-out macro-F1 "
            f"{outcome.candidate_scores['macro_f1']:.4f} against "
            f"{outcome.baseline_scores['macro_f1']:.4f} without them -> "
            + ("activated" if outcome.is_activated else f"{outcome.active_before} stays active")
        )

    def _versions(self, options: dict[str, Any]) -> None:
        task = services.get_task(options["task"])
        self.stdout.write(f"{task.name} (confidence threshold {task.confidence_threshold})")
        for version in services.list_versions(task):
            self.stdout.write(
                f"{'*' if version.is_active else ' '} v{version.number:<4} "
                f"{version.created_at:%Y-%m-%d %H:%M}  {version.kind:<8} "
                f"accuracy {version.scores.get('accuracy', 0):.4f}  "
                f"macro-F1 {version.scores.get('macro_f1', 0):.4f}  "
                f"{version.source_rows:>7,} rows  {version.source_name}  ({version.trained_by})"
            )

    def _progress(self, total: int, label: str) -> StepProgress:
        return StepProgress(
            total,
            # Plain text: stderr's default style would paint the bar as an error.
            write=lambda text: self.stderr.write(text, style_func=_unstyled, ending=""),
            is_terminal=self.stderr.isatty(),
            label=label,
        )


def _add_source_arguments(parser: CommandParser) -> None:
    parser.add_argument("--task", required=True, help="the task, e.g. service_type, sentiment")
    parser.add_argument("--csv", type=Path, required=True, help="labelled examples")
    parser.add_argument("--text-col", required=True, help="the column holding the text")
    parser.add_argument("--label-col", required=True, help="the column holding the label")
    parser.add_argument(
        "--lang-col", default=None, help="a column with each text's language (optional)"
    )
    parser.add_argument(
        "--encoding", default=None, help="the file's character set (default: utf-8)"
    )


def _read(options: dict[str, Any]) -> LabelledSource:
    return read_labelled_csv(
        options["csv"],
        text_column=options["text_col"],
        label_column=options["label_col"],
        language_column=options["lang_col"],
        encoding=options["encoding"],
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _unstyled(text: str) -> str:
    return text

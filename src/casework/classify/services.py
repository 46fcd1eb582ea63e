"""The only code that changes classifiers: train a version, activate or roll back, evaluate,
record an agent's correction, retrain with corrections.

Training runs outside any transaction (it takes seconds to minutes and must not hold the
database's write lock); storing the trained version, activating it and recording their
events then happen in one `recording_transaction()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.classify import metrics, training
from casework.classify.linear import TextModel
from casework.classify.models import ClassifierTask, Correction, ModelVersion
from casework.classify.prediction import fallback_label, forget_cached_models, load_model
from casework.classify.sources import Example, LabelledSource
from casework.classify.texts import has_words, prepare
from casework.events.services import record, recording_transaction
from casework.kernel.actors import Actor
from casework.kernel.errors import Conflict, InvalidInput, NotFound

# Texts are scored in chunks: bounded memory for large evaluation files.
_EVALUATION_CHUNK = 2000


@dataclass(frozen=True)
class Evaluation:
    version: ModelVersion
    scores: dict[str, Any]
    confusion: metrics.ConfusionMatrix


@dataclass(frozen=True)
class RetrainOutcome:
    """What `retrain()` did. `candidate` is None when there was nothing new to learn."""

    active_before: ModelVersion
    candidate: ModelVersion | None
    is_activated: bool
    new_corrections: int
    baseline_scores: dict[str, Any] = field(default_factory=dict)
    candidate_scores: dict[str, Any] = field(default_factory=dict)


def get_task(name: str) -> ClassifierTask:
    task = ClassifierTask.objects.filter(name=name).first()
    if task is None:
        raise NotFound(_("there is no classifier task %(task)s") % {"task": name}, task=name)
    return task


def get_version(task: ClassifierTask, number: int | None = None) -> ModelVersion:
    """Version `number` of the task, or its active version if `number` is None."""
    versions = task.versions.all()
    version = (
        versions.filter(is_active=True).first()
        if number is None
        else versions.filter(number=number).first()
    )
    if version is None:
        if number is None:
            raise NotFound(
                _("classifier task %(task)s has no active model version") % {"task": task.name},
                task=task.name,
            )
        raise NotFound(
            _("classifier task %(task)s has no version %(number)d")
            % {"task": task.name, "number": number},
            task=task.name,
            number=number,
        )
    return version


def list_versions(task: ClassifierTask) -> list[ModelVersion]:
    return list(task.versions.defer("model_data", "training_data").order_by("number"))


def active_labels(task_name: str) -> list[str]:
    """The labels the task's active version can answer (empty: no task or no active version):
    what an agent may choose from when correcting it."""
    labels = (
        ModelVersion.objects.filter(task__name=task_name, is_active=True)
        .values_list("labels", flat=True)
        .first()
    )
    return [str(label) for label in labels or []]


def latest_corrections(interaction_id: int) -> dict[str, Correction]:
    """Each task's latest correction of one interaction's text, by task name."""
    latest: dict[str, Correction] = {}
    for correction in (
        Correction.objects.filter(interaction_id=interaction_id)
        .select_related("task")
        .order_by("created_at", "pk")
    ):
        latest[correction.task.name] = correction
    return latest


def train_version(
    task_name: str,
    source: LabelledSource,
    *,
    actor: Actor,
    trained_by: str,
    kind: str = "default",
    holdout_fraction: float = training.DEFAULT_HOLDOUT_FRACTION,
    activate: bool = False,
    progress: training.Progress | None = None,
) -> ModelVersion:
    """Train a new version of the task (created if new) from labelled examples.

    The first version of a task is activated; later ones only with `activate=True`.
    Raises TrainingRefused before any fitting if the examples cannot make a model."""
    _check_task_name(task_name)
    task = ClassifierTask.objects.filter(name=task_name).first()
    threshold = task.confidence_threshold if task else _default_threshold()
    outcome = training.train(
        source.examples,
        kind=kind,
        holdout_fraction=holdout_fraction,
        threshold=threshold,
        progress=progress,
    )
    with recording_transaction():
        ClassifierTask.objects.get_or_create(name=task_name)
        task = _locked_task(task_name)
        version = _store_version(
            task,
            outcome,
            kind=kind,
            source_name=source.name,
            source_rows=len(source.examples),
            source_sha256=source.sha256,
            trained_by=trained_by,
            actor=actor,
        )
        if activate or not task.versions.filter(is_active=True).exists():
            _activate(task, version, actor=actor, reason="trained")
    return version


@recording_transaction()
def activate_version(task_name: str, number: int, *, actor: Actor) -> ModelVersion:
    task = _locked_task(task_name)
    version = get_version(task, number)
    _activate(task, version, actor=actor, reason="activated")
    return version


@recording_transaction()
def roll_back(task_name: str, *, actor: Actor) -> ModelVersion:
    """Activate the version that was active before the current one: the newest earlier
    version that has been active (versions never activated, such as rejected retraining
    candidates, are skipped)."""
    task = _locked_task(task_name)
    current = get_version(task)
    previous = (
        task.versions.filter(number__lt=current.number, activated_at__isnull=False)
        .order_by("-number")
        .first()
    )
    if previous is None:
        raise Conflict(
            _(
                "version %(number)d of %(task)s is the first that was active: there is no "
                "earlier version to roll back to"
            )
            % {"number": current.number, "task": task.name},
            task=task.name,
        )
    _activate(task, previous, actor=actor, reason="rolled_back")
    return previous


def evaluate_version(
    task_name: str, examples: Sequence[Example], *, number: int | None = None
) -> Evaluation:
    """Scores of a version (the active one unless `number`) on labelled examples that it
    was not trained on. Texts without words get the fallback label, as in classify_text."""
    if not examples:
        raise InvalidInput(_("nothing to evaluate: no examples"))
    task = get_task(task_name)
    version = get_version(task, number)
    model = load_model(version)
    truth = [example.label for example in examples]
    predicted, confidences = _predict(model, [example.text for example in examples], version)
    scores: dict[str, Any] = {
        "task": task.name,
        "version": version.number,
        **metrics.score(truth, predicted, labels=version.labels),
    }
    scores["calibration"] = metrics.calibration(
        truth, predicted, confidences, threshold=task.confidence_threshold
    )
    majority = fallback_label(version)
    baseline = metrics.score(truth, [majority] * len(truth), labels=version.labels)
    scores["majority_baseline"] = {
        "label": majority,
        "accuracy": baseline["accuracy"],
        "macro_f1": baseline["macro_f1"],
        "micro_f1": baseline["micro_f1"],
    }
    unknown = sorted(set(truth) - set(version.labels))
    if unknown:
        # Labels the model never saw: every one of their examples counts as an error.
        scores["labels_unknown_to_model"] = unknown
    languages = sorted({example.language for example in examples if example.language})
    if languages:
        scores["by_language"] = {}
        for language in languages:
            rows = [i for i, example in enumerate(examples) if example.language == language]
            part = metrics.score([truth[i] for i in rows], [predicted[i] for i in rows])
            scores["by_language"][language] = {
                "n": part["n"],
                "accuracy": part["accuracy"],
                "macro_f1": part["macro_f1"],
            }
    return Evaluation(
        version=version,
        scores=scores,
        confusion=metrics.confusion(truth, predicted, labels=version.labels),
    )


def record_correction(
    task_name: str,
    *,
    text: str,
    old_label: str,
    new_label: str,
    actor: Actor,
    interaction_id: int | None = None,
) -> Correction:
    """Keep an agent's better label for a text as a training example for `retrain()`.

    `text` is the text that was classified (the caller has it: it just showed the
    prediction); `interaction_id` links the correction to where the text came from."""
    new_label = new_label.strip()
    if not new_label:
        raise InvalidInput(_("the corrected label is empty"))
    if new_label == old_label.strip():
        raise InvalidInput(
            _("the corrected label %(label)s is the label it had") % {"label": new_label}
        )
    if not has_words(prepare(text)):
        raise InvalidInput(_("the text contains no words to learn from"))
    with recording_transaction():
        task = get_task(task_name)
        correction = Correction.objects.create(
            task=task,
            interaction_id=interaction_id,
            text=text,
            old_label=old_label.strip(),
            new_label=new_label,
            actor_label=actor.label,
        )
        record(
            "classifier.correction_recorded",
            actor=actor,
            object_type="classifier_correction",
            object_id=correction.pk,
            payload={
                "task": task.name,
                "interaction_id": interaction_id,
                "old_label": correction.old_label,
                "new_label": new_label,
            },
        )
    return correction


def retrain(
    task_name: str,
    *,
    actor: Actor,
    trained_by: str,
    progress: training.Progress | None = None,
) -> RetrainOutcome:
    """Train a candidate from the active version's examples plus every correction, and
    activate it only if it is not worse on the same held-out examples.

    Corrections replace the label of the same text (in the held-out part too, so both
    models are judged against the corrected labels) or join the training part. The
    comparison is fair: the active version's recipe is fitted again on its own training
    part, and both are scored on the same held-out examples. Nothing happens when no
    correction arrived since the active version was trained."""
    task = get_task(task_name)
    active = get_version(task)
    corrections = list(task.corrections.order_by("created_at", "pk"))
    new_corrections = sum(1 for c in corrections if c.created_at > active.created_at)
    if not new_corrections:
        return RetrainOutcome(active, None, False, 0)

    training.check_recipe(active.kind)
    base = training.TrainingSet.from_bytes(bytes(active.training_data))
    baseline_set, candidate_set = apply_corrections(base, corrections)
    _model, baseline_scores = training.fit_and_score(
        baseline_set, kind=active.kind, threshold=task.confidence_threshold, progress=progress
    )
    outcome = training.train_on(
        candidate_set, kind=active.kind, threshold=task.confidence_threshold, progress=progress
    )
    is_better = outcome.scores["macro_f1"] >= baseline_scores["macro_f1"]
    outcome.scores["compared_with"] = {
        "version": active.number,
        "refitted_macro_f1": baseline_scores["macro_f1"],
        "refitted_accuracy": baseline_scores["accuracy"],
        "is_activated": is_better,
    }
    with recording_transaction():
        task = _locked_task(task_name)
        candidate = _store_version(
            task,
            outcome,
            kind=active.kind,
            source_name=f"v{active.number} + {len(corrections)} corrections",
            source_rows=len(candidate_set.examples),
            source_sha256="",
            trained_by=trained_by,
            actor=actor,
        )
        if is_better:
            _activate(task, candidate, actor=actor, reason="retrained")
    return RetrainOutcome(
        active_before=active,
        candidate=candidate,
        is_activated=is_better,
        new_corrections=new_corrections,
        baseline_scores=baseline_scores,
        candidate_scores=outcome.scores,
    )


def apply_corrections(
    base: training.TrainingSet, corrections: Sequence[Correction]
) -> tuple[training.TrainingSet, training.TrainingSet]:
    """(baseline, candidate): both with corrected held-out labels; the candidate's training
    part also has the corrected labels and the corrections' new texts. Later corrections
    of the same text win."""
    latest: dict[str, Correction] = {}
    for correction in corrections:
        latest[prepare(correction.text)] = correction
    keys = [prepare(example.text) for example in base.examples]
    baseline: list[Example] = []
    candidate: list[Example] = []
    used: set[str] = set()
    for example, key, held in zip(base.examples, keys, base.holdout, strict=True):
        correction = latest.get(key)
        if correction is None:
            baseline.append(example)
            candidate.append(example)
            continue
        used.add(key)
        fixed = Example(example.text, correction.new_label, example.language)
        baseline.append(fixed if held else example)
        candidate.append(fixed)
    added = [
        Example(correction.text, correction.new_label)
        for key, correction in latest.items()
        if key not in used
    ]
    return (
        training.TrainingSet(baseline, list(base.holdout)),
        training.TrainingSet(candidate + added, list(base.holdout) + [False] * len(added)),
    )


def _store_version(
    task: ClassifierTask,
    outcome: training.TrainingOutcome,
    *,
    kind: str,
    source_name: str,
    source_rows: int,
    source_sha256: str,
    trained_by: str,
    actor: Actor,
) -> ModelVersion:
    last = task.versions.order_by("-number").values_list("number", flat=True).first()
    model_data = outcome.model.to_bytes()
    version = ModelVersion.objects.create(
        task=task,
        number=(last or 0) + 1,
        kind=kind,
        labels=outcome.model.labels,
        trained_by=trained_by[:200],
        source_name=source_name[:300],
        source_rows=source_rows,
        source_sha256=source_sha256,
        scores=outcome.scores,
        model_data=model_data,
        model_sha256=hashlib.sha256(model_data).hexdigest(),
        training_data=outcome.training_set.to_bytes(),
    )
    record(
        "classifier.version_trained",
        actor=actor,
        object_type="classifier_model_version",
        object_id=version.pk,
        payload={
            "task": task.name,
            "version": version.number,
            "kind": kind,
            "trained_by": version.trained_by,
            "source": version.source_name,
            "source_rows": source_rows,
            "source_sha256": source_sha256,
            "model_sha256": version.model_sha256,
            "accuracy": outcome.scores.get("accuracy"),
            "macro_f1": outcome.scores.get("macro_f1"),
        },
    )
    return version


def _activate(task: ClassifierTask, version: ModelVersion, *, actor: Actor, reason: str) -> None:
    previous = task.versions.filter(is_active=True).exclude(pk=version.pk).first()
    if version.is_active:
        return
    if previous is not None:
        # First off, then on: the partial unique index allows one active version at a time.
        previous.is_active = False
        previous.save(update_fields=["is_active"])
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    record(
        "classifier.version_activated",
        actor=actor,
        object_type="classifier_model_version",
        object_id=version.pk,
        payload={
            "task": task.name,
            "version": version.number,
            "previous_version": previous.number if previous else None,
            "reason": reason,
        },
    )
    # Now for this thread's next call, and after the commit for the other threads, which
    # could have reloaded the old version in between.
    forget_cached_models(task.name)
    transaction.on_commit(lambda: forget_cached_models(task.name))


def _locked_task(name: str) -> ClassifierTask:
    """The task row, locked: activations and new version numbers of a task queue up."""
    task = ClassifierTask.objects.select_for_update().filter(name=name).first()
    if task is None:
        raise NotFound(_("there is no classifier task %(task)s") % {"task": name}, task=name)
    return task


def _predict(
    model: TextModel, texts: Sequence[str], version: ModelVersion
) -> tuple[list[str], list[float]]:
    fallback = fallback_label(version)
    predicted: list[str] = []
    confidences: list[float] = []
    for start in range(0, len(texts), _EVALUATION_CHUNK):
        prepared = [prepare(text) for text in texts[start : start + _EVALUATION_CHUNK]]
        rows = [i for i, text in enumerate(prepared) if has_words(text)]
        chunk_labels = [fallback] * len(prepared)
        chunk_confidences = [0.0] * len(prepared)
        if rows:
            probabilities = model.probabilities([prepared[i] for i in rows])
            best = probabilities.argmax(axis=1)
            for row, i in enumerate(rows):
                chunk_labels[i] = model.labels[int(best[row])]
                chunk_confidences[i] = float(probabilities[row, best[row]])
        predicted += chunk_labels
        confidences += chunk_confidences
    return predicted, confidences


def _check_task_name(name: str) -> None:
    if not name or len(name) > 50 or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise InvalidInput(
            _("a task name is 1–50 letters, digits, '-' or '_', not %(name)r") % {"name": name}
        )


def _default_threshold() -> float:
    return float(ClassifierTask._meta.get_field("confidence_threshold").default)

"""`classify_text()`: the active model of a task answers, with a calibrated confidence.

Each process keeps the active model of every task it has used in memory (loading one takes
well under a second, classifying a message well under a millisecond). At most every
RELOAD_CHECK_SECONDS a call asks the database which version is active, so activating or
rolling back a version in one process reaches every other process within that time; the
process that activates forgets its copy at once.

Whatever the text (empty, only a signature, a megabyte of HTML, emoji, another language), the
answer is a Prediction, never an exception: a text without words gets the task's fallback
label with confidence 0, and `is_confident` is False whenever the confidence is below the
task's threshold. Those predictions go to a person (manual triage).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from casework.classify import languages
from casework.classify.linear import ModelFileError, TextModel
from casework.classify.models import ClassifierTask, ModelVersion
from casework.classify.texts import has_words, prepare
from casework.kernel.errors import DomainError, NotFound

# The task answered by the built-in detector until an installation trains its own.
LANGUAGE_TASK = "language"
# How stale the knowledge of which version is active may get in another process.
RELOAD_CHECK_SECONDS = 5.0
# Confidence threshold of the built-in language detector.
LANGUAGE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # calibrated probability of `label`, 0 … 1
    is_confident: bool  # False: "uncertain", a person should decide
    model_version: int | None  # the version number; None for the built-in language detector


class NoActiveModel(NotFound):
    code = "classify_no_active_model"


class ModelDamaged(DomainError):
    code = "classify_model_damaged"
    status = 500


@dataclass
class _Loaded:
    version_id: int | None  # None: no active version (the built-in detector answers)
    number: int | None
    model: TextModel | None
    threshold: float
    fallback_label: str
    checked_at: float


_cache: dict[str, _Loaded] = {}
_lock = threading.Lock()


def classify_text(task: str, text: str) -> Prediction:
    """The active model's label for `text`. Raises NoActiveModel if the task has none."""
    return classify_texts(task, [text])[0]


def classify_texts(task: str, texts: Sequence[str]) -> list[Prediction]:
    """`classify_text` for many texts at once: one model lookup, one scoring pass."""
    loaded = _active(task)
    prepared = [prepare(text) for text in texts]
    if loaded.model is None:
        return [_detect_language(text) for text in prepared]
    answers: list[Prediction | None] = [None] * len(prepared)
    rows = [i for i, text in enumerate(prepared) if has_words(text)]
    if rows:
        probabilities = loaded.model.probabilities([prepared[i] for i in rows])
        best = probabilities.argmax(axis=1)
        for row, i in enumerate(rows):
            confidence = round(float(probabilities[row, best[row]]), 4)
            answers[i] = Prediction(
                label=loaded.model.labels[int(best[row])],
                confidence=confidence,
                is_confident=confidence >= loaded.threshold,
                model_version=loaded.number,
            )
    nothing = Prediction(loaded.fallback_label, 0.0, False, loaded.number)
    return [answer or nothing for answer in answers]


def forget_cached_models(task: str | None = None) -> None:
    """Drop this process's copies (all, or one task's): the next call loads afresh."""
    with _lock:
        if task is None:
            _cache.clear()
        else:
            _cache.pop(task, None)


def load_model(version: ModelVersion) -> TextModel:
    """A stored version's model, its checksum verified first."""
    data = bytes(version.model_data)
    if hashlib.sha256(data).hexdigest() != version.model_sha256:
        raise ModelDamaged(
            _("the model file of %(version)s does not match its checksum") % {"version": version},
            task=version.task.name,
            version=version.number,
        )
    try:
        return TextModel.from_bytes(data)
    except ModelFileError as error:
        raise ModelDamaged(
            _("the model file of %(version)s cannot be read: %(reason)s")
            % {"version": version, "reason": error},
            task=version.task.name,
            version=version.number,
        ) from error


def _active(task: str) -> _Loaded:
    now = time.monotonic()
    cached = _cache.get(task)
    if cached is not None and now - cached.checked_at < RELOAD_CHECK_SECONDS:
        return cached
    with _lock:
        cached = _cache.get(task)
        if cached is not None and now - cached.checked_at < RELOAD_CHECK_SECONDS:
            return cached
        row = (
            ModelVersion.objects.filter(task__name=task, is_active=True)
            .values_list("pk", "task__confidence_threshold")
            .first()
        )
        if row is None:
            if task != LANGUAGE_TASK:
                if not ClassifierTask.objects.filter(name=task).exists():
                    raise NoActiveModel(
                        _("there is no classifier task %(task)s") % {"task": task}, task=task
                    )
                raise NoActiveModel(
                    _("classifier task %(task)s has no active model version") % {"task": task},
                    task=task,
                )
            loaded = _Loaded(None, None, None, LANGUAGE_THRESHOLD, languages.OTHER, now)
        elif cached is not None and cached.version_id == row[0]:
            cached.threshold, cached.checked_at = row[1], now
            loaded = cached
        else:
            version = ModelVersion.objects.select_related("task").get(pk=row[0])
            loaded = _Loaded(
                version_id=version.pk,
                number=version.number,
                model=load_model(version),
                threshold=row[1],
                fallback_label=fallback_label(version),
                checked_at=now,
            )
        _cache[task] = loaded
        return loaded


def fallback_label(version: ModelVersion) -> str:
    """The label given to a text without words: the most frequent one in training."""
    majority = (version.scores or {}).get("majority_baseline", {}).get("label")
    return str(majority) if majority else version.labels[0]


def _detect_language(prepared: str) -> Prediction:
    guess = languages.detect_language(prepared)
    return Prediction(
        label=guess.label,
        confidence=guess.confidence,
        is_confident=guess.confidence >= LANGUAGE_THRESHOLD,
        model_version=None,
    )

"""Training and held-out evaluation, before anything is stored. No models here.

The examples are checked as a whole first (`check_trainable`): a run that would fail, or
that could not be evaluated honestly, is refused before any fitting starts. Then a stratified
split keeps `holdout_fraction` of every label aside; a model fitted on the rest is scored on
it, and its scores are the version's scores. The temperature that calibrates confidences is
fitted on the held-out scores too (one parameter: accuracy and F1 do not depend on it).
Finally the model is fitted again on all examples, with that temperature, and that model is
the one stored: more examples make a better model, and the held-out figures of the smaller
one are a conservative estimate of it.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import gettext as _

from casework.classify import embeddings, linear, metrics
from casework.classify.sources import Example
from casework.classify.texts import has_words, prepare
from casework.kernel.errors import InvalidInput

DEFAULT_HOLDOUT_FRACTION = 0.2
MIN_EXAMPLES_PER_LABEL = 2  # one to learn from, one to test on
DEFAULT_SEED = 20_251_126


class TrainingRefused(InvalidInput):
    """The examples cannot make a model that can be evaluated; nothing was trained."""

    code = "classify_training_refused"


class Progress(Protocol):
    def advance(self, what: str = "") -> None: ...


class _Silent:
    def advance(self, what: str = "") -> None:
        pass


@dataclass(frozen=True)
class TrainingSet:
    """Examples with their held-out flags: what a version was trained and scored on."""

    examples: list[Example]
    holdout: list[bool]

    def to_bytes(self) -> bytes:
        lines = (
            json.dumps(
                {"text": e.text, "label": e.label, "language": e.language, "holdout": flag},
                ensure_ascii=False,
            )
            for e, flag in zip(self.examples, self.holdout, strict=True)
        )
        return gzip.compress("\n".join(lines).encode("utf-8"), mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingSet:
        examples, holdout = [], []
        for line in gzip.decompress(data).decode("utf-8").splitlines():
            item = json.loads(line)
            examples.append(Example(item["text"], item["label"], item.get("language", "")))
            holdout.append(bool(item["holdout"]))
        return cls(examples, holdout)


@dataclass
class TrainingOutcome:
    model: linear.TextModel
    training_set: TrainingSet
    scores: dict[str, Any] = field(default_factory=dict)


def training_steps(kind: str) -> int:
    """How many times `train()` advances its progress: fit, score, fit again."""
    fit = linear.fit_steps(kind) if kind in linear.MODEL_KINDS else 3
    return 2 * fit + 2


def check_recipe(kind: str) -> None:
    """TrainingRefused unless the recipe exists and what it needs is installed."""
    if kind not in linear.MODEL_KINDS:
        raise TrainingRefused(
            _("unknown model %(kind)s; known: %(known)s")
            % {"kind": kind, "known": ", ".join(linear.MODEL_KINDS)}
        )
    embedding = linear.MODEL_KINDS[kind].embedding
    if embedding and not embeddings.is_available(embedding):
        raise TrainingRefused(
            _("the model %(kind)s needs the package %(package)s: pip install 'casework[%(extra)s]'")
            % {
                "kind": kind,
                "package": embeddings.SOURCES[embedding].package,
                "extra": embeddings.SOURCES[embedding].extra,
            }
        )


def check_trainable(
    examples: Sequence[Example], *, holdout_fraction: float, kind: str = "default"
) -> list[Example]:
    """The usable examples (those with words in them), or TrainingRefused with the reason."""
    check_recipe(kind)
    if not 0.05 <= holdout_fraction <= 0.5:
        raise TrainingRefused(
            _("the held-out share must be between 0.05 and 0.5, not %(value)s")
            % {"value": holdout_fraction}
        )
    usable = [example for example in examples if has_words(prepare(example.text))]
    if not usable:
        raise TrainingRefused(_("none of the %(n)d texts contains words") % {"n": len(examples)})
    counts = Counter(example.label for example in usable)
    if len(counts) < 2:
        raise TrainingRefused(
            _(
                "only one label (%(label)s) in %(n)d examples: a classifier needs at least two "
                "different labels"
            )
            % {"label": next(iter(counts)), "n": len(usable)}
        )
    too_few = sorted(label for label, count in counts.items() if count < MIN_EXAMPLES_PER_LABEL)
    if too_few:
        raise TrainingRefused(
            _(
                "too few examples for a held-out evaluation: every label needs at least "
                "%(min)d, these have fewer: %(labels)s"
            )
            % {
                "min": MIN_EXAMPLES_PER_LABEL,
                "labels": ", ".join(f"{label} ({counts[label]})" for label in too_few[:20])
                + (" …" if len(too_few) > 20 else ""),
            },
            labels=too_few,
        )
    return usable


def stratified_holdout(
    labels: Sequence[str], fraction: float, *, seed: int = DEFAULT_SEED
) -> list[bool]:
    """Which examples to hold out: `fraction` of each label (rounded), at least one, and
    never all of a label. Deterministic for the same labels and seed."""
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    rng = random.Random(seed)
    flags = [False] * len(labels)
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        count = min(len(indices) - 1, max(1, round(len(indices) * fraction)))
        for index in indices[:count]:
            flags[index] = True
    return flags


def train(
    examples: Sequence[Example],
    *,
    kind: str = "default",
    holdout_fraction: float = DEFAULT_HOLDOUT_FRACTION,
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Check, split, fit, score, fit again on everything. Raises TrainingRefused."""
    usable = check_trainable(examples, holdout_fraction=holdout_fraction, kind=kind)
    holdout = stratified_holdout([example.label for example in usable], holdout_fraction)
    return train_on(TrainingSet(usable, holdout), kind=kind, threshold=threshold, progress=progress)


def train_on(
    training_set: TrainingSet,
    *,
    kind: str,
    threshold: float,
    progress: Progress | None = None,
) -> TrainingOutcome:
    """Fit on the set's training part, score on its held-out part, refit on all of it."""
    progress = progress or _Silent()
    started = time.monotonic()
    split_model, scores = fit_and_score(
        training_set, kind=kind, threshold=threshold, progress=progress
    )
    prepared = [prepare(example.text) for example in training_set.examples]
    model = linear.fit(
        prepared,
        [example.label for example in training_set.examples],
        kind=kind,
        step=lambda: progress.advance(_("fitting on all examples")),
    )
    model.temperature = split_model.temperature
    progress.advance(_("done"))
    scores["seconds"] = round(time.monotonic() - started, 1)
    return TrainingOutcome(model=model, training_set=training_set, scores=scores)


def fit_and_score(
    training_set: TrainingSet,
    *,
    kind: str,
    threshold: float,
    progress: Progress | None = None,
) -> tuple[linear.TextModel, dict[str, Any]]:
    """A model fitted on the training part, calibrated and scored on the held-out part."""
    progress = progress or _Silent()
    train_part = [
        e for e, held in zip(training_set.examples, training_set.holdout, strict=True) if not held
    ]
    test_part = [
        e for e, held in zip(training_set.examples, training_set.holdout, strict=True) if held
    ]
    model = linear.fit(
        [prepare(example.text) for example in train_part],
        [example.label for example in train_part],
        kind=kind,
        step=lambda: progress.advance(_("fitting on the training part")),
    )
    test_texts = [prepare(example.text) for example in test_part]
    truth = [example.label for example in test_part]
    known = {label: i for i, label in enumerate(model.labels)}
    decision = model.decision(test_texts).astype("float64")
    # A label missing from the training part (impossible after check_trainable, but a
    # correction may add one) cannot be predicted; it only counts against the model.
    calibrate_rows = [i for i, label in enumerate(truth) if label in known]
    model.temperature = linear.fit_temperature(
        decision[calibrate_rows], [known[truth[i]] for i in calibrate_rows]
    )
    probabilities = linear.softmax(decision, model.temperature)
    best = probabilities.argmax(axis=1)
    predicted = [model.labels[i] for i in best]
    confidences = [float(probabilities[row, i]) for row, i in enumerate(best)]
    progress.advance(_("scoring the held-out part"))

    scores: dict[str, Any] = dict(metrics.score(truth, predicted, labels=model.labels))
    scores["calibration"] = metrics.calibration(truth, predicted, confidences, threshold=threshold)
    majority = metrics.majority_label([example.label for example in train_part])
    baseline = metrics.score(truth, [majority] * len(truth), labels=model.labels)
    scores["majority_baseline"] = {
        "label": majority,
        "accuracy": baseline["accuracy"],
        "macro_f1": baseline["macro_f1"],
        "micro_f1": baseline["micro_f1"],
    }
    languages = sorted({example.language for example in test_part if example.language})
    if languages:
        by_language = {}
        for language in languages:
            rows = [i for i, example in enumerate(test_part) if example.language == language]
            part = metrics.score([truth[i] for i in rows], [predicted[i] for i in rows])
            by_language[language] = {
                "n": part["n"],
                "accuracy": part["accuracy"],
                "macro_f1": part["macro_f1"],
            }
        scores["by_language"] = by_language
    scores["split"] = {
        "train_rows": len(train_part),
        "holdout_rows": len(test_part),
        "holdout_fraction": round(len(test_part) / max(1, len(training_set.examples)), 3),
    }
    scores["temperature"] = model.temperature
    scores["labels"] = len(model.labels)
    return model, scores

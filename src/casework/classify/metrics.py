"""Scores of a classifier on labelled examples. Pure: no Django, no NumPy.

`accuracy` equals `micro_f1` for single-label classification; both are given because reports
name them differently. `macro_f1` averages the classes equally, so a model that never finds
a rare class is not hidden by the frequent ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict


class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class Calibration(TypedDict):
    threshold: float
    coverage: float  # share of examples classified with at least `threshold` confidence
    accuracy_when_confident: float
    expected_calibration_error: float


class Scores(TypedDict, total=False):
    n: int
    accuracy: float
    macro_f1: float
    micro_f1: float
    per_class: dict[str, ClassScores]
    calibration: Calibration


@dataclass(frozen=True)
class ConfusionMatrix:
    labels: list[str]  # row = true label, column = predicted label, in this order
    counts: list[list[int]]


def score(
    truth: Sequence[str], predicted: Sequence[str], *, labels: Sequence[str] | None = None
) -> Scores:
    """Accuracy, macro-/micro-F1 and per-class precision, recall, F1 and support."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    names = sorted(set(labels or ()) | set(truth) | set(predicted))
    true_positive: Counter[str] = Counter()
    predicted_count: Counter[str] = Counter(predicted)
    support: Counter[str] = Counter(truth)
    for expected, got in zip(truth, predicted, strict=True):
        if expected == got:
            true_positive[expected] += 1
    per_class: dict[str, ClassScores] = {}
    for name in names:
        precision = _ratio(true_positive[name], predicted_count[name])
        recall = _ratio(true_positive[name], support[name])
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[name] = ClassScores(
            precision=round(precision, 4),
            recall=round(recall, 4),
            f1=round(f1, 4),
            support=support[name],
        )
    # Macro-F1 over the classes that occur in the truth: a label only ever predicted
    # (a false alarm) lowers precision elsewhere but is not a class of this test set.
    present = [name for name in names if support[name] > 0] or names
    macro_f1 = sum(per_class[name]["f1"] for name in present) / max(1, len(present))
    accuracy = _ratio(sum(true_positive.values()), len(truth))
    return Scores(
        n=len(truth),
        accuracy=round(accuracy, 4),
        macro_f1=round(macro_f1, 4),
        micro_f1=round(accuracy, 4),
        per_class=per_class,
    )


def calibration(
    truth: Sequence[str],
    predicted: Sequence[str],
    confidences: Sequence[float],
    *,
    threshold: float,
    bins: int = 10,
) -> Calibration:
    """How far confidence can be trusted: coverage and accuracy above the threshold, and the
    expected calibration error (mean gap between confidence and accuracy, in `bins` bins)."""
    n = len(truth)
    confident = [i for i in range(n) if confidences[i] >= threshold]
    correct_confident = sum(1 for i in confident if truth[i] == predicted[i])
    gap = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            i
            for i in range(n)
            if low <= confidences[i] < high or (b == bins - 1 and confidences[i] == 1.0)
        ]
        if members:
            accuracy = sum(1 for i in members if truth[i] == predicted[i]) / len(members)
            mean_confidence = sum(confidences[i] for i in members) / len(members)
            gap += len(members) / n * abs(accuracy - mean_confidence)
    return Calibration(
        threshold=threshold,
        coverage=round(_ratio(len(confident), n), 4),
        accuracy_when_confident=round(_ratio(correct_confident, len(confident)), 4),
        expected_calibration_error=round(gap, 4),
    )


def confusion(
    truth: Sequence[str], predicted: Sequence[str], *, labels: Sequence[str] | None = None
) -> ConfusionMatrix:
    names = sorted(set(labels or ()) | set(truth) | set(predicted))
    index = {name: i for i, name in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for expected, got in zip(truth, predicted, strict=True):
        counts[index[expected]][index[got]] += 1
    return ConfusionMatrix(labels=names, counts=counts)


def majority_label(labels: Sequence[str]) -> str:
    """The most frequent label; ties go to the alphabetically first, for stable baselines."""
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0

"""The ensemble recipe: three linear models on the same features, stacked, kept as one.

Training only (scikit-learn); no Django. The base models see the features differently: a
linear SVM (one-vs-rest) weighs every feature, an NB-SVM (one-vs-rest SVMs on features scaled
by each label's naive-Bayes log-count ratio) trusts words typical of one label, and a
complement naive Bayes counts evidence against the other labels. A multinomial logistic
regression learns how to combine their scores from out-of-fold predictions on the training
examples (k-fold inside the examples `fit` is given: the held-out examples of a version are
never seen).

Every base model's scores are linear in the features (for naive Bayes, its joint
log-likelihood without the prior), and so is the combination: the whole stack collapses into
one weight matrix and one intercept (`collapse`). The stored model has the default model's
format, size and speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

FOLDS = 5
NB_SVM_C = 0.1
NB_ALPHA = 1.0
COMPLEMENT_NB_ALPHA = 0.3
META_C = 1.0
META_PENALTY = 1e-4
# The full combination needs at least this many examples per parameter.
EXAMPLES_PER_META_PARAMETER = 10


@dataclass(frozen=True)
class Linear:
    """Scores = features @ coef.T + intercept, one column per label (all labels)."""

    coef: np.ndarray  # labels × features
    intercept: np.ndarray  # labels


BaseFitter = Callable[[sp.csr_matrix, np.ndarray, int, float], Linear]


def fit_stacked(
    features: sp.csr_matrix,
    targets: Sequence[int],
    *,
    label_count: int,
    c: float,
    counting_columns: int | None = None,
    seed: int = 0,
    step: Callable[[], None] | None = None,
) -> Linear:
    """The stacked model as one linear model over `features` (labels `0 … label_count-1`).

    `counting_columns`: the naive-Bayes models read only the first N columns (term
    weights, never negative); later columns (dense embeddings) are for the SVM alone."""
    y = np.asarray(targets, dtype=np.int64)
    counting = features.shape[1] if counting_columns is None else counting_columns
    fitters: list[BaseFitter] = [
        _svm,
        _restricted(_nb_svm, counting),
        _restricted(_complement_nb, counting),
    ]
    folds = _folds(y, FOLDS, seed)
    out_of_fold = [np.zeros((len(y), label_count)) for _ in fitters]
    for held in folds:
        train = np.setdiff1d(np.arange(len(y)), held)
        part = features[train]
        for m, fitter in enumerate(fitters):
            model = fitter(part, y[train], label_count, c)
            out_of_fold[m][held] = _scores(model, features[held])
        if step:
            step()
    bases = [fitter(features, y, label_count, c) for fitter in fitters]
    scales = [_spread(scores) for scores in out_of_fold]
    meta_inputs = np.hstack(
        [_centred(scores) / scale for scores, scale in zip(out_of_fold, scales, strict=True)]
    )
    meta = _fit_meta(meta_inputs, y, label_count)
    return collapse(bases, scales, meta)


def collapse(bases: Sequence[Linear], scales: Sequence[float], meta: Linear) -> Linear:
    """One linear model equal to: each base's scores, centred per text and divided by its
    scale, side by side, then the meta model's linear scores over them."""
    k = bases[0].coef.shape[0]
    centring = np.eye(k) - np.full((k, k), 1.0 / k)
    coef = np.zeros_like(bases[0].coef, dtype=np.float64)
    intercept = np.array(meta.intercept, dtype=np.float64)
    for m, (base, scale) in enumerate(zip(bases, scales, strict=True)):
        block = meta.coef[:, m * k : (m + 1) * k] @ centring / scale  # labels × labels
        coef += block @ base.coef
        intercept += block @ base.intercept
    return Linear(coef=coef, intercept=intercept)


def _scores(model: Linear, features: sp.csr_matrix) -> np.ndarray:
    return np.asarray(features @ model.coef.T) + model.intercept


def _centred(scores: np.ndarray) -> np.ndarray:
    return scores - scores.mean(axis=1, keepdims=True)


def _spread(scores: np.ndarray) -> float:
    return float(_centred(scores).std()) or 1.0


def _folds(y: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """Stratified folds: each label's examples dealt out in turn after a shuffle. A label
    with fewer examples than folds is missing from some folds' training parts; the base
    models then give it their lowest score there."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(y), dtype=np.int64)
    start = 0
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        assignment[members] = (np.arange(len(members)) + start) % count
        start += len(members)
    folds = [np.flatnonzero(assignment == fold) for fold in range(count)]
    return [fold for fold in folds if len(fold)]


def _restricted(fitter: BaseFitter, columns: int) -> BaseFitter:
    """A base model that reads only the first `columns` features (zero weight for the rest)."""

    def fit(features: sp.csr_matrix, y: np.ndarray, label_count: int, c: float) -> Linear:
        if columns == features.shape[1]:
            return fitter(features, y, label_count, c)
        model = fitter(features[:, :columns], y, label_count, c)
        coef = np.zeros((label_count, features.shape[1]))
        coef[:, :columns] = model.coef
        return Linear(coef=coef, intercept=model.intercept)

    return fit


def _full(coef: np.ndarray, intercept: np.ndarray, present: np.ndarray, k: int) -> Linear:
    """A model fitted on some labels only, as a model of all: the absent ones score lowest
    (no weights, an intercept below every present label's)."""
    if len(present) == k:
        return Linear(coef=np.asarray(coef, dtype=np.float64), intercept=np.asarray(intercept))
    full_coef = np.zeros((k, coef.shape[1]))
    full_coef[present] = coef
    full_intercept = np.full(k, float(np.min(intercept)) - 10.0)
    full_intercept[present] = intercept
    return Linear(coef=full_coef, intercept=full_intercept)


def _svm(features: sp.csr_matrix, y: np.ndarray, label_count: int, c: float) -> Linear:
    from sklearn.svm import LinearSVC

    present = np.unique(y)
    svm = LinearSVC(C=c, random_state=0).fit(features, y)
    coef, intercept = svm.coef_, svm.intercept_
    if len(present) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return _full(coef, intercept, present, label_count)


def _nb_svm(features: sp.csr_matrix, y: np.ndarray, label_count: int, c: float) -> Linear:
    """One-vs-rest SVMs on the features scaled by the label's naive-Bayes log-count ratio
    (after Wang and Manning 2012, on term weights instead of binary features, so that the
    scaling folds into the weights)."""
    from sklearn.svm import LinearSVC

    present = np.unique(y)
    binary = features.copy()
    binary.data[:] = 1.0
    total = np.asarray(binary.sum(axis=0)).ravel()
    coef = np.zeros((len(present), features.shape[1]))
    intercept = np.zeros(len(present))
    for row, label in enumerate(present):
        inside = y == label
        p = np.asarray(binary[inside].sum(axis=0)).ravel() + NB_ALPHA
        q = total - (p - NB_ALPHA) + NB_ALPHA
        ratio = np.log((p / p.sum()) / (q / q.sum()))
        svm = LinearSVC(C=NB_SVM_C, random_state=0).fit(features.multiply(ratio).tocsr(), inside)
        coef[row] = svm.coef_[0] * ratio
        intercept[row] = svm.intercept_[0]
    return _full(coef, intercept, present, label_count)


def _complement_nb(features: sp.csr_matrix, y: np.ndarray, label_count: int, c: float) -> Linear:
    from sklearn.naive_bayes import ComplementNB

    present = np.unique(y)
    nb = ComplementNB(alpha=COMPLEMENT_NB_ALPHA).fit(features, y)
    return _full(nb.feature_log_prob_, np.zeros(len(present)), present, label_count)


def _fit_meta(inputs: np.ndarray, y: np.ndarray, label_count: int) -> Linear:
    """The combination, fitted on the out-of-fold scores. With few labels, a multinomial
    logistic regression over all base scores (each label's logit may use every model's
    score of every label); with many labels that would be too many parameters for the
    examples (77 labels: 17,787), so then one weight per base model and a bias per label."""
    k = label_count
    models = inputs.shape[1] // k
    if models * k * k * EXAMPLES_PER_META_PARAMETER <= len(y):
        return _fit_full_meta(inputs, y, label_count)
    return _fit_weights_meta(inputs, y, label_count)


def _fit_full_meta(inputs: np.ndarray, y: np.ndarray, label_count: int) -> Linear:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    present = np.unique(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        meta = LogisticRegression(C=META_C, max_iter=1000).fit(inputs, y)
    coef, intercept = meta.coef_, meta.intercept_
    if len(present) == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return _full(coef, intercept, present, label_count)


def _fit_weights_meta(inputs: np.ndarray, y: np.ndarray, label_count: int) -> Linear:
    """One weight per base model and a bias per label, by multinomial log-likelihood."""
    from scipy.optimize import minimize

    k = label_count
    models = inputs.shape[1] // k
    blocks = inputs.reshape(len(y), models, k)  # text × model × label
    rows = np.arange(len(y))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[:models], theta[models:]
        logits = np.einsum("nmk,m->nk", blocks, weights) + bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        value = -np.log(np.clip(probabilities[rows, y], 1e-300, None)).mean()
        error = probabilities
        error[rows, y] -= 1.0
        error /= len(y)
        gradient = np.concatenate([np.einsum("nmk,nk->m", blocks, error), error.sum(axis=0)])
        penalty = META_PENALTY * float(theta @ theta)
        return float(value) + penalty, gradient + 2 * META_PENALTY * theta

    start = np.concatenate([np.ones(models), np.zeros(k)])
    found = minimize(loss, start, jac=True, method="L-BFGS-B")
    weights, bias = found.x[:models], found.x[models:]
    coef = np.hstack([weight * np.eye(k) for weight in weights])
    return Linear(coef=coef, intercept=bias)

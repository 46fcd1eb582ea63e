"""The default text model: word and character n-gram TF-IDF with a linear SVM, calibrated.

No Django here. Words (uni- and bigrams) carry the topic; character n-grams inside word
boundaries (2–5) carry inflections, compounds and typos, which matter for German and for
short, badly spelled messages. A linear SVM (one-vs-rest) scores every label; a softmax over
those scores with one temperature, fitted on held-out examples, turns them into calibrated
probabilities (`fit_temperature`).

The stored form is a zip of JSON and NumPy arrays (`to_bytes`/`from_bytes`), not a pickle:
loading it runs no code from the file, and a model trained with one scikit-learn release
still loads with the next one, because only vocabularies, IDF weights and coefficients are
kept.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

FORMAT = "casework.classify.linear"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelKind:
    """A recipe: which features and which regularisation."""

    name: str
    vectorizers: tuple[dict[str, Any], ...]
    c: float


MODEL_KINDS: dict[str, ModelKind] = {
    "default": ModelKind(
        name="default",
        vectorizers=(
            {"analyzer": "word", "ngram_range": [1, 2], "sublinear_tf": True, "min_df": 1},
            {"analyzer": "char_wb", "ngram_range": [2, 5], "sublinear_tf": True, "min_df": 2},
        ),
        c=0.5,
    ),
}


class UnknownModelKind(ValueError):
    pass


class ModelFileError(ValueError):
    """The stored bytes are not a model this code can read."""


@dataclass(frozen=True)
class FeatureBlock:
    """One vectoriser's part of the features: its settings, terms and IDF weights."""

    params: dict[str, Any]
    terms: list[str]
    idf: np.ndarray


class TextModel:
    """Labels, features and weights of a trained model; predicts for prepared texts.

    Prediction computes the TF-IDF features itself (the analysers are scikit-learn's, so
    the terms are the same as in training): scikit-learn's `transform` costs about 2 ms a
    call in input validation alone, ten times the rest of the work for a single message."""

    def __init__(
        self,
        *,
        kind: str,
        labels: Sequence[str],
        blocks: Sequence[FeatureBlock],
        coef: np.ndarray,
        intercept: np.ndarray,
        temperature: float = 1.0,
    ) -> None:
        self.kind = kind
        self.labels = list(labels)
        self.blocks = list(blocks)
        self.temperature = temperature
        # Features × labels: the rows of a text's features are gathered and summed.
        self._weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._intercept = np.asarray(intercept, dtype=np.float32)
        self._readers: list[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray]] = []
        offset = 0
        for block in self.blocks:
            analyzer = analyzer_for(block.params)
            vocabulary = {term: offset + i for i, term in enumerate(block.terms)}
            idf = np.concatenate([np.zeros(offset), np.asarray(block.idf, dtype=np.float64)])
            self._readers.append((analyzer, vocabulary, idf))
            offset += len(block.terms)
        if offset != self._weights.shape[0]:
            raise ModelFileError(f"{offset} terms but {self._weights.shape[0]} weights")

    @property
    def feature_count(self) -> int:
        return int(self._weights.shape[0])

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores, one row per text and one column per label."""
        scores = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for row, text in enumerate(texts):
            indices, values = self._features(text)
            if len(indices):
                scores[row] = values.astype(np.float32) @ self._weights[indices]
                scores[row] += self._intercept
            else:
                scores[row] = self._intercept
        return scores

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.decision(texts).astype(np.float64), self.temperature)

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """TF-IDF as scikit-learn computes it: sublinear tf, IDF, L2 norm per block."""
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for analyzer, vocabulary, idf in self._readers:
            get = vocabulary.get
            found: list[int] = []
            frequencies: list[int] = []
            for term, count in Counter(analyzer(text)).items():
                index = get(term)
                if index is not None:
                    found.append(index)
                    frequencies.append(count)
            if not found:
                continue
            block = np.array(found, dtype=np.int64)
            weights = (1.0 + np.log(np.array(frequencies, dtype=np.float64))) * idf[block]
            indices.append(block)
            values.append(weights / (np.sqrt(weights @ weights) or 1.0))
        if not indices:
            return np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(indices), np.concatenate(values)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "kind": self.kind,
                "labels": self.labels,
                "temperature": self.temperature,
                "vectorizers": [block.params for block in self.blocks],
            }
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
            arrays: dict[str, np.ndarray] = {
                "weights": self._weights,
                "intercept": self._intercept,
            }
            for i, block in enumerate(self.blocks):
                archive.writestr(
                    f"vocabulary_{i}.json", json.dumps(block.terms, ensure_ascii=False)
                )
                arrays[f"idf_{i}"] = np.asarray(block.idf, dtype=np.float64)
            array_buffer = io.BytesIO()
            np.savez(array_buffer, **arrays)
            archive.writestr("arrays.npz", array_buffer.getvalue())
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextModel:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                manifest = json.loads(archive.read("manifest.json"))
                if manifest.get("format") != FORMAT:
                    raise ModelFileError(f"not a {FORMAT} model")
                if manifest.get("format_version") != FORMAT_VERSION:
                    raise ModelFileError(
                        f"model format version {manifest.get('format_version')} is not "
                        f"{FORMAT_VERSION}"
                    )
                with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as npz:
                    arrays = {name: npz[name] for name in npz.files}
                blocks = [
                    FeatureBlock(
                        params=params,
                        terms=json.loads(archive.read(f"vocabulary_{i}.json")),
                        idf=arrays[f"idf_{i}"],
                    )
                    for i, params in enumerate(manifest["vectorizers"])
                ]
            return cls(
                kind=manifest["kind"],
                labels=manifest["labels"],
                blocks=blocks,
                coef=arrays["weights"].T,
                intercept=arrays["intercept"],
                temperature=float(manifest["temperature"]),
            )
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
            if isinstance(error, ModelFileError):
                raise
            raise ModelFileError(f"damaged model file: {error}") from error


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    kind: str = "default",
    step: Callable[[], None] | None = None,
) -> TextModel:
    """Train on prepared texts; at least two distinct labels (checked by the caller)."""
    recipe = MODEL_KINDS.get(kind)
    if recipe is None:
        raise UnknownModelKind(kind)
    vectorizers = [_vectorizer(params) for params in recipe.vectorizers]
    blocks = []
    for vec in vectorizers:
        blocks.append(vec.fit_transform(texts))
        if step:
            step()
    features = sp.hstack(blocks, format="csr")
    from sklearn.svm import LinearSVC  # training only: classifying needs no scikit-learn

    svm = LinearSVC(C=recipe.c, random_state=0)
    svm.fit(features, list(labels))
    if step:
        step()
    coef, intercept = svm.coef_, svm.intercept_
    if coef.shape[0] == 1:
        # Two labels: one score d for the second; as two columns (-d/2, d/2) the softmax
        # below is the logistic function of d, and prediction needs no special case.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    blocks = [
        FeatureBlock(
            params=_params(vec),
            terms=sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__),
            idf=vec.idf_,
        )
        for vec in vectorizers
    ]
    return TextModel(
        kind=kind,
        labels=[str(label) for label in svm.classes_],
        blocks=blocks,
        coef=coef,
        intercept=intercept,
    )


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    scaled = scores / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, truth: Sequence[int]) -> float:
    """The temperature that minimises the negative log-likelihood of the true labels.

    One parameter, so a few hundred held-out examples suffice and it cannot overfit much; it
    leaves the ranking of labels, and so accuracy and F1, unchanged."""
    rows = np.arange(len(truth))
    target = np.asarray(truth)

    def loss(temperature: float) -> float:
        probabilities = softmax(scores, temperature)[rows, target]
        return float(-np.log(np.clip(probabilities, 1e-12, None)).mean())

    if len(truth) == 0:
        return 1.0
    grid = [math.exp(x / 10) for x in range(-50, 31)]  # 0.0067 … 20
    best = min(grid, key=loss)
    # A finer look around the best grid point.
    fine = [best * math.exp(x / 100) for x in range(-10, 11)]
    return round(min(fine, key=loss), 5)


def _params(vec: Any) -> dict[str, Any]:  # a fitted TfidfVectorizer
    params = {
        "analyzer": vec.analyzer,
        "ngram_range": list(vec.ngram_range),
        "sublinear_tf": vec.sublinear_tf,
        "min_df": vec.min_df,
    }
    return params


def _vectorizer(params: dict[str, Any]) -> Any:  # a TfidfVectorizer to fit
    from sklearn.feature_extraction.text import TfidfVectorizer

    options = dict(params)
    options["ngram_range"] = tuple(options["ngram_range"])
    return TfidfVectorizer(dtype=np.float32, **options)


_WHITE_SPACES = re.compile(r"\s\s+")


def analyzer_for(params: dict[str, Any]) -> Callable[[str], list[str]]:
    """The terms of a text as the vectoriser with these settings finds them. Character
    n-grams within word boundaries get a faster equivalent of scikit-learn's (the same
    terms in the same numbers, see the tests): they are most of the time per message."""
    if params.get("analyzer") != "char_wb":
        return _vectorizer(params).build_analyzer()
    low, high = params["ngram_range"]

    def char_wb_ngrams(text: str) -> list[str]:
        grams: list[str] = []
        for word in _WHITE_SPACES.sub(" ", text.lower()).split():
            padded = f" {word} "
            length = len(padded)
            for n in range(low, high + 1):
                if n >= length:
                    grams.append(padded)
                    break
                grams += [padded[i : i + n] for i in range(length - n + 1)]
        return grams

    return char_wb_ngrams

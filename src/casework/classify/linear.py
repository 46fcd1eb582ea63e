"""Text models: word and character n-gram TF-IDF with linear weights, calibrated.

No Django here. Words (uni- and bigrams) carry the topic; character n-grams inside word
boundaries (2–5) carry inflections, compounds and typos, which matter for German and for
short, badly spelled messages. The default recipe's linear SVM (one-vs-rest) scores every
label; the `ensemble` recipe stacks three linear models into one (`stacking.py`); the
`embeddings` recipe adds a static sentence embedding as features (`embeddings.py`). A
softmax over the scores with one temperature, fitted on held-out examples, turns them into
calibrated probabilities (`fit_temperature`).

The stored form is a zip of JSON and NumPy arrays (`to_bytes`/`from_bytes`), not a pickle:
loading it runs no code from the file, and a model trained with one scikit-learn release
still loads with the next one, because only vocabularies, IDF weights and coefficients are
kept. Classifying needs NumPy only: the terms are computed here, exactly as scikit-learn's
analysers compute them (see the tests), with each word's character n-grams remembered.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from casework.classify import embeddings, stacking

FORMAT = "casework.classify.linear"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelKind:
    """A recipe: which features, which regularisation, which learner."""

    name: str
    vectorizers: tuple[dict[str, Any], ...]
    c: float
    # Three linear models stacked into one (`stacking.py`) instead of one linear SVM.
    stacked: bool = False
    # A static sentence embedding as extra features (`embeddings.py`, optional package).
    embedding: str | None = None
    # How much the embedding's unit vector weighs against the term blocks (each of norm 1).
    embedding_scale: float = 1.0


_WORDS = {"analyzer": "word", "ngram_range": [1, 2], "sublinear_tf": True, "min_df": 1}
_CHARS = {"analyzer": "char_wb", "ngram_range": [2, 5], "sublinear_tf": True, "min_df": 2}

MODEL_KINDS: dict[str, ModelKind] = {
    "default": ModelKind(name="default", vectorizers=(_WORDS, _CHARS), c=0.5),
    # The same features; a stack of a linear SVM, an NB-SVM and complement naive Bayes.
    # Training takes about six times as long; classifying costs the same.
    "ensemble": ModelKind(name="ensemble", vectorizers=(_WORDS, _CHARS), c=0.5, stacked=True),
    # The ensemble with WordLlama's static sentence embedding beside the n-grams: words it
    # never saw in training still count by their meaning. Needs casework[embeddings].
    "embeddings": ModelKind(
        name="embeddings",
        vectorizers=(_WORDS, _CHARS),
        c=0.5,
        stacked=True,
        embedding="wordllama-l2-supercat-256",
    ),
}

# The settings of a feature block that is a sentence embedding, not a vectoriser.
EMBEDDING_ANALYZER = "static_embedding"


def fit_steps(kind: str) -> int:
    """How many times `fit` advances its progress."""
    recipe = MODEL_KINDS[kind]
    return (
        len(recipe.vectorizers)
        + (1 if recipe.embedding else 0)
        + (stacking.FOLDS if recipe.stacked else 0)
        + 1
    )


class UnknownModelKind(ValueError):
    pass


class ModelFileError(ValueError):
    """The stored bytes are not a model this code can read."""


@dataclass(frozen=True)
class FeatureBlock:
    """One vectoriser's part of the features: its settings, terms and IDF weights. A
    sentence embedding's block has no terms: its width is its dimension."""

    params: dict[str, Any]
    terms: list[str]
    idf: np.ndarray

    @property
    def width(self) -> int:
        if self.params.get("analyzer") == EMBEDDING_ANALYZER:
            return int(self.params["dim"])
        return len(self.terms)


class TextModel:
    """Labels, features and weights of a trained model; predicts for prepared texts.

    Prediction computes the TF-IDF features itself (the same terms as scikit-learn's
    analysers find in training): scikit-learn's `transform` costs about 2 ms a call in input
    validation alone, thirty times the rest of the work for a single message."""

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
        self._readers: list[Callable[[str], tuple[np.ndarray, np.ndarray] | None]] = []
        offset = 0
        for block in self.blocks:
            if block.params.get("analyzer") == EMBEDDING_ANALYZER:
                self._readers.append(_embedding_reader(block.params, offset))
            else:
                self._readers.append(_tfidf_reader(block, offset))
            offset += block.width
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
        """The text's non-zero features: TF-IDF as scikit-learn computes it (sublinear tf,
        IDF, L2 norm per block), and the embedding's dimensions if the model has one."""
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for reader in self._readers:
            found = reader(text)
            if found is not None:
                indices.append(found[0])
                values.append(found[1])
        if not indices:
            return np.empty(0, dtype=np.int64), np.empty(0)
        if len(indices) == 1:
            return indices[0], values[0]
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
    matrices = []
    for vec in vectorizers:
        matrices.append(vec.fit_transform(texts))
        if step:
            step()
    blocks = [
        FeatureBlock(
            params=_params(vec),
            terms=sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__),
            idf=vec.idf_,
        )
        for vec in vectorizers
    ]
    counting_columns = sum(matrix.shape[1] for matrix in matrices)
    if recipe.embedding:
        embedding = embeddings.load(recipe.embedding)
        dense = embedding.embed(list(texts)) * recipe.embedding_scale
        matrices.append(sp.csr_matrix(dense))
        blocks.append(
            FeatureBlock(
                params={
                    "analyzer": EMBEDDING_ANALYZER,
                    "embedding": embedding.name,
                    "dim": embedding.dim,
                    "fingerprint": embedding.fingerprint,
                    "scale": recipe.embedding_scale,
                },
                terms=[],
                idf=np.empty(0),
            )
        )
        if step:
            step()
    features = sp.hstack(matrices, format="csr")
    classes = sorted({str(label) for label in labels})
    index = {label: i for i, label in enumerate(classes)}
    targets = np.array([index[str(label)] for label in labels])
    if recipe.stacked:
        stacked = stacking.fit_stacked(
            features,
            targets,
            label_count=len(classes),
            c=recipe.c,
            counting_columns=counting_columns,
            step=step,
        )
        coef, intercept = stacked.coef, stacked.intercept
    else:
        from sklearn.svm import LinearSVC  # training only: classifying needs no scikit-learn

        svm = LinearSVC(C=recipe.c, random_state=0)
        svm.fit(features, targets)
        coef, intercept = svm.coef_, svm.intercept_
    if step:
        step()
    if coef.shape[0] == 1:
        # Two labels: one score d for the second; as two columns (-d/2, d/2) the softmax
        # below is the logistic function of d, and prediction needs no special case.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return TextModel(
        kind=kind,
        labels=classes,
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
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's
# Words whose known character n-grams each reader remembers (per model, per process): a
# bound on memory (about 7 MiB per model when full), not on speed; then it starts afresh.
WORD_CACHE_SIZE = 20_000
_NO_TERMS = np.empty(0, dtype=np.int64)


def analyzer_for(params: dict[str, Any]) -> Callable[[str], list[str]]:
    """The terms of a text as the vectoriser with these settings finds them. Character
    n-grams within word boundaries get a faster equivalent of scikit-learn's (the same
    terms in the same numbers, see the tests)."""
    low, high = params["ngram_range"]
    if params.get("analyzer") == "word":
        return _word_analyzer(params)
    if params.get("analyzer") != "char_wb":
        return _vectorizer(params).build_analyzer()

    def char_wb_ngrams(text: str) -> list[str]:
        grams: list[str] = []
        for word in _WHITE_SPACES.sub(" ", text.lower()).split():
            grams += _word_ngrams(word, low, high)
        return grams

    return char_wb_ngrams


def _tfidf_reader(
    block: FeatureBlock, offset: int
) -> Callable[[str], tuple[np.ndarray, np.ndarray] | None]:
    vocabulary = {term: offset + i for i, term in enumerate(block.terms)}
    idf = np.concatenate([np.zeros(offset), np.asarray(block.idf, dtype=np.float64)])
    term_indices = term_indices_for(block.params, vocabulary)

    def read(text: str) -> tuple[np.ndarray, np.ndarray] | None:
        found = term_indices(text)
        if not len(found):
            return None
        columns, counts = np.unique(found, return_counts=True)
        weights = (1.0 + np.log(counts)) * idf[columns]
        return columns, weights / (np.sqrt(weights @ weights) or 1.0)

    return read


def _embedding_reader(
    params: dict[str, Any], offset: int
) -> Callable[[str], tuple[np.ndarray, np.ndarray] | None]:
    try:
        embedding = embeddings.load(params["embedding"], fingerprint=params["fingerprint"])
    except embeddings.EmbeddingUnavailable as error:
        raise ModelFileError(str(error)) from error
    if embedding.dim != int(params["dim"]):
        raise ModelFileError(f"the embedding has {embedding.dim} dimensions, not {params['dim']}")
    columns = np.arange(offset, offset + embedding.dim)
    scale = float(params.get("scale", 1.0))

    def read(text: str) -> tuple[np.ndarray, np.ndarray] | None:
        vector = embedding.embed_one(text)
        return columns, vector.astype(np.float64) * scale

    return read


def term_indices_for(
    params: dict[str, Any], vocabulary: dict[str, int]
) -> Callable[[str], np.ndarray]:
    """A function from a text to the vocabulary indices of its known terms, one entry per
    occurrence (the term frequencies are their counts).

    Character n-grams within word boundaries are most of the time per message, and they
    depend on the word alone: each word's known n-grams are looked up once and remembered,
    so a message costs a dictionary look-up per word (the words of customer service repeat
    a lot)."""
    if params.get("analyzer") != "char_wb":
        analyzer = analyzer_for(params)
        get = vocabulary.get

        def known_terms(text: str) -> np.ndarray:
            found = [index for index in map(get, analyzer(text)) if index is not None]
            return np.array(found, dtype=np.int64) if found else _NO_TERMS

        return known_terms

    low, high = params["ngram_range"]
    cache: dict[str, np.ndarray] = {}

    def of_word(word: str) -> np.ndarray:
        get = vocabulary.get
        found = [i for i in map(get, _word_ngrams(word, low, high)) if i is not None]
        return np.array(found, dtype=np.int32) if found else _NO_TERMS

    def known_char_ngrams(text: str) -> np.ndarray:
        parts = []
        for word in text.lower().split():  # what scikit-learn's char_wb splits on
            terms = cache.get(word)
            if terms is None:
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                terms = cache[word] = of_word(word)
            if len(terms):
                parts.append(terms)
        if not parts:
            return _NO_TERMS
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    return known_char_ngrams


def _word_analyzer(params: dict[str, Any]) -> Callable[[str], list[str]]:
    """scikit-learn's word n-grams (default token pattern, lower case), without importing
    scikit-learn: classifying a message needs NumPy only, and a process that only
    classifies starts faster."""
    low, high = params["ngram_range"]
    pattern = re.compile(params.get("token_pattern") or _DEFAULT_TOKEN_PATTERN)
    lowercase = params.get("lowercase", True)

    def word_ngrams(text: str) -> list[str]:
        tokens = pattern.findall(text.lower() if lowercase else text)
        if high == 1:
            return tokens if low == 1 else []
        grams = list(tokens) if low == 1 else []
        count = len(tokens)
        for n in range(max(low, 2), min(high, count) + 1):
            grams += [" ".join(tokens[i : i + n]) for i in range(count - n + 1)]
        return grams

    return word_ngrams


def _word_ngrams(word: str, low: int, high: int) -> list[str]:
    """scikit-learn's char_wb n-grams of one word: padded with a space on both sides; a
    padded word shorter than n counts once, as a whole."""
    padded = f" {word} "
    length = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if n >= length:
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(length - n + 1)]
    return grams

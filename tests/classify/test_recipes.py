"""The recipes besides the default: the stacked ensemble (collapsed into one linear model)
and the ensemble with static sentence embeddings (weights from an installed package, read
as data). The embedding's loading code runs on a tiny table and tokenizer made here; the
real WordLlama files are tried only where the optional package is installed."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from casework.classify import embeddings, linear, stacking, training
from casework.classify.linear import ModelFileError, TextModel, fit
from casework.classify.sources import Example
from casework.classify.texts import prepare
from tests.classify.conftest import labelled_rows

EMBEDDING = "wordllama-l2-supercat-256"


def _texts_and_labels(rows: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [prepare(text) for text, _label in rows], [label for _text, label in rows]


def test_the_ensemble_learns_and_is_stored_like_the_default_model():
    texts, labels = _texts_and_labels(labelled_rows())
    steps: list[int] = []

    model = fit(texts, labels, kind="ensemble", step=lambda: steps.append(1))
    loaded = TextModel.from_bytes(model.to_bytes())

    assert len(steps) == linear.fit_steps("ensemble")
    assert loaded.kind == "ensemble" and loaded.labels == ["advice", "complaint", "support"]
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), atol=1e-6)
    predicted = model.probabilities(["my router does not connect", "I want to complain"])
    assert [model.labels[i] for i in predicted.argmax(axis=1)] == ["support", "complaint"]


def test_the_ensemble_with_two_labels_and_a_label_seen_once():
    rows = [(t, label) for t, label in labelled_rows() if label != "advice"]
    rows.append(("Which tariff would you recommend", "advice"))  # fewer than the folds
    texts, labels = _texts_and_labels(rows)

    model = fit(texts, labels, kind="ensemble")

    probabilities = model.probabilities(["the app crashes", "unacceptable, I complain"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [model.labels[i] for i in probabilities.argmax(axis=1)] == ["support", "complaint"]

    two = [(t, label) for t, label in labelled_rows() if label != "advice"]
    binary = fit(*_texts_and_labels(two), kind="ensemble")
    assert binary.probabilities(["the app crashes"]).shape == (1, 2)


def test_the_collapsed_stack_scores_exactly_like_the_stack():
    rng = np.random.default_rng(3)
    k, features = 4, 30
    bases = [
        stacking.Linear(coef=rng.normal(size=(k, features)), intercept=rng.normal(size=k))
        for _ in range(3)
    ]
    scales = [0.5, 2.0, 7.0]
    meta = stacking.Linear(coef=rng.normal(size=(k, 3 * k)), intercept=rng.normal(size=k))
    x = sp.csr_matrix(rng.random((6, features)))

    explicit = np.hstack(
        [
            stacking._centred(np.asarray(x @ b.coef.T) + b.intercept) / scale
            for b, scale in zip(bases, scales, strict=True)
        ]
    )
    expected = explicit @ meta.coef.T + meta.intercept
    collapsed = stacking.collapse(bases, scales, meta)

    np.testing.assert_allclose(
        np.asarray(x @ collapsed.coef.T) + collapsed.intercept, expected, atol=1e-9
    )


# A stand-in for the WordLlama files: a small table and a tokenizer splitting on spaces.


@dataclass
class _Encoding:
    ids: list[int]


class _Tokenizer:
    def __init__(self, size: int) -> None:
        self.size = size

    def encode(self, text: str, add_special_tokens: bool = False) -> _Encoding:
        return _Encoding([zlib.crc32(word.encode()) % self.size for word in text.lower().split()])

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[_Encoding]:
        return [self.encode(text) for text in texts]


@pytest.fixture
def fake_embedding():  # noqa: ANN201
    table = np.random.default_rng(5).normal(size=(64, 8)).astype(np.float32)
    embedding = embeddings.StaticEmbedding(EMBEDDING, table, _Tokenizer(64), "f" * 64)
    before = dict(embeddings._loaded)
    embeddings._loaded[EMBEDDING] = embedding
    yield embedding
    embeddings._loaded.clear()
    embeddings._loaded.update(before)


def test_a_model_with_an_embedding_stores_its_fingerprint_not_its_table(fake_embedding):
    texts, labels = _texts_and_labels(labelled_rows())

    model = fit(texts, labels, kind="embeddings")
    data = model.to_bytes()
    loaded = TextModel.from_bytes(data)

    assert model.feature_count == sum(block.width for block in model.blocks)
    assert model.blocks[-1].params == {
        "analyzer": "static_embedding",
        "embedding": EMBEDDING,
        "dim": 8,
        "fingerprint": "f" * 64,
        "scale": 1.0,
    }
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), atol=1e-6)
    # The embedding counts: without it, the same weights score differently.
    vector = fake_embedding.embed_one(texts[0])
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    assert len(data) < 200_000


def test_a_model_trained_with_other_embedding_files_is_refused(fake_embedding):
    texts, labels = _texts_and_labels(labelled_rows())
    data = fit(texts, labels, kind="embeddings").to_bytes()

    embeddings._loaded[EMBEDDING] = embeddings.StaticEmbedding(
        EMBEDDING, fake_embedding.table, fake_embedding.tokenizer, "0" * 64
    )

    with pytest.raises(ModelFileError, match="not the ones this model was trained with"):
        TextModel.from_bytes(data)


def test_the_embedding_of_a_text_without_tokens_is_zero(fake_embedding):
    assert not fake_embedding.embed([""]).any()
    assert fake_embedding.embed([]).shape == (0, 8)


def test_training_the_embeddings_recipe_without_its_package_is_refused(monkeypatch):
    monkeypatch.setattr(embeddings, "is_available", lambda name: False)
    examples = [Example(text, label) for text, label in labelled_rows()]

    with pytest.raises(training.TrainingRefused, match=r"casework\[embeddings\]"):
        training.check_trainable(examples, holdout_fraction=0.2, kind="embeddings")


def _safetensors(tensors: dict[str, np.ndarray]) -> bytes:
    header, body, offset = {}, b"", 0
    for name, array in tensors.items():
        raw = array.astype("<f2").tobytes()
        header[name] = {
            "dtype": "F16",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        body += raw
        offset += len(raw)
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + body


def test_a_safetensors_table_is_read_as_data():
    table = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = _safetensors({"embedding.weight": table})

    np.testing.assert_array_equal(embeddings.read_safetensors(data, "embedding.weight"), table)
    for broken in (b"", data[:20], data[:-2]):
        with pytest.raises(embeddings.EmbeddingUnavailable):
            embeddings.read_safetensors(broken, "embedding.weight")
    with pytest.raises(embeddings.EmbeddingUnavailable):
        embeddings.read_safetensors(data, "other")


def test_an_embedding_whose_package_is_missing_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(embeddings, "_package_folder", lambda package: None)
    monkeypatch.setattr(embeddings, "_loaded", {})

    with pytest.raises(embeddings.EmbeddingUnavailable, match=r"casework\[embeddings\]"):
        embeddings.load(EMBEDDING)


@pytest.mark.skipif(
    not embeddings.is_available(EMBEDDING), reason="the optional package is not installed"
)
def test_the_real_wordllama_files_load_without_running_the_package(monkeypatch):
    import sys

    monkeypatch.setattr(embeddings, "_loaded", {})

    embedding = embeddings.load(EMBEDDING)

    assert embedding.dim == 256 and embedding.table.shape == (32000, 256)
    assert "wordllama" not in sys.modules  # its code never ran (its own loader downloads)
    card, arrived, cancel = embedding.embed(
        ["Where is my new card?", "My card has still not arrived", "Wie kann ich kündigen"]
    )
    assert np.linalg.norm(card) == pytest.approx(1.0, abs=1e-5)
    assert card @ arrived > card @ cancel

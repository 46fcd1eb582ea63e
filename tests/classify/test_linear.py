from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from casework.classify.linear import (
    ModelFileError,
    TextModel,
    analyzer_for,
    fit,
    fit_temperature,
    term_indices_for,
)
from casework.classify.texts import prepare
from tests.classify.conftest import labelled_rows


def _model() -> tuple[TextModel, list[str]]:
    rows = labelled_rows()
    texts = [prepare(text) for text, _label in rows]
    return fit(texts, [label for _text, label in rows]), texts


def test_the_stored_model_predicts_exactly_like_the_trained_one():
    model, texts = _model()
    model.temperature = 0.7

    loaded = TextModel.from_bytes(model.to_bytes())

    assert loaded.labels == model.labels == ["advice", "complaint", "support"]
    assert loaded.temperature == 0.7
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), atol=1e-6)


def test_it_learns_the_training_examples():
    model, _texts = _model()

    probabilities = model.probabilities(["my router does not connect", "I want to complain"])

    assert [model.labels[i] for i in probabilities.argmax(axis=1)] == ["support", "complaint"]


def test_two_labels_make_a_two_column_model():
    rows = [(t, label) for t, label in labelled_rows() if label != "advice"]
    model = fit([prepare(t) for t, _ in rows], [label for _, label in rows])

    probabilities = model.probabilities(["the app crashes", "unacceptable, I complain"])

    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [model.labels[i] for i in probabilities.argmax(axis=1)] == ["support", "complaint"]


def test_unknown_words_only_give_the_prior():
    model, _texts = _model()

    probabilities = model.probabilities(["zzzz qqqq"])

    assert probabilities.shape == (1, 3)


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_damaged_bytes_are_refused(data: bytes):
    with pytest.raises(ModelFileError):
        TextModel.from_bytes(data)


def test_temperature_softens_overconfident_scores():
    # Scores that are right only 70 % of the time but very far apart.
    scores = np.array([[10.0, 0.0]] * 7 + [[0.0, 10.0]] * 3)
    truth = [0] * 7 + [0] * 3

    temperature = fit_temperature(scores, truth)

    assert temperature > 5


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "I  a   bc\tx\n\nÄÖÜ ß",
        "😀 x",
        "İstanbul ẞ groß",
        "Mein Router verbindet sich seit gestern nicht mehr!!",
        "ab " * 50,
    ],
)
def test_the_fast_character_ngrams_are_scikit_learns(text: str):
    params = {"analyzer": "char_wb", "ngram_range": [2, 5], "sublinear_tf": True, "min_df": 2}

    fast = analyzer_for(params)
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()

    assert Counter(fast(text)) == Counter(reference(text))


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (1, 3), (2, 3)])
@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "Hallo",
        "I  a   bc\tx\n\nÄÖÜ ß",
        "Mein Router, seit gestern: nicht mehr!! 2x",
        "ab " * 9,
    ],
)
def test_the_word_ngrams_are_scikit_learns(text: str, ngram_range: tuple[int, int]):
    params = {"analyzer": "word", "ngram_range": list(ngram_range)}

    reference = TfidfVectorizer(analyzer="word", ngram_range=ngram_range).build_analyzer()

    assert analyzer_for(params)(text) == reference(text)


def test_known_terms_are_counted_as_scikit_learn_counts_them():
    texts = [prepare(text) for text, _label in labelled_rows()]
    for params in (
        {"analyzer": "char_wb", "ngram_range": [2, 5]},
        {"analyzer": "word", "ngram_range": [1, 2]},
    ):
        counter = CountVectorizer(
            analyzer=params["analyzer"], ngram_range=tuple(params["ngram_range"]), min_df=2
        ).fit(texts)
        known = term_indices_for(params, dict(counter.vocabulary_))

        # Twice: the second time the words' character n-grams come from the cache.
        for text in [*texts, "völlig unbekannte Wörter", "", "Router Router router"] * 2:
            row = counter.transform([text])
            expected = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
            assert Counter(known(text).tolist()) == expected

"""A file or a set of examples that cannot make an evaluated model is refused before any
training starts, with a message that says exactly what is wrong."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from casework.classify.sources import Example, SourceRefused, read_labelled_csv
from casework.classify.training import TrainingRefused, check_trainable, stratified_holdout


def _read(path: Path, **options: str) -> list[Example]:
    return read_labelled_csv(path, text_column="text", label_column="label", **options).examples


def test_semicolons_and_a_byte_order_mark_are_read(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftext;label\r\nRechnung falsch;support\r\n".encode())

    assert _read(path) == [Example("Rechnung falsch", "support")]


def test_a_missing_column_is_named_with_the_columns_there_are(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("message,category\nhello,advice\n")

    with pytest.raises(SourceRefused) as refused:
        _read(path)

    assert refused.value.message == (
        "x.csv has no column 'text', 'label'; its columns are: 'message', 'category'"
    )


def test_a_wrong_encoding_names_the_line_and_suggests_one(tmp_path: Path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nok,a\nK\xfcndigung,b\n".encode("latin-1"))

    with pytest.raises(SourceRefused) as refused:
        _read(path)

    assert "undecodable byte 0xfc on line 3" in refused.value.message
    assert "--encoding" in refused.value.message
    assert _read(path, encoding="latin-1")[1] == Example("Kündigung", "b")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty.csv is empty"),
        ("text,label\n", "empty.csv has a header but no rows"),
        ("text,label\nhello,\n", "empty.csv line 2: the label (label) is empty"),
    ],
)
def test_empty_files_and_labels(tmp_path: Path, content: str, message: str):
    path = tmp_path / "empty.csv"
    path.write_text(content)

    with pytest.raises(SourceRefused) as refused:
        _read(path)

    assert refused.value.message == message


def test_a_missing_file(tmp_path: Path):
    with pytest.raises(SourceRefused, match="cannot read the file"):
        _read(tmp_path / "nowhere.csv")


def test_a_single_label_is_refused():
    examples = [Example(f"text number {i}", "support") for i in range(10)]

    with pytest.raises(TrainingRefused) as refused:
        check_trainable(examples, holdout_fraction=0.2)

    assert refused.value.message == (
        "only one label (support) in 10 examples: a classifier needs at least two different labels"
    )


def test_a_label_with_one_example_is_refused_and_named():
    examples = [Example(f"text {i}", "a") for i in range(5)] + [Example("lonely text", "b")]

    with pytest.raises(TrainingRefused) as refused:
        check_trainable(examples, holdout_fraction=0.2)

    assert "every label needs at least 2, these have fewer: b (1)" in refused.value.message


def test_texts_without_words_do_not_count():
    examples = [Example("hello there", "a"), Example("good day", "a"), Example("😀", "b")]
    examples += [Example("-- \nMax", "b"), Example("", "b")]

    with pytest.raises(TrainingRefused, match="only one label"):
        check_trainable(examples, holdout_fraction=0.2)


def test_the_holdout_takes_a_share_of_every_label_and_never_all_of_it():
    labels = ["a"] * 50 + ["b"] * 10 + ["c"] * 2

    flags = stratified_holdout(labels, 0.2)

    held = Counter(label for label, flag in zip(labels, flags, strict=True) if flag)
    assert held == {"a": 10, "b": 2, "c": 1}
    assert stratified_holdout(labels, 0.2) == flags

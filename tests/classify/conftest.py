"""Tiny labelled data sets, written to tmp_path as CSV files: seconds, not minutes."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from casework.classify.prediction import forget_cached_models

# Three service types, each with its own words, so that a model learns them from a few rows.
PHRASES = {
    "advice": [
        "Can you tell me which tariff suits a family of four",
        "I would like some advice about the new savings plan",
        "Which contract would you recommend for a small business",
        "Could you explain the difference between the two offers",
        "Welchen Tarif empfehlen Sie mir für meine Familie",
        "Ich hätte gern eine Beratung zum neuen Sparplan",
    ],
    "support": [
        "My router does not connect to the internet since yesterday",
        "The app crashes every time I open my invoice",
        "I cannot log in, the password reset mail never arrives",
        "The card reader shows an error and the payment fails",
        "Mein Router verbindet sich seit gestern nicht mehr",
        "Die App stürzt beim Öffnen der Rechnung immer ab",
    ],
    "complaint": [
        "This is unacceptable, I was charged twice and nobody answers",
        "I am very angry about the rude staff at your shop",
        "I want to complain about the terrible service last week",
        "Your technician never showed up, I demand compensation",
        "Das ist eine Frechheit, Sie haben doppelt abgebucht",
        "Ich beschwere mich über den unfreundlichen Mitarbeiter",
    ],
}
TAILS = ["", " please", " thanks", " asap", " bitte", " danke", " today", " heute"]


def labelled_rows(per_label: int = 12, *, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label, phrases in PHRASES.items():
        for i in range(per_label):
            rows.append((phrases[i % len(phrases)] + rng.choice(TAILS), label))
    rng.shuffle(rows)
    return rows


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] = ("text", "label"),
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def service_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "service.csv", labelled_rows())


@pytest.fixture
def make_csv(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, rows: Sequence[Sequence[str]], **options: object) -> Path:
        return write_csv(tmp_path / name, rows, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture(autouse=True)
def _no_cached_models() -> Iterator[None]:
    """A model cached by one test must not answer in the next."""
    forget_cached_models()
    yield
    forget_cached_models()

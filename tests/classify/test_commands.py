"""`casework classify …` from the operator's side: train, evaluate, activate, roll back."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from casework.classify.models import ModelVersion
from casework.events.models import Event
from tests.classify.conftest import labelled_rows

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("classify", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def train(path: Path, *options: str, task: str = "service_type") -> tuple[str, str]:
    return run(
        "train", "--task", task, "--csv", str(path), "--text-col", "text", "--label-col", "label",
        *options,
    )  # fmt: skip


def test_the_first_version_is_trained_scored_and_active(service_csv: Path):
    stdout, stderr = train(service_csv, "--by", "anna")

    version = ModelVersion.objects.get()
    assert (version.number, version.is_active, version.trained_by) == (1, True, "anna")
    assert version.labels == ["advice", "complaint", "support"]
    assert version.source_name == "service.csv" and version.source_rows == 36
    assert len(version.source_sha256) == 64 and len(version.model_sha256) == 64
    assert version.scores["split"] == {
        "train_rows": 30,
        "holdout_rows": 6,
        "holdout_fraction": 0.167,
    }
    assert 0 <= version.scores["accuracy"] <= 1
    assert "service_type v1" in stdout and "active" in stdout
    assert "8/8" in stderr  # the progress bar
    assert list(Event.objects.order_by("seq").values_list("code", "payload__version")) == [
        ("classifier.version_trained", 1),
        ("classifier.version_activated", 1),
    ]


def test_a_later_version_waits_for_activation_unless_asked(service_csv: Path):
    train(service_csv)
    train(service_csv)
    train(service_csv, "--activate")

    assert list(ModelVersion.objects.order_by("number").values_list("number", "is_active")) == [
        (1, False),
        (2, False),
        (3, True),
    ]


def test_activate_and_roll_back(service_csv: Path):
    for _ in range(3):
        train(service_csv)

    assert run("activate", "--task", "service_type", "--version", "3")[0].strip() == (
        "service_type v3 is active"
    )
    assert "service_type v1 is active" in run("rollback", "--task", "service_type")[0]
    with pytest.raises(CommandError, match="is the first that was active"):
        run("rollback", "--task", "service_type")
    activations = Event.objects.filter(code="classifier.version_activated").order_by("seq")
    assert [
        (e.payload["version"], e.payload["previous_version"], e.payload["reason"])
        for e in activations
    ] == [
        (1, None, "trained"),
        (3, 1, "activated"),
        (1, 3, "rolled_back"),
    ]


def test_activating_a_missing_version_or_task(service_csv: Path):
    train(service_csv)

    with pytest.raises(CommandError, match="has no version 7"):
        run("activate", "--task", "service_type", "--version", "7")
    with pytest.raises(CommandError, match="there is no classifier task nope"):
        run("rollback", "--task", "nope")


def test_evaluate_prints_one_json_object_and_draws_the_confusion_matrix(
    service_csv: Path, make_csv, tmp_path: Path
):
    train(service_csv)
    test_file = make_csv("test.csv", labelled_rows(per_label=4, seed=9) + [("😀", "advice")])
    picture = tmp_path / "confusion.svg"

    stdout, _stderr = run(
        "evaluate", "--task", "service_type", "--csv", str(test_file),
        "--text-col", "text", "--label-col", "label", "--confusion", str(picture),
    )  # fmt: skip

    scores = json.loads(stdout)  # the whole of stdout is one JSON object
    assert scores["n"] == 13
    assert {"accuracy", "macro_f1", "micro_f1", "per_class", "calibration"} <= scores.keys()
    assert set(scores["per_class"]) == {"advice", "complaint", "support"}
    assert set(scores["per_class"]["advice"]) == {"precision", "recall", "f1", "support"}
    assert scores["per_class"]["advice"]["support"] == 5
    assert scores["version"] == 1 and scores["majority_baseline"]["accuracy"] >= 0
    root = ET.parse(picture).getroot()
    assert root.tag.endswith("svg")


def test_evaluate_another_version_and_refuse_other_picture_formats(service_csv: Path):
    train(service_csv)
    train(service_csv)

    stdout, _ = run(
        "evaluate", "--task", "service_type", "--csv", str(service_csv),
        "--text-col", "text", "--label-col", "label", "--version", "2",
    )  # fmt: skip
    assert json.loads(stdout)["version"] == 2
    with pytest.raises(CommandError, match=r"written as SVG \(.svg\)"):
        run(
            "evaluate", "--task", "service_type", "--csv", str(service_csv),
            "--text-col", "text", "--label-col", "label", "--confusion", "x.pdf",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("hello there", "advice")] * 10, "only one label (advice) in 10 examples"),
        (
            [("hello there", "advice")] * 10 + [("my router is broken", "support")],
            "these have fewer: support (1)",
        ),
    ],
)
def test_training_is_refused_before_it_starts(make_csv, rows, message: str):
    path = make_csv("bad.csv", rows)

    with pytest.raises(CommandError) as refused:
        train(path)

    assert message in str(refused.value)
    assert not ModelVersion.objects.exists()
    assert not Event.objects.exists()


def test_missing_columns_and_bad_encodings_are_refused(make_csv, tmp_path: Path):
    path = make_csv("columns.csv", [("a", "b")], header=("body", "label"))
    with pytest.raises(CommandError, match="columns.csv has no column 'text'"):
        train(path)

    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\nK\xfcndigung,b\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not utf-8-sig: undecodable byte 0xfc on line 2"):
        train(latin)


def test_the_language_column_adds_scores_per_language(make_csv):
    rows = [(text, label, "de" if " " in text[:4] else "en") for text, label in labelled_rows()]
    path = make_csv("lang.csv", rows, header=("text", "label", "lang"))

    train(path, "--lang-col", "lang")

    assert set(ModelVersion.objects.get().scores["by_language"]) <= {"de", "en"}


def test_versions_lists_them(service_csv: Path):
    train(service_csv)

    stdout, _ = run("versions", "--task", "service_type")

    assert "* v1" in stdout and "service.csv" in stdout


def test_the_ensemble_recipe_is_trained_on_request(service_csv: Path):
    stdout, stderr = train(service_csv, "--model", "ensemble")

    version = ModelVersion.objects.get()
    assert version.kind == "ensemble" and version.is_active
    assert "18/18" in stderr  # fit (2 blocks, 5 folds, combine), score, fit again, done
    assert 0 <= version.scores["accuracy"] <= 1

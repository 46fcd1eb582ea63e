"""Learning from agents' corrections: record them, retrain, activate only if not worse."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from casework.classify.models import Correction, ModelVersion
from casework.classify.services import apply_corrections, record_correction, retrain
from casework.classify.sources import Example
from casework.classify.training import TrainingSet
from casework.events.models import Event
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput, NotFound

pytestmark = pytest.mark.django_db

AGENT = Actor.system("test-agent")


def run(*args: str) -> str:
    stdout = io.StringIO()
    call_command("classify", *args, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


@pytest.fixture
def trained(service_csv: Path) -> None:
    run("train", "--task", "service_type", "--csv", str(service_csv), "--text-col", "text",
        "--label-col", "label")  # fmt: skip


def test_a_correction_is_kept_with_its_event(trained):
    correction = record_correction(
        "service_type",
        text="My bill is wrong again, this is the third time",
        old_label="support",
        new_label="complaint",
        actor=AGENT,
        interaction_id=42,
    )

    assert Correction.objects.get() == correction
    event = Event.objects.filter(code="classifier.correction_recorded").get()
    assert event.payload == {
        "task": "service_type",
        "interaction_id": 42,
        "old_label": "support",
        "new_label": "complaint",
    }


@pytest.mark.parametrize(
    ("text", "old", "new", "message"),
    [
        ("some text here", "support", "", "the corrected label is empty"),
        ("some text here", "support", "support", "is the label it had"),
        ("-- \nMax", "support", "complaint", "contains no words"),
    ],
)
def test_a_correction_that_teaches_nothing_is_refused(trained, text, old, new, message):
    with pytest.raises(InvalidInput, match=message):
        record_correction("service_type", text=text, old_label=old, new_label=new, actor=AGENT)
    assert not Correction.objects.exists()


def test_a_correction_for_an_unknown_task(db):
    with pytest.raises(NotFound):
        record_correction("nope", text="hello there", old_label="a", new_label="b", actor=AGENT)


def test_retraining_without_new_corrections_does_nothing(trained):
    outcome = retrain("service_type", actor=AGENT, trained_by="cron")

    assert outcome.candidate is None
    assert ModelVersion.objects.count() == 1
    assert "nothing to do" in run("retrain", "--task", "service_type")


def test_retraining_with_corrections_makes_a_candidate_compared_on_the_same_held_out(trained):
    for text in ["I was charged twice for the router", "Charged twice and nobody answers"]:
        record_correction(
            "service_type", text=text, old_label="support", new_label="complaint", actor=AGENT
        )

    outcome = retrain("service_type", actor=AGENT, trained_by="cron")

    candidate = outcome.candidate
    assert candidate is not None and candidate.number == 2
    assert candidate.source_name == "v1 + 2 corrections"
    assert candidate.source_rows == 38
    assert outcome.new_corrections == 2
    assert candidate.scores["split"]["holdout_rows"] == 6  # the same held-out rows as v1
    assert candidate.scores["compared_with"]["version"] == 1
    assert outcome.is_activated == (
        outcome.candidate_scores["macro_f1"] >= outcome.baseline_scores["macro_f1"]
    )
    active = ModelVersion.objects.get(is_active=True)
    assert active.number == (2 if outcome.is_activated else 1)


def test_the_retrain_command_reports_what_it_did(trained):
    record_correction(
        "service_type", text="Rude staff in the shop", old_label="advice",
        new_label="complaint", actor=AGENT,
    )  # fmt: skip

    stdout = run("retrain", "--task", "service_type", "--by", "cron")

    assert "service_type v2: 1 new corrections; held-out macro-F1" in stdout


def test_corrections_relabel_held_out_examples_for_both_models_and_add_new_texts():
    base = TrainingSet(
        [
            Example("router broken", "support"),
            Example("bill wrong", "support"),
            Example("x y", "a"),
        ],
        [False, True, False],
    )
    corrections = [
        Correction(text="router  broken", new_label="complaint"),
        Correction(text="bill wrong", new_label="advice"),
        Correction(text="bill wrong", new_label="complaint"),  # the later one wins
        Correction(text="new text", new_label="advice"),
    ]

    baseline, candidate = apply_corrections(base, corrections)

    assert [e.label for e in baseline.examples] == ["support", "complaint", "a"]
    assert baseline.holdout == [False, True, False]
    assert [(e.text, e.label) for e in candidate.examples] == [
        ("router broken", "complaint"),
        ("bill wrong", "complaint"),
        ("x y", "a"),
        ("new text", "advice"),
    ]
    assert candidate.holdout == [False, True, False, False]

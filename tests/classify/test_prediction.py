"""`classify_text()` as the intake calls it: hostile input gets a defined answer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from casework.classify.models import ModelVersion
from casework.classify.prediction import NoActiveModel, Prediction, classify_text, classify_texts
from casework.classify.services import activate_version
from casework.kernel.actors import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(service_csv: Path) -> None:
    call_command(
        "classify", "train", "--task", "service_type", "--csv", str(service_csv),
        "--text-col", "text", "--label-col", "label", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip


def test_a_clear_text_gets_its_label(trained):
    prediction = classify_text("service_type", "The app crashes when I open the invoice")

    assert prediction.label == "support"
    assert prediction.model_version == 1
    assert 0 < prediction.confidence <= 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "-- \nMax Mustermann\nTel. 030 123456",
        "Mit freundlichen Grüßen\nErika Musterfrau",
        "😀😡🙈",
        "<html><body><br/><img src='x.png'></body></html>",
        "12345 !!! ???",
    ],
)
def test_text_without_words_is_uncertain_not_an_error(trained, text: str):
    prediction = classify_text("service_type", text)

    assert prediction == Prediction("advice", 0.0, False, 1)  # advice: first of the tied


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,
        "Rechnung " * 120_000,
        "<div>" * 50_000 + "my router is broken",
        "Здравствуйте, мой роутер не работает",
        "我的路由器坏了",
        "\x00\x01\x02 router \ud83d",
    ],
)
def test_hostile_text_gets_a_defined_prediction(trained, text: str):
    prediction = classify_text("service_type", text)

    assert prediction.label in {"advice", "complaint", "support"}
    assert 0 <= prediction.confidence <= 1
    assert prediction.is_confident == (prediction.confidence >= 0.5)


def test_the_batch_answers_like_single_calls(trained):
    texts = ["", "I want to complain about your rude staff", "Welchen Tarif empfehlen Sie"]

    assert classify_texts("service_type", texts) == [
        classify_text("service_type", t) for t in texts
    ]


def test_the_active_version_answers_and_a_new_activation_is_seen_at_once(trained, service_csv):
    call_command(
        "classify", "train", "--task", "service_type", "--csv", str(service_csv),
        "--text-col", "text", "--label-col", "label", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert classify_text("service_type", "router broken").model_version == 1

    activate_version("service_type", 2, actor=Actor.system("test"))

    assert classify_text("service_type", "router broken").model_version == 2


def test_a_damaged_model_is_reported_not_used(trained):
    ModelVersion.objects.update(model_data=b"garbage")

    with pytest.raises(Exception, match="does not match its checksum"):
        classify_text("service_type", "router broken")


def test_a_task_without_a_model_is_an_error_the_caller_can_catch(db):
    with pytest.raises(NoActiveModel, match="there is no classifier task topic"):
        classify_text("topic", "hello")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Guten Tag, meine Rechnung ist leider falsch.", "de"),
        ("Hello, my invoice is wrong, please help.", "en"),
        ("Bonjour, ma facture est fausse.", "other"),
        ("", "other"),
    ],
)
def test_language_is_answered_by_the_built_in_detector(db, text: str, label: str):
    prediction = classify_text("language", text)

    assert prediction.label == label
    assert prediction.model_version is None

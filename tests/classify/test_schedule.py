"""Retraining on the schedule: from the day's time on, one job per corrected task and day;
the worker's job retrains (and activates only what is not worse)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from casework.classify import schedule
from casework.classify.models import ModelVersion
from casework.classify.services import record_correction
from casework.kernel import jobs
from casework.kernel.actors import Actor
from casework.kernel.models import Job
from tests.classify.test_corrections import run

pytestmark = pytest.mark.django_db

AGENT = Actor.system("test-agent")
BERLIN = dt.timezone(dt.timedelta(hours=1))  # November: CET


@pytest.fixture
def trained(service_csv: Path) -> None:
    run("train", "--task", "service_type", "--csv", str(service_csv), "--text-col", "text",
        "--label-col", "label")  # fmt: skip


def _correct() -> None:
    record_correction(
        "service_type",
        text="I was charged twice for the router",
        old_label="support",
        new_label="complaint",
        actor=AGENT,
    )


def test_a_corrected_task_is_retrained_once_a_day_from_the_set_time(trained, settings):
    settings.CASEWORK_CLASSIFY_RETRAIN_AT = "03:00"
    _correct()
    night = dt.datetime(2026, 11, 26, 2, 59, tzinfo=BERLIN)

    before = schedule.enqueue_due(now=night)
    first = schedule.enqueue_due(now=night + dt.timedelta(minutes=1))
    again = schedule.enqueue_due(now=night + dt.timedelta(hours=5))
    next_day = schedule.enqueue_due(now=night + dt.timedelta(days=1, minutes=1))

    assert (before, first, again, next_day) == (0, 1, 0, 1)
    assert Job.objects.filter(kind="classify.retrain").count() == 2


def test_the_job_retrains(trained, settings, monkeypatch):
    settings.CASEWORK_CLASSIFY_RETRAIN_AT = "00:00"
    _correct()
    schedule.enqueue_due()

    jobs.run_due()

    assert ModelVersion.objects.count() == 2
    candidate = ModelVersion.objects.get(number=2)
    assert candidate.trained_by == "system:classify"
    assert Job.objects.get(kind="classify.retrain").status == "done"


def test_nothing_is_due_without_corrections_or_without_a_time(trained, settings):
    settings.CASEWORK_CLASSIFY_RETRAIN_AT = "00:00"
    assert schedule.enqueue_due() == 0
    settings.CASEWORK_CLASSIFY_RETRAIN_AT = ""
    _correct()
    assert schedule.enqueue_due() == 0


def test_a_wrong_time_is_reported(settings):
    settings.CASEWORK_CLASSIFY_RETRAIN_AT = "3am"
    with pytest.raises(ImproperlyConfigured, match="time of day such as 03:00"):
        schedule.enqueue_due()

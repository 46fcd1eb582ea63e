"""Transactional jobs: enqueued with the change, run once to completion, retried, failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from casework.kernel import jobs
from casework.kernel.models import Job, JobStatus
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

calls: list[dict[str, Any]] = []
failures: list[tuple[dict[str, Any], str]] = []


@jobs.handles("test.rename_team")
def rename_team(payload: dict[str, Any]) -> None:
    from casework.routing.models import Team

    calls.append(payload)
    Team.objects.filter(code=payload["team"]).update(name_en=payload["name"])
    if payload.get("explode"):
        raise RuntimeError("backend down")


@jobs.handles(
    "test.always_fails", on_failure=lambda payload, error: failures.append((payload, error))
)
def always_fails(payload: dict[str, Any]) -> None:
    raise ValueError("no rule matched")


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    failures.clear()


def make_due() -> None:
    Job.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_enqueue_needs_the_transaction_of_its_change():
    with pytest.raises(RuntimeError):
        jobs.enqueue("test.rename_team", {})


def test_a_job_runs_once_and_its_writes_commit_with_its_completion():
    team = TeamFactory(code="billing")
    with transaction.atomic():
        jobs.enqueue("test.rename_team", {"team": "billing", "name": "Billing"})

    assert jobs.run_due() == 1
    assert jobs.run_due() == 0

    team.refresh_from_db()
    assert team.name_en == "Billing"
    job = Job.objects.get()
    assert job.status == JobStatus.DONE and job.attempts == 1 and job.finished_at
    assert len(calls) == 1


def test_the_same_key_schedules_the_work_once():
    with transaction.atomic():
        first = jobs.enqueue("test.rename_team", {"team": "x", "name": "1"}, key="sla:7:due")
        second = jobs.enqueue("test.rename_team", {"team": "x", "name": "2"}, key="sla:7:due")

    assert first.pk == second.pk and Job.objects.count() == 1


def test_a_future_job_waits_and_a_cancelled_one_never_runs():
    with transaction.atomic():
        jobs.enqueue(
            "test.rename_team", {"team": "a", "name": "A"}, at=timezone.now() + timedelta(hours=1)
        )
        jobs.enqueue("test.rename_team", {"team": "b", "name": "B"}, key="timer-b")
        assert jobs.cancel("timer-b")

    assert jobs.run_due() == 0
    assert calls == []


def test_a_failing_handler_rolls_back_its_writes_and_is_retried_with_backoff():
    team = TeamFactory(code="support", name_en="Support")
    with transaction.atomic():
        jobs.enqueue("test.rename_team", {"team": "support", "name": "Broken", "explode": True})

    before = timezone.now()
    jobs.run_due()

    team.refresh_from_db()
    assert team.name_en == "Support"  # the half-done work did not commit
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED and "backend down" in job.last_error
    assert job.next_attempt_at >= before + jobs.backoff(1)


def test_after_the_last_attempt_the_job_fails_and_the_failure_hook_runs():
    with transaction.atomic():
        jobs.enqueue("test.always_fails", {"case_id": 7}, max_attempts=2)

    jobs.run_due()
    make_due()
    jobs.run_due()

    job = Job.objects.get()
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert failures == [({"case_id": 7}, "ValueError: no rule matched")]
    make_due()
    assert jobs.run_due() == 0  # a failed job stays failed


def test_a_job_of_an_unknown_kind_is_kept_with_the_reason():
    with transaction.atomic():
        jobs.enqueue("test.nobody_handles_this", {}, max_attempts=1)

    jobs.run_due()

    job = Job.objects.get()
    assert job.status == JobStatus.FAILED and "no handler" in job.last_error

"""The worker's passes: busy jobs run back to back, idle ones rest, none rests too long."""

from __future__ import annotations

import pytest

from casework.kernel.background import BackgroundPasses, rests_at_most, runs_at_most_every


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Job:
    """Finds the amounts of work it is given, one per look, then none."""

    def __init__(self, *amounts: int) -> None:
        self.amounts = list(amounts)
        self.looks = 0

    def __call__(self) -> int:
        self.looks += 1
        return self.amounts.pop(0) if self.amounts else 0


def test_a_busy_job_runs_every_pass_while_an_idle_one_rests():
    clock = Clock()
    busy, idle = Job(5, 5, 5), Job()
    passes = BackgroundPasses([busy, idle], idle_seconds=1.0, clock=clock)

    assert passes.run_pass() == 5
    clock.now += 0.1
    assert passes.run_pass() == 5
    assert passes.run_pass() == 5

    assert busy.looks == 3
    assert idle.looks == 1  # looked on the first pass, resting since
    clock.now += 1.0
    passes.run_pass()
    assert idle.looks == 2


def test_the_worker_sleeps_until_the_first_job_is_due_again():
    clock = Clock()
    first, second = Job(), Job()
    passes = BackgroundPasses([first, second], idle_seconds=2.0, clock=clock)

    assert passes.run_pass() == 0
    assert passes.seconds_to_rest() == 2.0
    clock.now += 0.5
    assert passes.seconds_to_rest() == 1.5


def test_a_failing_job_is_logged_and_rests_like_an_idle_one(caplog):
    clock = Clock()

    def broken() -> int:
        raise RuntimeError("database went away")

    other = Job(1)
    passes = BackgroundPasses([broken, other], idle_seconds=1.0, clock=clock)

    assert passes.run_pass() == 1
    assert "background job" in caplog.text
    assert passes.next_look[0] == clock.now + 1.0


def test_a_job_may_ask_to_run_at_most_so_often_even_when_busy():
    clock = Clock()
    folding = runs_at_most_every(1.0)(Job(7, 7, 7))
    passes = BackgroundPasses([folding], idle_seconds=0.1, clock=clock)

    assert passes.run_pass() == 7
    clock.now += 0.5
    assert passes.run_pass() == 0  # not yet
    assert passes.seconds_to_rest() == 0.5
    clock.now += 0.5
    assert passes.run_pass() == 7
    assert folding.looks == 2


def test_a_job_somebody_waits_for_rests_no_longer_than_it_asks():
    clock = Clock()
    waited_for, other = rests_at_most(0.25)(Job()), Job()
    passes = BackgroundPasses([waited_for, other], idle_seconds=2.0, clock=clock)

    passes.run_pass()
    assert passes.seconds_to_rest() == 0.25
    for _ in range(5):
        clock.now += 0.25
        passes.run_pass()

    assert waited_for.looks == 6
    assert other.looks == 1  # the worker's idle rest, as before


def test_the_queues_customers_wait_for_are_looked_at_ten_times_a_second():
    from casework.intake import queue as intake_queue
    from casework.retention import queue as retention_queue

    passes = BackgroundPasses([intake_queue.run_once, retention_queue.run_once], idle_seconds=5.0)
    assert passes.idle_rests == [0.1, 0.1]


def test_workers_can_share_out_the_jobs():
    from django.core.management.base import CommandError

    from casework.kernel.management.commands.worker import chosen_jobs

    jobs = ["casework.intake.queue.run_once", "casework.analytics.aggregation.run_once"]
    assert chosen_jobs(jobs, only=["intake"], skip=[]) == jobs[:1]
    assert chosen_jobs(jobs, only=[], skip=["intake"]) == jobs[1:]
    assert chosen_jobs(jobs, only=[], skip=[]) == jobs
    with pytest.raises(CommandError, match="no background job is left"):
        chosen_jobs(jobs, only=["intake"], skip=["queue"])

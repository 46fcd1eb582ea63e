"""The passes of `casework worker` over its background jobs.

A job is a function that looks for its kind of work, does some, and returns how much. A job
that found work runs again on the next pass; one that found nothing rests for
`idle_seconds` before it looks again. So a busy job (a full intake queue, a mail backlog)
runs pass after pass without the idle jobs' look-ups in between — each of those costs a
query or more, and between small batches they cost as much as the batches — while no job
waits longer than `idle_seconds` before its work is noticed. A job whose work is better done
in larger portions (folding events into figures) may ask to run at most so often
(`runs_at_most_every`); one whose work somebody waits for (a queued contact, a customer's
answer on a web page) may ask to rest no longer than a moment (`rests_at_most`), so that
the other jobs can rest long without keeping it waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from django.db import close_old_connections

logger = logging.getLogger(__name__)

Job = Callable[[], int]

_INTERVAL_ATTRIBUTE = "background_pass_interval_seconds"
_LONGEST_REST_ATTRIBUTE = "background_longest_rest_seconds"


def runs_at_most_every(seconds: float) -> Callable[[Job], Job]:
    """Mark a job to run at most once in `seconds`, even while it finds work."""

    def mark(job: Job) -> Job:
        setattr(job, _INTERVAL_ATTRIBUTE, seconds)
        return job

    return mark


def rests_at_most(seconds: float) -> Callable[[Job], Job]:
    """Mark a job to look for work again within `seconds` when it found none, however long
    the worker lets idle jobs rest."""

    def mark(job: Job) -> Job:
        setattr(job, _LONGEST_REST_ATTRIBUTE, seconds)
        return job

    return mark


def run_job(job: Job) -> int:
    """One job's pass. A failing job (a database that went away, a bug) is logged and tried
    again later; it must not stop the other jobs or the worker."""
    try:
        return job()
    except Exception:
        logger.exception("background job %s failed", getattr(job, "__qualname__", job))
        close_old_connections()
        return 0


class BackgroundPasses:
    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = list(jobs)
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.intervals = [float(getattr(job, _INTERVAL_ATTRIBUTE, 0.0)) for job in self.jobs]
        self.idle_rests = [
            min(idle_seconds, float(getattr(job, _LONGEST_REST_ATTRIBUTE, idle_seconds)))
            for job in self.jobs
        ]
        # When each job looks for work next; every job looks on the first pass.
        self.next_look = [0.0] * len(self.jobs)

    def run_pass(self) -> int:
        """Run every job whose rest is over, in their order; returns the work done."""
        done = 0
        for index, job in enumerate(self.jobs):
            if self.next_look[index] > self.clock():
                continue
            started = self.clock()
            found = run_job(job)
            done += found
            rest = (
                self.intervals[index]
                if found
                else max(self.idle_rests[index], self.intervals[index])
            )
            self.next_look[index] = started + rest
        return done

    def seconds_to_rest(self) -> float:
        """How long the worker may sleep before some job looks for work again."""
        return max(0.0, min(self.next_look, default=0.0) - self.clock())

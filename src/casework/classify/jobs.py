"""The classifiers' jobs: retraining on the schedule (see `schedule.py`)."""

from __future__ import annotations

import logging
from typing import Any

from casework.classify import services
from casework.classify.models import ClassifierTask
from casework.classify.schedule import JOB
from casework.kernel import jobs
from casework.kernel.actors import Actor

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("classify")


@jobs.handles(JOB, transactional=False)
def run(payload: dict[str, Any]) -> None:
    """Training takes a while: outside a transaction; `retrain` stores the outcome in one."""
    task = ClassifierTask.objects.filter(name=payload["task"]).first()
    if task is None:
        return
    outcome = services.retrain(task.name, actor=SYSTEM, trained_by=SYSTEM.label)
    if outcome.candidate is not None:
        logger.info(
            "retrained %s: %s (%s)",
            task.name,
            outcome.candidate,
            "activated" if outcome.is_activated else "not better, not activated",
        )

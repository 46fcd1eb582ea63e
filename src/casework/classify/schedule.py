"""Retraining on a schedule: once a day, at `CASEWORK_CLASSIFY_RETRAIN_AT` (local time,
e.g. "03:00"; empty: never), every task with an active model that agents have corrected
since it was trained gets a retraining job. The worker runs it; the candidate is activated
only if it is not worse on the held-out examples (`services.retrain`)."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, F, OuterRef

from casework.classify.models import Correction, ModelVersion
from casework.kernel import clock, jobs
from casework.kernel.models import Job

JOB = "classify.retrain"


def retrain_at() -> time | None:
    text = settings.CASEWORK_CLASSIFY_RETRAIN_AT.strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ImproperlyConfigured(
            f"CASEWORK_CLASSIFY_RETRAIN_AT must be a time of day such as 03:00, not {text!r}"
        ) from None


def enqueue_due(now: datetime | None = None) -> int:
    """A background job of the worker: from the day's retraining time on, one retraining
    job per corrected task and day (the job's key makes a second call harmless)."""
    at = retrain_at()
    if at is None:
        return 0
    local = clock.localtime(now or clock.now())
    if local.time() < at:
        return 0
    corrected_since_active = Correction.objects.filter(
        task=OuterRef("task"), created_at__gt=OuterRef("created_at")
    )
    due = (
        ModelVersion.objects.filter(is_active=True)
        .filter(Exists(corrected_since_active))
        .values_list(F("task__name"), flat=True)
    )
    created = 0
    with transaction.atomic():
        for name in due:
            key = f"{JOB}:{name}:{local.date()}"
            if not Job.objects.filter(key=key).exists():
                jobs.enqueue(JOB, {"task": name}, key=key)
                created += 1
    return created

"""Taking work from an outbox table (webhook deliveries, outgoing mail) so that several
workers never send the same row at once, and a worker that dies mid-send only delays it."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import Model, QuerySet

from casework.kernel import clock

M = TypeVar("M", bound=Model)


def lease_due(pending: QuerySet[M], *, limit: int, lease: timedelta) -> list[int]:
    """Lease up to `limit` rows of `pending` (rows with `attempts` and `next_attempt_at`)
    whose time has come, in one short transaction: the attempt is counted and the next try
    moved past the lease before anything is sent. No transaction stays open while sending
    (on SQLite it would block every writer). Returns the leased primary keys."""
    now = clock.now()
    with transaction.atomic():
        due = pending.filter(next_attempt_at__lte=now).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        leased = list(due[:limit])
        for row in leased:
            row.attempts += 1  # type: ignore[attr-defined]
            row.next_attempt_at = now + lease  # type: ignore[attr-defined]
        pending.model.objects.bulk_update(leased, ["attempts", "next_attempt_at"])
    return [row.pk for row in leased]

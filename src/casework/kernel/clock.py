"""The one place that reads the time, so tests can pin it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def localtime(at: datetime) -> datetime:
    """The same instant in the installation's time zone (Europe/Berlin by default)."""
    return timezone.localtime(at)

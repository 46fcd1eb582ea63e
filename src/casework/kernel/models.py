"""Abstract model pieces shared by several packages."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from casework.kernel.fields import ClockDateTimeField


class BilingualName(models.Model):
    """Reference data named by administrators in both interface languages."""

    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return self.name_de if (get_language() or "de").startswith("de") else self.name_en

    def __str__(self) -> str:
        return self.name


class Timestamped(models.Model):
    created_at = ClockDateTimeField(_("created at"), auto_now_add=True)
    updated_at = ClockDateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class Job(models.Model):
    """Scheduled work, written in the transaction of the change that causes it (a step to
    run, an SLA deadline, a notification). See `kernel.jobs`."""

    kind = models.CharField(_("kind"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    # Enqueuing the same key twice gives the first job: a change that is retried, or two
    # workers reacting to the same event, schedule the work once.
    key = models.CharField(_("key"), max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("attempts allowed"), default=5)
    next_attempt_at = models.DateTimeField(_("due"))
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="job_due")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class RealtimeSignal(models.Model):
    """A message for the browsers listening on a group (a chat, an agent's desk), kept in
    the database so that every web process sees it, whichever process wrote it. Written in
    the transaction of the change, so no signal announces a change that rolled back; read
    by each web process's listener (`kernel.realtime`) and pruned after a minute."""

    group = models.CharField(_("group"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    # Which process wrote it: that process has delivered it already.
    origin = models.CharField(_("origin"), max_length=40)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("real-time signal")
        verbose_name_plural = _("real-time signals")

"""Intake configuration: which case type a channel's new messages open, and where a
recognised topic sends them instead."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.customers.models import Channel


class ChannelDefault(models.Model):
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, unique=True)
    case_type = models.ForeignKey(
        "cases.CaseType", on_delete=models.PROTECT, verbose_name=_("case type for new messages")
    )

    class Meta:
        verbose_name = _("channel default")
        verbose_name_plural = _("channel defaults")

    def __str__(self) -> str:
        return f"{self.channel} → {self.case_type}"


class TopicRoute(models.Model):
    """A rule of the installation: a new message whose topic the classifier recognised
    confidently opens this case type (in this queue) instead of its default — only where its
    default is `from_case_type`, when one is named (e.g. one mailbox's messages)."""

    topic = models.CharField(_("topic (classifier label)"), max_length=100)
    from_case_type = models.ForeignKey(
        "cases.CaseType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("only instead of case type"),
    )
    case_type = models.ForeignKey(
        "cases.CaseType", on_delete=models.PROTECT, related_name="+", verbose_name=_("case type")
    )
    queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("queue (default: the case type's)"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("topic route")
        verbose_name_plural = _("topic routes")
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "from_case_type"], name="topicroute_unique_topic"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.case_type}"


class QueuedStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    INGESTED = "ingested", _("ingested")
    FAILED = "failed", _("failed")


class QueuedMessage(models.Model):
    """A message accepted for ingestion later (`POST /api/v1/inbound` with
    `Prefer: respond-async`): stored with one insert when it arrives, ingested in batches
    by `casework worker` (`intake.queue.run_once`). One row per (channel, external_id), so
    a repeated delivery finds the first one instead of queueing the message twice."""

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    external_id = models.CharField(_("external id"), max_length=400)
    # The whole InboundMessage (`messages.message_to_json`).
    message = models.JSONField(_("message"))
    # What was worked out when it was accepted (`services.Prepared.to_json`): the sender's
    # normalised identifiers, the classifiers' answers. Empty or NULL (entries queued before
    # there was this column): worked out when ingested.
    prepared = models.JSONField(_("prepared facts"), default=dict, blank=True, null=True)
    received_at = models.DateTimeField(_("received at"))
    accepted_at = models.DateTimeField(_("accepted at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=20, choices=QueuedStatus.choices, default=QueuedStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # The outcome, as ids rather than foreign keys: a status answer must survive a merged
    # or erased case, and the queue must not hold up changes elsewhere.
    case_id = models.BigIntegerField(_("case"), null=True, blank=True)
    case_reference = models.CharField(_("case reference"), max_length=20, blank=True)
    interaction_id = models.BigIntegerField(_("interaction"), null=True, blank=True)
    is_duplicate = models.BooleanField(_("repeated delivery"), default=False)
    # Why it failed, as the API answers errors: {"code", "detail", "errors": [...]}.
    error = models.JSONField(_("error"), default=dict, blank=True)

    class Meta:
        verbose_name = _("queued inbound message")
        verbose_name_plural = _("queued inbound messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="queued_message_unique_external_id"
            ),
        ]
        indexes = [
            # The worker's question: which queued messages are due? Small: only the waiting.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="queued"),
                name="queued_message_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id} ({self.status})"

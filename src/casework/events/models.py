"""The append-only, hash-chained event log and the webhook outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One past-tense fact. Never updated or deleted; `hash` chains it to its predecessor."""

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    code = models.CharField(_("event"), max_length=60, db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=20)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.BigIntegerField(_("object id"))
    # Raw values: before/after of changed fields and facts; display text is made when read.
    payload = models.JSONField(_("payload"), default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="event_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.code}"


class ChainHead(models.Model):
    """A single row: the last sequence number and hash. Locking it orders the appends."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)


class WebhookSubscription(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    # Event codes ("case.opened"); "*" subscribes to every event.
    event_codes = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Events up to this sequence number were recorded before the subscription existed.
    starts_after_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.url

    def wants(self, code: str) -> bool:
        return "*" in self.event_codes or code in self.event_codes


class OutboxCursor(models.Model):
    """How far the worker has fanned events out to subscriptions (one row per consumer)."""

    name = models.SlugField(unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class WebhookDelivery(models.Model):
    """One event for one subscription: created by the worker's fan-out, then sent."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="delivery_once"),
        ]

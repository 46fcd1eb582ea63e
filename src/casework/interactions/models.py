"""Every contact on every channel, in both directions, and internal notes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casework.customers.models import Channel


class Direction(models.TextChoices):
    INBOUND = "inbound", _("from the customer")
    OUTBOUND = "outbound", _("to the customer")
    INTERNAL = "internal", _("internal")


class Interaction(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,  # a composite index in Meta leads with this column
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,  # a composite index in Meta leads with this column
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=20, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    agent = models.ForeignKey(
        "routing.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The sender as the channel named them ("Helmut <h@example.de>", "+4930…").
    sender = models.CharField(_("sender"), max_length=400, blank=True)
    subject = models.CharField(_("subject"), max_length=400, blank=True)
    text = models.TextField(_("text"), blank=True)
    payload = models.JSONField(_("structured data"), default=dict, blank=True)
    # The id the channel gave this message (Message-ID, call id); one interaction per id.
    external_id = models.CharField(_("external id"), max_length=400, null=True, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="interaction_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline"),
            models.Index(fields=["case", "-occurred_at"], name="interaction_case"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.occurred_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A file that came with an interaction; the bytes are stored once per content hash."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size_bytes = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, db_index=True)
    # False when the file exceeded the size limit: the record stays, the bytes were refused.
    is_stored = models.BooleanField(_("stored"), default=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

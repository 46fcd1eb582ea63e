"""Intake configuration: which case type a channel's new messages open."""

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

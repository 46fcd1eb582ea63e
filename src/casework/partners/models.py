"""Sales partners and their revision-safe commission ledger.

`CommissionEntry` rows are only ever inserted, by `partners.services` under the locked
`LedgerHead`. Corrections are reversal entries, never edits: the ORM refuses to update or
delete an entry, a PostgreSQL trigger refuses it below the ORM (migration 0002), and
`casework ledger verify` detects what got past both (docs/partner-ledger.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.kernel.fields import ClockDateTimeField


class Partner(models.Model):
    """A sales partner who earns commissions on the orders they bring."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    # A partner for trying integrations: commissions are recorded like any other, and
    # statements say that they are not for payment.
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    created_at = ClockDateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sales partner")
        verbose_name_plural = _("sales partners")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PartnerScope(models.TextChoices):
    ORDERS = "orders", _("submit and read orders")
    STATEMENTS = "statements", _("read commission statements")


def all_scopes() -> list[str]:
    return list(PartnerScope.values)


class PartnerAccount(models.Model):
    """A user who acts for a partner, with what their API tokens may do (an ordering
    system's account needs `orders`, the accountant's `statements`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="partner_account",
        verbose_name=_("user"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="accounts", verbose_name=_("partner")
    )
    scopes = models.JSONField(_("scopes"), default=all_scopes)
    created_at = ClockDateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner account")
        verbose_name_plural = _("partner accounts")

    def __str__(self) -> str:
        return f"{self.user} → {self.partner.code}"


class EntryKind(models.TextChoices):
    COMMISSION = "commission", _("commission")
    REVERSAL = "reversal", _("reversal")


class LedgerIsAppendOnly(Exception):
    """An attempt to change or remove a ledger entry."""


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise LedgerIsAppendOnly("commission entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly("commission entries cannot be deleted")


class CommissionEntry(models.Model):
    """One line of the ledger. Its `hash` covers its content and `prev_hash`, the hash of
    the entry before it (`ledger_chain.entry_hash`)."""

    seq = models.PositiveBigIntegerField(_("number"), unique=True)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="entries", verbose_name=_("partner")
    )
    order_reference = models.CharField(_("order reference"), max_length=100)
    # What set the amount: a decision table row, a rule name, a tariff.
    rule = models.CharField(_("rule"), max_length=200)
    # Euros; reversals are negative.
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    # The reversed entry, by its number (one reversal per entry at most).
    reverses = models.OneToOneField(
        "self",
        to_field="seq",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        verbose_name=_("reverses"),
    )
    reason = models.TextField(_("reason"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=200)
    approved_by = models.CharField(_("approved by"), max_length=200, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission entries")
        ordering = ["seq"]
        constraints = [
            # Never a double commission: one commission entry per partner and order.
            models.UniqueConstraint(
                fields=["partner", "order_reference"],
                condition=Q(kind="commission"),
                name="commission_once_per_order",
            ),
            models.CheckConstraint(
                condition=(Q(kind="commission", amount__gt=0, reverses__isnull=True))
                | Q(kind="reversal", amount__lt=0, reverses__isnull=False),
                name="commission_entry_kind_fits",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "recorded_at"], name="ledger_partner_time"),
            models.Index(fields=["order_reference"], name="ledger_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.order_reference} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly("commission entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly("commission entries cannot be deleted")


class LedgerHead(models.Model):
    """A single row: the ledger's last number and hash. Locking it orders the appends."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)


class ReversalStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("reversal request", "pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class ReversalRequest(models.Model):
    """A correction waiting for a second person: approved, it appends a reversal entry."""

    entry = models.ForeignKey(
        CommissionEntry,
        on_delete=models.PROTECT,
        related_name="reversal_requests",
        verbose_name=_("entry"),
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ReversalStatus.choices,
        default=ReversalStatus.PENDING,
    )
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.CharField(_("requested by"), max_length=200)
    requested_by_kind = models.CharField(max_length=20)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=200, blank=True)
    decision_note = models.TextField(_("note"), blank=True)
    reversal_entry = models.OneToOneField(
        CommissionEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_request",
        verbose_name=_("reversal entry"),
    )

    class Meta:
        verbose_name = _("reversal request")
        verbose_name_plural = _("reversal requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status="pending"),
                name="one_pending_reversal_per_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.entry.seq} ({self.get_status_display()})"

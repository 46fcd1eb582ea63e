"""Mailboxes and every raw e-mail received, kept as it arrived."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.kernel.fields import EncryptedTextField


class Mailbox(models.Model):
    """An address of ours that receives mail; each is configured for a department."""

    address = models.CharField(_("address"), max_length=320, unique=True)
    display_name = models.CharField(_("display name"), max_length=200)
    case_type = models.ForeignKey(
        "cases.CaseType", on_delete=models.PROTECT, verbose_name=_("case type for new mail")
    )
    queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("queue (default: the case type's)"),
    )
    # Unknown senders: with a queue, their mail opens a case in it without a customer (an
    # agent identifies them); without one, a provisional customer is created from the address.
    identify_queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("queue for mail from unknown senders"),
        help_text=_("empty: create a provisional customer from the address"),
    )
    # Mail that names no case (no reply to our mail, no reference) continues an open case of
    # the same customer with the same subject (Re:/AW:/Fwd:/[tags] aside) active this recently.
    thread_by_subject_days = models.PositiveIntegerField(
        _("continue cases with the same subject (days)"),
        default=7,
        help_text=_("0: a mail without a reference always opens a new case"),
    )
    language = models.CharField(_("language"), max_length=8, default="de")
    signature = models.TextField(_("signature"), blank=True)
    acknowledges = models.BooleanField(_("acknowledge automatically"), default=True)
    # Polled over IMAP when a host is set (an external mailbox); otherwise mail arrives at
    # our SMTP server.
    imap_host = models.CharField(_("IMAP server"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over TLS"), default=True)
    imap_user = models.CharField(_("IMAP user"), max_length=200, blank=True)
    imap_password = EncryptedTextField(_("IMAP password"), blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    imap_poll_seconds = models.PositiveIntegerField(_("poll every (seconds)"), default=60)
    imap_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    imap_last_error = models.TextField(_("last IMAP error"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.address}>"


class RawEmailStatus(models.TextChoices):
    """ingested: part of a case. duplicate: seen before, nothing new. quarantined: could not
    be processed; kept for an administrator to look at and re-process. reprocessed: was
    quarantined, then processed again after a fix (see `reprocessed_as`)."""

    INGESTED = "ingested", _("ingested")
    DUPLICATE = "duplicate", _("duplicate")
    QUARANTINED = "quarantined", _("quarantined")
    REPROCESSED = "reprocessed", _("re-processed")


class RawEmail(models.Model):
    """The bytes of a received e-mail exactly as they arrived: nothing is ever dropped."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="raw_emails")
    received_at = models.DateTimeField(_("received at"))
    envelope_from = models.CharField(_("envelope sender"), max_length=320, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=400, db_index=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField(_("size"))
    content = models.BinaryField(_("raw message"))
    status = models.CharField(_("status"), max_length=20, choices=RawEmailStatus.choices)
    reason = models.TextField(_("reason"), blank=True)
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A quarantined mail processed again: the row of that processing (whose bytes are these).
    reprocessed_as = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reprocessed_from",
        verbose_name=_("re-processed as"),
    )

    class Meta:
        verbose_name = _("received e-mail")
        verbose_name_plural = _("received e-mails")
        indexes = [models.Index(fields=["status", "-received_at"], name="rawemail_status")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("outgoing mail", "waiting to be sent")
    SENT = "sent", _("sent")
    FAILED = "failed", pgettext_lazy("outgoing mail", "failed")
    # Accepted by the relay, then returned by the recipient's server (a bounce).
    BOUNCED = "bounced", _("bounced")


class OutboundEmail(models.Model):
    """A mail we send, written in the transaction that causes it and sent by the worker."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", _("acknowledgement")
        REPLY = "reply", _("reply")
        NOTIFICATION = "notification", _("notification")
        CAMPAIGN = "campaign", _("campaign")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="outbound")
    # Campaign mails go to a customer, not about a case.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    to_address = models.CharField(_("to"), max_length=320)
    to_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=400)
    body_text = models.TextField(_("text"))
    # An HTML alternative (campaign mails: links and the open-tracking image).
    body_html = models.TextField(_("HTML text"), blank=True)
    # Where the recipient unsubscribes (RFC 2369 List-Unsubscribe), for advertising mail.
    unsubscribe_url = models.CharField(_("unsubscribe address"), max_length=400, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=400, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=400, blank=True)
    references = models.TextField(_("References"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbound_due")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address}"

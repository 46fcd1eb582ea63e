"""Campaigns, their recipients with personal response codes, and the responses that come
back on every entry channel.

A recipient's response code identifies customer, campaign and offer; it is random and
signed (`codes.py`), so it can be neither guessed nor forged. A response (`Response`) is
kept whatever becomes of it: it either opened a retention order (a case of the
`retention-order` case type) or was turned into an exception a person decides, with the
reason. Partner orders carry the partner's own reference and idempotency key, so a
repeated delivery finds the first response instead of making a second order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casework.kernel.fields import ClockDateTimeField
from casework.kernel.models import Timestamped


class CampaignChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    LETTER = "letter", _("letter")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SCHEDULED = "scheduled", _("scheduled")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    STOPPED = "stopped", _("stopped")


class Campaign(Timestamped):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    offer = models.ForeignKey(
        "offers.Offer", on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("offer")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=CampaignChannel.choices)
    # E-mails go out from this mailbox (answers to them arrive there); none: the first one.
    mailbox = models.ForeignKey(
        "email_channel.Mailbox",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sender mailbox"),
    )
    # The target segment: an expression over customer facts (`offers.facts`), e.g.
    # `contract.ends_in_days >= 30 and contract.ends_in_days <= 90 and consent.marketing`.
    audience = models.TextField(_("target segment"))
    subject_de = models.CharField(_("subject (German)"), max_length=200)
    subject_en = models.CharField(_("subject (English)"), max_length=200)
    # Text with the placeholders of `campaigns.PLACEHOLDERS` ({{ customer.name }}, …).
    body_de = models.TextField(_("text (German)"))
    body_en = models.TextField(_("text (English)"))
    starts_at = ClockDateTimeField(_("send from"), null=True, blank=True)
    # Responses count until then; later ones are exceptions ("offer expired").
    responses_until = models.DateField(_("responses until"))
    # At most this many messages per hour (0: no limit), so a campaign does not flood the
    # mail relay, the print shop or the service desk with the answers.
    per_hour = models.PositiveIntegerField(_("messages per hour"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def subject(self, language: str) -> str:
        return self.subject_de if language.startswith("de") else self.subject_en

    def body(self, language: str) -> str:
        return self.body_de if language.startswith("de") else self.body_en


class Recipient(models.Model):
    """One customer in one campaign, with their personal response code."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="campaign_recipients"
    )
    offer = models.ForeignKey("offers.Offer", on_delete=models.PROTECT, related_name="+")
    # The random part of the response code (`codes.py`); the signature is not stored, it is
    # recomputed, so a copied database alone cannot mint valid codes for new recipients.
    token = models.CharField(_("code"), max_length=16, unique=True)
    selected_at = ClockDateTimeField(_("selected at"))
    sent_at = ClockDateTimeField(_("sent at"), null=True, blank=True)
    opened_at = ClockDateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = ClockDateTimeField(_("clicked at"), null=True, blank=True)
    responded_at = ClockDateTimeField(_("responded at"), null=True, blank=True)
    send_error = models.TextField(_("sending failed"), blank=True)

    class Meta:
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="recipient_once"),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "sent_at"],
                name="recipient_unsent",
                condition=Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign.code}: {self.customer_id}"


class ResponseChannel(models.TextChoices):
    WEB = "web", _("web link")
    LETTER = "letter", _("scanned letter")
    PHONE = "phone", _("phone")
    PARTNER = "partner", _("sales partner")


class ResponseOutcome(models.TextChoices):
    ORDERED = "ordered", _("order opened")
    DECLINED = "declined", _("offer declined")
    EXCEPTION = "exception", _("exception for a person")


class ResponseProblem(models.TextChoices):
    """Why a person decides a response, in words for the exception task and the partner."""

    CODE_MALFORMED = "code_malformed", _("the response code is not a code of ours")
    CODE_FORGED = (
        "code_forged",
        _("the response code's signature is wrong (mistyped, misread or forged)"),
    )
    CODE_UNKNOWN = "code_unknown", _("the response code was never sent to anybody")
    CODE_USED = "code_used", _("the response code was used already")
    CODE_OTHER_CUSTOMER = (
        "code_other_customer",
        _("the response code belongs to another customer than the order names"),
    )
    CODE_OTHER_CAMPAIGN = (
        "code_other_campaign",
        _("the response code is for another campaign's offer than the order names"),
    )
    NO_CODE = "no_code", _("no response code could be read")
    TWO_CODES = "two_codes", _("two response codes on one page")
    CHOICE_UNCLEAR = "choice_unclear", _("neither or both boxes are ticked on the card")
    NO_CUSTOMER = "no_customer", _("the response names no customer")
    OFFER_UNKNOWN = "offer_unknown", _("the offer is not in the offer catalogue")
    OFFER_EXPIRED = "offer_expired", _("the offer has expired")
    NOT_ELIGIBLE = "not_eligible", _("the customer is not eligible for the offer")
    CONFLICTING_ORDER = "conflicting_order", _("the customer has another open retention order")
    REMARK = "remark", _("the customer wrote a remark on the card")


class Response(models.Model):
    """One answer to an offer, as it arrived, and what became of it."""

    channel = models.CharField(_("channel"), max_length=10, choices=ResponseChannel.choices)
    received_at = ClockDateTimeField(_("received at"))
    # The code as read or typed (may be wrong: that is one of the exceptions).
    code = models.CharField(_("response code"), max_length=200, blank=True)
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retention_responses",
    )
    offer = models.ForeignKey(
        "offers.Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retention_responses",
    )
    # The partner's own order number: one order per partner and number.
    partner_reference = models.CharField(_("partner's order number"), max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    # What came with it: the partner's payload, the scan's reading, the agent's note.
    details = models.JSONField(_("details"), default=dict, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=ResponseOutcome.choices)
    reason = models.CharField(
        _("reason"), max_length=40, choices=ResponseProblem.choices, blank=True
    )
    reason_text = models.TextField(_("reason in words"), blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.CharField(_("recorded by"), max_length=200)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("retention response")
        verbose_name_plural = _("retention responses")
        ordering = ["-received_at"]
        constraints = [
            # Per partner and mode: a sandbox try may use the number of a real order.
            models.UniqueConstraint(
                fields=["partner", "is_sandbox", "partner_reference"],
                condition=~Q(partner_reference=""),
                name="response_partner_order_once",
            ),
            models.UniqueConstraint(
                fields=["partner", "is_sandbox", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="response_idempotency_once",
            ),
            # One order per code: the second card for the same code is an exception.
            models.UniqueConstraint(
                fields=["recipient"],
                condition=Q(outcome="ordered"),
                name="response_one_order_per_code",
            ),
        ]
        indexes = [models.Index(fields=["case"], name="response_case")]

    def __str__(self) -> str:
        return f"{self.channel} {self.code or self.partner_reference}"


class PendingStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RECEIVED = "received", _("received")
    REFUSED = "refused", _("refused")


class PendingResponse(models.Model):
    """A response accepted now and received later, in a batch with others
    (`queue.accept`, ADR 18): stored with one insert as it arrives, received by
    `casework worker` (`queue.run_once`) with `responses.receive_batch()`. Afterwards it
    points to the `Response` it became, or keeps the error that refused it."""

    channel = models.CharField(_("channel"), max_length=10, choices=ResponseChannel.choices)
    received_at = ClockDateTimeField(_("received at"))
    code = models.CharField(_("response code"), max_length=200, blank=True)
    choice = models.CharField(_("choice"), max_length=10)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    offer_code = models.CharField(_("offer"), max_length=50, blank=True)
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    partner_reference = models.CharField(_("partner's order number"), max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    remarks = models.TextField(_("remarks"), blank=True)
    problem = models.CharField(
        _("problem found before"), max_length=40, choices=ResponseProblem.choices, blank=True
    )
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The files that came with it (a scanned page), stored already: StoredFile's fields.
    attachments = models.JSONField(_("files"), default=list, blank=True)
    agent_user_id = models.BigIntegerField(_("agent"), null=True, blank=True)
    # Who gave the response (`kernel.actors.Actor`), for the order's history.
    actor_kind = models.CharField(_("actor kind"), max_length=20)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=PendingStatus.choices, default=PendingStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = ClockDateTimeField(_("next attempt"))
    processed_at = ClockDateTimeField(_("processed at"), null=True, blank=True)
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why it was refused, as the API answers errors: {"code", "detail", …}.
    error = models.JSONField(_("error"), default=dict, blank=True)

    class Meta:
        verbose_name = _("pending retention response")
        verbose_name_plural = _("pending retention responses")
        indexes = [
            # The workers' question: which are due? Small: only the waiting ones.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="queued"),
                name="pending_response_due",
            ),
            models.Index(fields=["partner", "partner_reference"], name="pending_response_order"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.code or self.partner_reference} ({self.status})"

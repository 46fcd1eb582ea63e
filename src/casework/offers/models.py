"""The offer catalogue.

An offer is something the customer can accept (a discount, an option, a longer contract);
an action is something an agent may do for the customer without asking (a goodwill credit,
a warranty extension). Both carry the contract change they make when accepted, the value
they bring, and a rule saying who is eligible, written in the rules' expression language
over the customer facts (`offers.facts`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from casework.customers.models import Channel
from casework.kernel.errors import InvalidInput
from casework.kernel.fields import ClockDateTimeField
from casework.kernel.models import BilingualName, Timestamped
from casework.offers.rules import compile_rule, placeholders


class OfferKind(models.TextChoices):
    OFFER = "offer", _("offer")
    ACTION = "action", _("action")


class Offer(BilingualName, Timestamped):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=OfferKind.choices, default=OfferKind.OFFER
    )
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    # Who may get it: an expression over customer facts, e.g.
    # `contract.ends_in_days <= 90 and "international" in customer.interests`. Empty: anyone.
    eligibility = models.TextField(_("eligibility rule"), blank=True)
    # What it is worth to the organisation per accepted offer (euros, e.g. a year's margin
    # kept); ranking multiplies it with the customer's propensity and the business weight.
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, default=0)
    business_weight = models.DecimalField(
        _("business weight"), max_digits=5, decimal_places=2, default=1
    )
    # The contract change an accepted offer makes: months added to the contract's term,
    # a discount on the monthly fee in per cent, an option product added (its code).
    extend_months = models.PositiveSmallIntegerField(_("extends the term by months"), default=0)
    discount_percent = models.DecimalField(
        _("discount on the monthly fee (%)"), max_digits=5, decimal_places=2, default=0
    )
    add_option = models.SlugField(_("adds the option"), max_length=50, blank=True)
    # A tariff to move the contract to (its monthly fee becomes the contract's fee, before
    # any discount), e.g. a voice-only tariff for a customer who uses no data.
    switch_to = models.SlugField(_("switches to the tariff"), max_length=50, blank=True)
    # The interest a customer shows by opening or clicking a message about this offer.
    interest_tag = models.SlugField(_("interest"), max_length=50, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["code"]

    def description(self, language: str) -> str:
        return self.description_de if language.startswith("de") else self.description_en

    def name_in(self, language: str) -> str:
        return self.name_de if language.startswith("de") else self.name_en

    @property
    def changes_contract(self) -> bool:
        return bool(
            self.extend_months or self.discount_percent or self.add_option or self.switch_to
        )

    def clean(self) -> None:
        super().clean()
        errors = rule_errors(self.eligibility, "eligibility")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = [_("The offer ends before it starts.")]
        if self.discount_percent is not None and not 0 <= self.discount_percent <= 100:
            errors["discount_percent"] = [_("A discount lies between 0 and 100 per cent.")]
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whoever saves (the admin, the demo, a shell): a rule with a typo never reaches
        # the ranking, where it would silently never hold.
        self.clean()
        super().save(*args, **kwargs)


class OfferReason(models.Model):
    """One reason to propose an offer, in the customer's situation and in plain words:
    shown with the offer when its condition holds (an empty condition: always)."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="reasons", verbose_name=_("offer")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # An expression over customer facts, e.g. `contract.ends_in_days <= 90`.
    condition = models.TextField(_("condition"), blank=True)
    # Facts in braces are filled in: "Vertrag endet in {contract.ends_in_days} Tagen".
    text_de = models.CharField(_("text (German)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300)

    class Meta:
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text_en

    def text(self, language: str) -> str:
        return self.text_de if language.startswith("de") else self.text_en

    def clean(self) -> None:
        super().clean()
        errors = rule_errors(self.condition, "condition")
        for field in ("text_de", "text_en"):
            try:
                placeholders(getattr(self, field))
            except InvalidInput as error:
                errors[field] = [error.message]
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.clean()
        super().save(*args, **kwargs)


def rule_errors(source: str, field: str) -> dict[str, list[str]]:
    """The rule's error for a form field, e.g. `column 1: unknown field "contract.ends"`."""
    try:
        compile_rule(source)
    except InvalidInput as error:
        return {field: [str(error)]}
    return {}


class DecisionOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


class OfferDecision(models.Model):
    """A customer's answer to an offer or action: what the ranking learns from.

    The facts are those the decision was taken on (a JSON snapshot), so the propensity model
    learns from the situation then, not from the customer's data as it is today. A customer
    accepts an offer once at most; a second "accept" (a double click, a repeated request)
    finds the first decision.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="offer_decisions",
        verbose_name=_("customer"),
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("offer")
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=DecisionOutcome.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    decided_at = ClockDateTimeField(_("decided at"))
    # The actor's label: `agent:anna`, `system:chatbot`, `customer:42`.
    decided_by = models.CharField(_("recorded by"), max_length=200)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("case"),
    )
    # The contract an accepted offer changed.
    contract = models.ForeignKey(
        "customers.Contract",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contract"),
    )
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    # What the ranking estimated when the offer was decided (none: it was not eligible).
    propensity = models.FloatField(_("estimated propensity"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer decision")
        verbose_name_plural = _("offer decisions")
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "offer"],
                condition=Q(outcome="accepted"),
                name="offer_accepted_once",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "decided_at"], name="offer_decision_customer"),
            models.Index(fields=["offer", "outcome"], name="offer_decision_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.outcome} ({self.customer_id})"

    @property
    def is_accepted(self) -> bool:
        return self.outcome == DecisionOutcome.ACCEPTED


class PropensityModel(models.Model):
    """One training run: per offer, the logistic regression's coefficients over the
    decision features (`propensity.py`), as JSON (never a pickle: loading it runs no code).
    The newest row is the one the ranking uses."""

    trained_at = ClockDateTimeField(_("trained at"), auto_now_add=True)
    trained_by = models.CharField(_("trained by"), max_length=200)
    decisions = models.PositiveIntegerField(_("decisions learnt from"))
    parameters = models.JSONField(_("parameters"))

    class Meta:
        verbose_name = _("propensity model")
        verbose_name_plural = _("propensity models")
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.decisions})"


class ProposalStatus(models.TextChoices):
    """open: proposed, the customer has not answered. accepted / declined: the customer
    answered (the decision is an `OfferDecision`). withdrawn: no longer proposed (the offer
    was decided on another way, or an agent took it back)."""

    OPEN = "open", _("open")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    WITHDRAWN = "withdrawn", _("withdrawn")


class OfferProposal(models.Model):
    """An offer an agent or the chat bot put to one customer, to answer in the portal.
    At most one open proposal per customer and offer: proposing it again finds that one."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="offer_proposals",
        verbose_name=_("customer"),
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("offer")
    )
    # The actor's label: `agent:anna`, `system:chatbot`.
    proposed_by = models.CharField(_("proposed by"), max_length=200)
    # Where it was proposed (the case's channel, `chat` for the bot).
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("case"),
    )
    created_at = ClockDateTimeField(_("proposed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decision = models.ForeignKey(
        OfferDecision,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decision"),
    )

    class Meta:
        verbose_name = _("offer proposal")
        verbose_name_plural = _("offer proposals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "offer"],
                condition=Q(status="open"),
                name="offer_proposal_open_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} → {self.customer_id} ({self.status})"

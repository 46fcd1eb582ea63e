"""The offer catalogue.

An offer is something the customer can accept (a discount, an option, a longer contract);
an action is something an agent may do for the customer without asking (a goodwill credit,
a warranty extension). Both carry the contract change they make when accepted, the value
they bring, and a rule saying who is eligible, written in the rules' expression language
over the customer facts (`offers.facts`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.kernel.models import BilingualName, Timestamped


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

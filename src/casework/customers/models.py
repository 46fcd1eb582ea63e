"""Customers (persons and organisations) and what we know about them.

Identifiers are unique per (kind, value) across all customers: one e-mail address or phone
number leads to one customer, never to a guess between two. A merged customer keeps its row
(for undo and for old references) with `merged_into` set and no identifiers of its own.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.customers.identifiers import IdentifierKind
from casework.kernel.models import BilingualName, Timestamped


class CustomerKind(models.TextChoices):
    PERSON = "person", _("person")
    ORGANISATION = "organisation", _("organisation")


class Channel(models.TextChoices):
    """Every way a contact can reach us or we reach the customer."""

    PHONE = "phone", _("phone")
    EMAIL = "email", _("e-mail")
    CHAT = "chat", _("chat")
    PORTAL = "portal", _("portal")
    LETTER = "letter", _("letter")
    PARTNER = "partner", _("sales partner")
    SMS = "sms", _("SMS")
    API = "api", _("API")
    NOTE = "note", _("internal note")


class Customer(Timestamped):
    kind = models.CharField(
        _("kind"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    customer_number = models.CharField(_("customer number"), max_length=40, unique=True)
    salutation = models.CharField(_("salutation"), max_length=40, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="DE")
    language = models.CharField(_("language"), max_length=8, default="de")
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=20, choices=Channel.choices, blank=True
    )
    # Lower-cased "last first organisation" for name search without functional indexes.
    search_name = models.CharField(max_length=400, db_index=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    # Created from a contact's address alone (an unknown e-mail sender): nobody has checked
    # who this is yet. Such records are the usual side of a duplicate to merge away.
    is_provisional = models.BooleanField(_("provisional"), default=False)
    # The organisation's own grouping for offers and service (gold, silver, …); free text.
    segment = models.SlugField(_("segment"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["last_name", "birth_date"], name="customer_name_birth")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == CustomerKind.ORGANISATION:
            return self.organisation_name or self.customer_number
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or self.customer_number

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.search_name = build_search_name(
            self.first_name, self.last_name, self.organisation_name
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)


def build_search_name(first_name: str, last_name: str, organisation_name: str) -> str:
    return " ".join(p for p in (last_name, first_name, organisation_name) if p).casefold()


class CustomerIdentifier(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(
        _("kind"), max_length=20, choices=[(k.value, k.value) for k in IdentifierKind]
    )
    value = models.CharField(_("value"), max_length=320)
    # The spelling the customer gave, for display ("0171 1234567").
    raw_value = models.CharField(_("as given"), max_length=320, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identifier_unique_value"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Product(BilingualName):
    """A tariff, an option or another product a contract is for."""

    class Kind(models.TextChoices):
        TARIFF = "tariff", _("tariff")
        OPTION = "option", _("option")
        DEVICE = "device", _("device")
        MEMBERSHIP = "membership", _("membership")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    monthly_fee = models.DecimalField(_("monthly fee"), max_digits=8, decimal_places=2, default=0)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]


class ContractStatus(models.TextChoices):
    ORDERED = "ordered", _("ordered")
    ACTIVE = "active", _("active")
    CANCELLED = "cancelled", _("cancelled")
    ENDED = "ended", _("ended")


class Contract(Timestamped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contracts")
    contract_number = models.CharField(_("contract number"), max_length=40, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="contracts")
    status = models.CharField(
        _("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    monthly_fee = models.DecimalField(_("monthly fee"), max_digits=8, decimal_places=2)
    options = models.ManyToManyField(
        Product, blank=True, related_name="option_contracts", verbose_name=_("options")
    )
    # Average data volume a month in GB, as billing reports it (none: not known). Offers for
    # customers who hardly use mobile data (a voice-only tariff) are written over it.
    data_usage_gb = models.DecimalField(
        _("data volume a month (GB)"), max_digits=8, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date"]

    def __str__(self) -> str:
        return self.contract_number


class PaymentMethodKind(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("bank transfer")
    STANDING_ORDER = "standing_order", _("standing order")
    DIRECT_DEBIT = "direct_debit", _("direct debit")
    CARD = "card", _("card")
    PAYPAL = "paypal", _("PayPal")


class PaymentMethod(Timestamped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    kind = models.CharField(_("kind"), max_length=20, choices=PaymentMethodKind.choices)
    is_default = models.BooleanField(_("default"), default=False)
    account_holder = models.CharField(_("account holder"), max_length=200, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    mandate_reference = models.CharField(_("mandate reference"), max_length=35, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card (last 4 digits)"), max_length=4, blank=True)
    card_expiry = models.CharField(_("card expiry"), max_length=7, blank=True)
    paypal_email = models.CharField(_("PayPal address"), max_length=320, blank=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["-is_default", "id"]


class Consent(models.Model):
    """The latest decision per purpose counts; history is kept as rows."""

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = "marketing_email", _("advertising by e-mail")
        MARKETING_PHONE = "marketing_phone", _("advertising by phone")
        MARKETING_LETTER = "marketing_letter", _("advertising by letter")
        PROFILING = "profiling", _("personalised offers")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    is_granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-recorded_at"]


class Interest(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interests")
    tag = models.SlugField(_("tag"), max_length=50)
    source = models.CharField(_("source"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["-recorded_at"]


class CustomerMerge(models.Model):
    """One merge of a duplicate into a survivor, with what moved, so it can be undone."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_won")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    moved = models.JSONField(_("moved rows"))
    merged_at = models.DateTimeField(_("merged at"))
    merged_by = models.CharField(_("merged by"), max_length=200)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.CharField(_("undone by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-merged_at"]


class CustomerNumberSequence(models.Model):
    """Hands out customer numbers; one row, locked while a number is taken."""

    prefix = models.CharField(max_length=10, unique=True)
    last_number = models.PositiveBigIntegerField(default=0)

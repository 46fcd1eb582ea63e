"""The customer portal's own tables: sign-in links, sign-in attempts (the rate limit), the
optional password, and which case types customers may start from the portal.

Portal customers are `Customer` rows, never Django users: nothing here makes anyone an
agent. Secrets are kept only as hashes: a sign-in link's token as its SHA-256, a password
through Django's password hashers.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SignInLink(models.Model):
    """A link mailed to the customer: single-use, expiring. The token itself is only in the
    mail; the row keeps its SHA-256, so reading the table does not let anyone sign in."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    # Where the link was asked for (the client address of the request), for the audit.
    requested_from = models.CharField(_("requested from"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        verbose_name_plural = _("sign-in links")
        indexes = [models.Index(fields=["expires_at"], name="portal_link_expiry")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.created_at:%Y-%m-%d %H:%M}"


class SignInAttempt(models.Model):
    """One request for a link or one password try, counted per key (a hashed address or a
    client address) over a sliding window. In the database, so every web process counts the
    same attempts."""

    key = models.CharField(max_length=64)  # SHA-256 of "email:<address>" or "ip:<address>"
    attempted_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "attempted_at"], name="portal_attempt_key"),
            models.Index(fields=["attempted_at"], name="portal_attempt_time"),
        ]


class PortalAccount(models.Model):
    """The customer's portal password, if they set one (signing in by link needs none).
    A merge of two customers may bring a second row to the survivor: the newest counts."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="portal_accounts",
        verbose_name=_("customer"),
    )
    password = models.CharField(_("password"), max_length=256)
    password_set_at = models.DateTimeField(_("password set at"))

    class Meta:
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        ordering = ["-password_set_at", "-pk"]

    def __str__(self) -> str:
        return str(self.customer_id)


class PortalForm(models.Model):
    """A case type customers may start in the portal, with the data fields of its schema
    they fill in. The case type's definition must list the channel `portal`; fields the
    organisation fills (decisions, answers) are simply not listed. `preset` fixes data the
    form stands for (a "register a work" form: `{"topic": "work_registration"}`).

    `labels` names the fields and their choices in the customer's words, per language:
    `{"topic": {"de": "Thema", "en": "Topic", "choices": {"membership": {"de": …, "en": …}}}}`.
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    case_type = models.SlugField(_("case type"), max_length=50)
    title_de = models.CharField(_("title (German)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    intro_de = models.TextField(_("introduction (German)"), blank=True)
    intro_en = models.TextField(_("introduction (English)"), blank=True)
    fields = models.JSONField(_("fields"), default=list)
    required = models.JSONField(_("required fields"), default=list, blank=True)
    preset = models.JSONField(_("fixed data"), default=dict, blank=True)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    service_type = models.CharField(_("service type"), max_length=20, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("offered in the portal"), default=True)

    class Meta:
        verbose_name = _("portal form")
        verbose_name_plural = _("portal forms")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.code

    def title(self, language: str) -> str:
        return self.title_de if language.startswith("de") else self.title_en

    def intro(self, language: str) -> str:
        return self.intro_de if language.startswith("de") else self.intro_en

"""Campaigns are set up here: audience rule, offer, texts, pace; actions select the
recipients, start and stop sending. Recipients, responses and the responses waiting to be
received are read-only records."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.kernel.errors import DomainError
from casework.retention import campaigns
from casework.retention.models import Campaign, PendingResponse, Recipient, Response


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = "__all__"  # noqa: DJ007 - every field is the campaign's configuration

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        placeholders = ", ".join(f"{{{{ {name} }}}}" for name in campaigns.PLACEHOLDERS)
        for name in ("subject_de", "subject_en", "body_de", "body_en"):
            self.fields[name].help_text = _("Placeholders: %(names)s") % {"names": placeholders}
        self.fields["audience"].help_text = _(
            "A rule over customer facts, e.g. contract.ends_in_days >= 30 and "
            "contract.ends_in_days <= 90 (docs/retention.md). Consent for the channel and "
            "the offer's own rule apply on top."
        )

    def clean(self) -> dict:
        data = super().clean()
        candidate = Campaign(**{k: v for k, v in data.items() if k in _CHECKED})
        try:
            campaigns.check_campaign(candidate)
        except DomainError as error:
            field = error.details.get("field")
            problem = {field: error.message} if field in _CHECKED else error.message
            raise ValidationError(problem) from error
        return data


_CHECKED = ("audience", "subject_de", "subject_en", "body_de", "body_en")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("code", "name", "offer", "channel", "status", "starts_at", "responses_until")
    list_filter = ("status", "channel")
    search_fields = ("code", "name")
    readonly_fields = ("status",)
    actions = ("select_recipients", "start_sending", "stop_sending")

    @admin.action(description=gettext_lazy("Select the recipients (rule, consent, offer)"))
    def select_recipients(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            selection = campaigns.select_recipients(campaign)
            messages.success(
                request,
                _("%(campaign)s: %(selected)d customers added (%(considered)d considered)")
                % {
                    "campaign": campaign.code,
                    "selected": selection.selected,
                    "considered": selection.considered,
                },
            )

    @admin.action(description=gettext_lazy("Start sending"))
    def start_sending(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaigns.schedule(campaign, actor=campaigns.ACTOR)
            except DomainError as error:
                messages.error(request, f"{campaign.code}: {error.message}")

    @admin.action(description=gettext_lazy("Stop sending"))
    def stop_sending(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            campaigns.stop(campaign, actor=campaigns.ACTOR)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Recipient)
class RecipientAdmin(_ReadOnly):
    list_display = ("campaign", "customer", "selected_at", "sent_at", "opened_at", "clicked_at")
    list_filter = ("campaign",)
    search_fields = ("customer__customer_number", "customer__search_name")
    list_select_related = ("campaign", "customer")


@admin.register(Response)
class ResponseAdmin(_ReadOnly):
    list_display = ("received_at", "channel", "outcome", "reason", "customer", "partner", "case")
    list_filter = ("channel", "outcome", "reason", "is_sandbox")
    search_fields = ("code", "partner_reference", "customer__customer_number")
    list_select_related = ("customer", "partner", "case")


@admin.register(PendingResponse)
class PendingResponseAdmin(_ReadOnly):
    """Responses accepted to be received by the worker: waiting, received, or refused with
    the reason (the entry keeps what came)."""

    list_display = ("received_at", "channel", "status", "attempts", "partner_reference", "response")
    list_filter = ("status", "channel")
    search_fields = ("code", "partner_reference")
    list_select_related = ("response",)

"""The offer catalogue is edited here, with each offer's reasons; a rule naming an unknown
fact is refused at its field. Decisions and trained models are read-only: decisions are
recorded through `services.record_offer_decision`, models by `casework offers train`."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from casework.offers.models import (
    Offer,
    OfferDecision,
    OfferProposal,
    OfferReason,
    PropensityModel,
)


class OfferReasonInline(admin.TabularInline):
    model = OfferReason
    extra = 1
    fields = ("position", "condition", "text_de", "text_en")


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name_de",
        "name_en",
        "kind",
        "value",
        "business_weight",
        "valid_from",
        "valid_until",
        "is_active",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name_de", "name_en")
    inlines = (OfferReasonInline,)
    fieldsets = (
        (None, {"fields": ("code", "kind", "name_de", "name_en", "is_active")}),
        (_("Description"), {"fields": ("description_de", "description_en")}),
        (
            _("Who is eligible"),
            {"fields": ("eligibility", "valid_from", "valid_until", "interest_tag")},
        ),
        (_("Ranking"), {"fields": ("value", "business_weight")}),
        (
            _("Contract change when accepted"),
            {"fields": ("extend_months", "discount_percent", "add_option", "switch_to")},
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Offer | None = None) -> tuple:
        # Decisions, campaigns and the propensity model name an offer by its code.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OfferDecision)
class OfferDecisionAdmin(_ReadOnly):
    list_display = (
        "decided_at",
        "customer",
        "offer",
        "outcome",
        "channel",
        "decided_by",
        "propensity",
        "score",
    )
    list_filter = ("outcome", "channel", "offer")
    search_fields = ("customer__customer_number", "offer__code", "decided_by")
    list_select_related = ("customer", "offer")
    date_hierarchy = "decided_at"
    show_full_result_count = False


@admin.register(OfferProposal)
class OfferProposalAdmin(_ReadOnly):
    """Proposed through `services.propose_offer`, answered by the customer in the portal."""

    list_display = ("created_at", "customer", "offer", "status", "channel", "proposed_by")
    list_filter = ("status", "channel", "offer")
    search_fields = ("customer__customer_number", "offer__code", "proposed_by")
    list_select_related = ("customer", "offer")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(PropensityModel)
class PropensityModelAdmin(_ReadOnly):
    list_display = ("pk", "trained_at", "trained_by", "decisions")

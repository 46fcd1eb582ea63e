"""Partners and their users are configured here; the ledger is read-only, and reversals
are requested, approved and rejected through the services (a second person approves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError
from casework.partners import services
from casework.partners.models import (
    CommissionEntry,
    Partner,
    PartnerAccount,
    ReversalRequest,
    ReversalStatus,
)
from casework.routing.queries import actor_for_user


class PartnerAccountInline(admin.TabularInline):
    model = PartnerAccount
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active", "is_sandbox", "created_at")
    list_filter = ("is_active", "is_sandbox")
    search_fields = ("code", "name")
    inlines = (PartnerAccountInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Partner | None = None) -> Any:
        # Statements and the API name a partner by its code: it stays as created.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CommissionEntry)
class CommissionEntryAdmin(admin.ModelAdmin):
    list_display = (
        "seq",
        "recorded_at",
        "partner",
        "kind",
        "order_reference",
        "rule",
        "amount",
        "reverses",
        "recorded_by",
        "approved_by",
    )
    list_filter = ("kind", "partner")
    search_fields = ("=seq", "order_reference", "rule")
    list_select_related = ("partner",)
    readonly_fields = [field.name for field in CommissionEntry._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReversalRequestForm(forms.ModelForm):
    """Requesting a reversal: checked as the service will check it, then made by it."""

    actor: Actor | None = None  # set per request by the admin

    class Meta:
        model = ReversalRequest
        fields = ("entry", "reason")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.actor is None or not self.actor.is_supervisor:
            raise ValidationError(_("only supervisors and administrators may request reversals"))
        entry = cleaned.get("entry")
        if entry is not None:
            try:
                services.check_reversible(entry)
            except DomainError as error:
                self.add_error("entry", error.message)
        return cleaned


@admin.register(ReversalRequest)
class ReversalRequestAdmin(admin.ModelAdmin):
    form = ReversalRequestForm
    list_display = (
        "entry",
        "status",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "reversal_entry",
    )
    list_filter = ("status",)
    list_select_related = ("entry", "reversal_entry")
    raw_id_fields = ("entry",)
    actions = ("approve_selected", "reject_selected")

    def get_fields(self, request: HttpRequest, obj: ReversalRequest | None = None) -> Any:
        if obj is None:
            return ("entry", "reason")
        return (
            "entry",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "reversal_entry",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ReversalRequest | None = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Viewable; decisions go through the actions.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_form(
        self, request: HttpRequest, obj: ReversalRequest | None = None, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": self._actor(request)})

    def save_model(
        self, request: HttpRequest, obj: ReversalRequest, form: forms.Form, change: bool
    ) -> None:
        created = services.request_reversal(
            form.cleaned_data["entry"], form.cleaned_data["reason"], form.actor
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description=gettext_lazy("Approve the selected reversals"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ReversalRequest]) -> None:
        self._decide(request, queryset, services.approve_reversal, _("Reversal approved: %(r)s"))

    @admin.action(description=gettext_lazy("Reject the selected reversals"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[ReversalRequest]) -> None:
        self._decide(request, queryset, services.reject_reversal, _("Reversal rejected: %(r)s"))

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[ReversalRequest],
        decide: Callable[[ReversalRequest, Actor], ReversalRequest],
        done: str,
    ) -> None:
        actor = self._actor(request)
        if actor is None:
            self.message_user(
                request, _("Only agents and administrators may do this."), messages.ERROR
            )
            return
        for reversal in queryset.filter(status=ReversalStatus.PENDING).select_related("entry"):
            try:
                decided = decide(reversal, actor)
            except DomainError as error:
                self.message_user(request, f"{reversal}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, done % {"r": decided})

    @staticmethod
    def _actor(request: HttpRequest) -> Actor | None:
        return actor_for_user(request.user)

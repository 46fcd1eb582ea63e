from django import forms
from django.contrib import admin

from casework.channels.phone.models import (
    AgentLine,
    Call,
    CallEvent,
    CtiConnection,
    Hotline,
    WrapUpCode,
)
from casework.kernel import secrets


class CtiConnectionForm(forms.ModelForm):
    class Meta:
        model = CtiConnection
        fields = ["code", "name", "kind", "secret", "is_active", "default_queue", "language"]
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def clean_secret(self) -> str:
        # An empty field keeps the stored secret; a new one is stored encrypted.
        value = self.cleaned_data["secret"]
        if not value and self.instance.pk:
            return self.instance.secret
        return secrets.encrypt(value)


class HotlineInline(admin.TabularInline):
    model = Hotline
    extra = 0


@admin.register(CtiConnection)
class CtiConnectionAdmin(admin.ModelAdmin):
    form = CtiConnectionForm
    list_display = ["code", "name", "kind", "is_active", "default_queue"]
    inlines = [HotlineInline]


@admin.register(AgentLine)
class AgentLineAdmin(admin.ModelAdmin):
    list_display = ["extension", "agent"]
    search_fields = ["extension", "agent__user__username"]


@admin.register(WrapUpCode)
class WrapUpCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_de", "name_en", "is_active", "order"]


class CallEventInline(admin.TabularInline):
    model = CallEvent
    extra = 0
    can_delete = False
    fields = ["kind", "occurred_at", "received_at", "result", "payload"]
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "direction",
        "remote_raw",
        "customer",
        "agent",
        "state",
        "outcome",
    ]
    list_filter = ["direction", "state", "outcome", "connection"]
    search_fields = ["provider_call_id", "remote_number", "remote_raw"]
    inlines = [CallEventInline]
    readonly_fields = [field.name for field in Call._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

"""Mailboxes are configured here; received mail is listed read-only, quarantine first."""

from django.contrib import admin

from casework.channels.email.models import Mailbox, RawEmail


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("address", "display_name", "case_type", "queue", "acknowledges", "is_active")
    list_filter = ("is_active",)


@admin.register(RawEmail)
class RawEmailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "mailbox", "envelope_from", "message_id", "status", "reason")
    list_filter = ("status", "mailbox")
    search_fields = ("message_id", "envelope_from")
    exclude = ("content",)
    readonly_fields = [f.name for f in RawEmail._meta.fields if f.name != "content"]

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

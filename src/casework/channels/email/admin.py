"""Mailboxes are configured here; received mail is listed read-only, quarantine first."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from casework.channels.email.models import Mailbox, RawEmail


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("address", "display_name", "case_type", "queue", "acknowledges", "is_active")
    list_filter = ("is_active",)
    fieldsets = (
        (None, {"fields": ("address", "display_name", "is_active", "language", "signature")}),
        (
            _("new mail"),
            {
                "fields": (
                    "case_type",
                    "queue",
                    "identify_queue",
                    "thread_by_subject_days",
                    "acknowledges",
                )
            },
        ),
        (
            _("external mailbox (IMAP)"),
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_ssl",
                    "imap_user",
                    "imap_password",
                    "imap_folder",
                    "imap_poll_seconds",
                    "imap_polled_at",
                    "imap_last_error",
                )
            },
        ),
    )
    readonly_fields = ("imap_polled_at", "imap_last_error")


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

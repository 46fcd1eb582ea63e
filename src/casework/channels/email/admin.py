"""Mailboxes are configured here; received mail is listed read-only, quarantine first."""

from email.header import decode_header, make_header

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from casework.channels.email.models import Mailbox, RawEmail, RawEmailStatus
from casework.channels.email.quarantine import reprocess
from casework.channels.email.reading import header_block
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError
from casework.routing.queries import actor_for_user


class MailboxForm(forms.ModelForm):
    """The IMAP password is never shown; left empty, the stored one stays."""

    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored encrypted. Leave empty to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = ["imap_password"]  # the rest come from the admin's fieldsets

    def clean_imap_password(self) -> str:
        given = self.cleaned_data["imap_password"]
        return given or (self.instance.imap_password if self.instance.pk else "")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
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
    """Received mail, read-only; quarantined mail can be processed again after a fix."""

    list_display = ("received_at", "mailbox", "envelope_from", "status", "reason")
    list_filter = ("status", "mailbox")
    search_fields = ("message_id", "envelope_from", "reason")
    exclude = ("content",)
    readonly_fields = [
        *(f.name for f in RawEmail._meta.fields if f.name != "content"),
        "subject",
        "headers",
        "original",
    ]
    actions = ["reprocess_selected"]

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[RawEmail]:
        # The bytes (up to the size limit each) are read only where a page shows them.
        return super().get_queryset(request).defer("content")

    def get_urls(self):  # noqa: ANN201
        own = [
            path(
                "<int:raw_email_id>/original/",
                self.admin_site.admin_view(self.download_original),
                name="email_channel_rawemail_original",
            )
        ]
        return own + super().get_urls()

    @admin.display(description=_("subject"))
    def subject(self, raw: RawEmail) -> str:
        for line in header_block(bytes(raw.content)[:65536]).splitlines():
            if line.lower().startswith("subject:"):
                try:
                    return str(make_header(decode_header(line[8:].strip())))[:200]
                except (ValueError, LookupError, UnicodeError):
                    return line[8:].strip()[:200]  # broken encoded words: as written
        return ""

    @admin.display(description=_("headers"))
    def headers(self, raw: RawEmail) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', header_block(bytes(raw.content))
        )

    @admin.display(description=_("original"))
    def original(self, raw: RawEmail) -> str:
        url = reverse("admin:email_channel_rawemail_original", args=[raw.pk])
        return format_html('<a href="{}">{}</a>', url, _("download (.eml)"))

    def download_original(self, request: HttpRequest, raw_email_id: int) -> HttpResponse:
        raw = RawEmail.objects.filter(pk=raw_email_id).first()
        if raw is None:
            raise Http404
        response = HttpResponse(bytes(raw.content), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="received-{raw.pk}.eml"'
        return response

    @admin.action(description=_("Process the selected quarantined mail again"))
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[RawEmail]) -> None:
        actor = actor_for_user(request.user) or Actor.system("admin")
        for raw in queryset.order_by("received_at", "pk"):
            try:
                result = reprocess(raw.pk, actor=actor)
            except DomainError as error:
                self.message_user(request, f"{raw.pk}: {error.message}", messages.WARNING)
                continue
            if result.status == RawEmailStatus.QUARANTINED:
                self.message_user(
                    request,
                    _("%(id)s is still quarantined: %(reason)s")
                    % {"id": raw.pk, "reason": result.reason},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    _("%(id)s processed: %(status)s %(reference)s")
                    % {
                        "id": raw.pk,
                        "status": RawEmailStatus(result.status).label,
                        "reference": result.case_reference or "",
                    },
                    messages.SUCCESS,
                )

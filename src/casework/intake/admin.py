from django.contrib import admin

from casework.intake.models import ChannelDefault, QueuedMessage


@admin.register(ChannelDefault)
class ChannelDefaultAdmin(admin.ModelAdmin):
    list_display = ("channel", "case_type")


@admin.register(QueuedMessage)
class QueuedMessageAdmin(admin.ModelAdmin):
    """Where administrators find messages that could not be ingested, with the reason."""

    list_display = ("id", "channel", "external_id", "status", "attempts", "accepted_at")
    list_filter = ("status", "channel")
    search_fields = ("external_id", "case_reference")
    readonly_fields = [field.name for field in QueuedMessage._meta.fields]

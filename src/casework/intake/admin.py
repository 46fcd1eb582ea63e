from django.contrib import admin

from casework.intake.models import ChannelDefault, QueuedMessage, TopicRoute


@admin.register(ChannelDefault)
class ChannelDefaultAdmin(admin.ModelAdmin):
    list_display = ("channel", "case_type")


@admin.register(TopicRoute)
class TopicRouteAdmin(admin.ModelAdmin):
    list_display = ("topic", "from_case_type", "case_type", "queue", "is_active")
    list_filter = ("is_active",)


@admin.register(QueuedMessage)
class QueuedMessageAdmin(admin.ModelAdmin):
    """Where administrators find messages that could not be ingested, with the reason."""

    list_display = ("id", "channel", "external_id", "status", "attempts", "accepted_at")
    list_filter = ("status", "channel")
    search_fields = ("external_id", "case_reference")
    readonly_fields = [field.name for field in QueuedMessage._meta.fields]

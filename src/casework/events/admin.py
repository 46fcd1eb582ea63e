"""The event log is read-only here: it may be inspected, never edited."""

from django.contrib import admin

from casework.events.models import Event, WebhookDelivery, WebhookSubscription


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("seq", "occurred_at", "code", "actor_label", "object_type", "object_id")
    list_filter = ("code", "object_type")
    search_fields = ("=object_id", "actor_label")

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("url", "is_active", "description", "created_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

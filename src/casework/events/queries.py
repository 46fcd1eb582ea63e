"""Reads of the event log and the webhook outbox."""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.events.models import Event, WebhookDelivery, WebhookSubscription
from casework.kernel.errors import NotFound


def list_subscriptions() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.order_by("pk"))


def list_deliveries(subscription_id: int, *, limit: int = 100) -> list[WebhookDelivery]:
    if not WebhookSubscription.objects.filter(pk=subscription_id).exists():
        raise NotFound(
            _("webhook subscription %(subscription_id)s not found")
            % {"subscription_id": subscription_id}
        )
    return list(
        WebhookDelivery.objects.filter(subscription_id=subscription_id)
        .select_related("event")
        .order_by("-pk")[:limit]
    )


def list_events_of(object_type: str, object_id: int) -> list[Event]:
    return list(Event.objects.filter(object_type=object_type, object_id=object_id).order_by("seq"))

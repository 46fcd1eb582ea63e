"""Webhook subscriptions (administrators only) and their delivery log."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from casework.api.auth import actor_of, require_admin
from casework.api.schemas import ErrorOut, WebhookDeliveryOut, WebhookIn, WebhookOut
from casework.events.queries import list_deliveries, list_subscriptions
from casework.events.services import subscribe_webhook
from casework.events.types import EVENT_TYPES

router = Router(tags=["webhooks"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("/event-types", response={200: dict[str, str], **ERRORS})
def event_types(request: HttpRequest):  # noqa: ANN201
    """Every event code a webhook can subscribe to, with its description."""
    actor_of(request)
    return {code: str(label) for code, label in EVENT_TYPES.items()}


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS})
def subscriptions(request: HttpRequest):  # noqa: ANN201
    require_admin(actor_of(request))
    return list_subscriptions()


@router.post("/webhooks", response={201: WebhookOut, **ERRORS})
def subscribe(request: HttpRequest, body: WebhookIn):  # noqa: ANN201
    """Deliveries are POSTed as JSON with `Casework-Signature: t=<unix>,v1=<hex>`, the
    HMAC-SHA256 of `<t>.<body>` under `secret`; failures are retried with backoff."""
    actor = actor_of(request)
    require_admin(actor)
    subscription = subscribe_webhook(
        url=body.url,
        secret=body.secret,
        event_codes=body.event_codes,
        description=body.description,
        actor=actor,
    )
    return Status(201, subscription)


@router.get(
    "/webhooks/{subscription_id}/deliveries", response={200: list[WebhookDeliveryOut], **ERRORS}
)
def deliveries(request: HttpRequest, subscription_id: int):  # noqa: ANN201
    require_admin(actor_of(request))
    return list_deliveries(subscription_id)

"""Sending webhook deliveries from the outbox: signed, retried with backoff, logged.

The signature header is `Casework-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
`<t>.<body>` with the subscription's secret, so receivers can reject replays and forgeries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from casework.events.models import (
    DeliveryStatus,
    Event,
    OutboxCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from casework.kernel import clock
from casework.kernel.leases import lease_due

logger = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def delivery_body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return json.dumps(
        {
            "id": event.seq,
            "event": event.code,
            "occurred_at": event.occurred_at.isoformat(),
            "actor": {"kind": event.actor_kind, "id": event.actor_id, "label": event.actor_label},
            "object": {"type": event.object_type, "id": event.object_id},
            "payload": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 6 hours."""
    seconds = settings.CASEWORK_WEBHOOK_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 6 * 3600))


FAN_OUT_CURSOR = "webhooks"


def fan_out(batch_size: int = 500) -> int:
    """Create deliveries for events recorded since the last pass; returns events read.

    Sequence numbers are handed out under the chain head lock, so they commit in order: when
    event N is visible, every event before it is too, and a cursor over `seq` misses none."""
    with transaction.atomic():
        cursor, _ = OutboxCursor.objects.get_or_create(name=FAN_OUT_CURSOR)
        cursor = OutboxCursor.objects.select_for_update().get(pk=cursor.pk)
        recorded = Event.objects.filter(seq__gt=cursor.last_seq)
        last = recorded.aggregate(last=Max("seq"))["last"]
        if last is None:
            return 0
        if not WebhookSubscription.objects.filter(is_active=True).exists():
            # Nobody to deliver to: move on without reading the events. A subscription
            # made since `last` was read starts after the head at its making, so after
            # `last`: it wants none of them.
            skipped = last - cursor.last_seq
            cursor.last_seq = last
            cursor.save(update_fields=["last_seq"])
            return skipped
        events = list(
            recorded.order_by("seq").only("pk", "seq", "code", "occurred_at")[:batch_size]
        )
        subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription=subscription, event=event, next_attempt_at=event.occurred_at
                )
                for event in events
                for subscription in subscriptions
                if event.seq > subscription.starts_after_seq and subscription.wants(event.code)
            ],
            ignore_conflicts=True,
        )
        cursor.last_seq = events[-1].seq
        cursor.save(update_fields=["last_seq"])
    return len(events)


def run_once() -> int:
    """One worker pass: fan out new events, then send what is due. Returns work done."""
    return fan_out() + deliver_due()


def deliver_due(limit: int = 50) -> int:
    """Send up to `limit` due deliveries; returns how many were attempted."""
    attempted = 0
    for delivery in _claim_due(limit):
        _attempt(delivery)
        attempted += 1
    return attempted


def _claim_due(limit: int) -> list[WebhookDelivery]:
    lease = timedelta(seconds=settings.CASEWORK_WEBHOOK_TIMEOUT_SECONDS + 30)
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
    ids = lease_due(pending, limit=limit, lease=lease)
    return list(WebhookDelivery.objects.select_related("event", "subscription").filter(pk__in=ids))


def _attempt(delivery: WebhookDelivery) -> None:
    body = delivery_body(delivery)
    timestamp = int(clock.now().timestamp())
    signature = sign(delivery.subscription.secret, timestamp, body)
    request = urllib.request.Request(
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Casework-Webhooks/1",
            "Casework-Event": delivery.event.code,
            "Casework-Delivery": str(delivery.pk),
            "Casework-Signature": f"t={timestamp},v1={signature}",
        },
    )
    status_code, error = _post(request)
    delivery.last_status_code = status_code
    delivery.last_error = error
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = clock.now()
    elif delivery.attempts >= settings.CASEWORK_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        logger.warning("webhook delivery %s failed for good: %s", delivery.pk, error)
    else:
        delivery.next_attempt_at = clock.now() + retry_delay(delivery.attempts)
    delivery.save(
        update_fields=[
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )


def _post(request: urllib.request.Request) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(
            request, timeout=settings.CASEWORK_WEBHOOK_TIMEOUT_SECONDS
        ) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return None, str(getattr(error, "reason", error))

"""Webhook deliveries against a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from casework.events.models import DeliveryStatus, Event, WebhookDelivery
from casework.events.services import subscribe_webhook
from casework.events.webhooks import deliver_due, fan_out, run_once
from casework.intake.services import ingest
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from tests.intake.test_pipeline import mail

pytestmark = pytest.mark.django_db
SECRET = "a-long-enough-signing-secret"


class Receiver:
    """A loopback HTTP server that records requests and answers with queued status codes."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():  # noqa: ANN201
    running = Receiver()
    yield running
    running.close()


def test_subscribed_events_are_delivered_signed(email_intake, receiver):
    subscribe_webhook(
        url=receiver.url, secret=SECRET, event_codes=["case.opened"], actor=Actor.system("test")
    )
    result = ingest(mail())

    # webhook.subscribed, customer, case, task, interaction: only case.opened matches
    assert fan_out() == 5
    assert deliver_due() == 1

    headers, body = receiver.requests[0]
    timestamp, signature = (
        part.split("=", 1)[1] for part in headers["Casework-Signature"].split(",")
    )
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)
    payload = json.loads(body)
    assert payload["event"] == "case.opened"
    assert payload["object"] == {"type": "case", "id": result.case.pk}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
    )


def test_failed_delivery_is_retried_with_backoff_then_succeeds(email_intake, receiver):
    subscribe_webhook(
        url=receiver.url, secret=SECRET, event_codes=["case.opened"], actor=Actor.system("test")
    )
    ingest(mail())
    receiver.statuses = [503]

    run_once()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code == 503
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert deliver_due() == 0  # not due yet

    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


@pytest.mark.django_db(databases="__all__")  # the worker also looks at the intake queue
def test_unreachable_receiver_fails_for_good_after_the_last_attempt(email_intake, settings):
    settings.CASEWORK_WEBHOOK_MAX_ATTEMPTS = 2
    subscribe_webhook(
        url="http://127.0.0.1:9/closed",
        secret=SECRET,
        event_codes=["*"],
        actor=Actor.system("test"),
    )
    ingest(mail())
    for _ in range(2):
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        call_command("worker", "--once")

    statuses = set(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == {DeliveryStatus.FAILED}
    assert WebhookDelivery.objects.exclude(last_error="").count() == WebhookDelivery.objects.count()


def test_a_subscription_receives_only_events_after_it_was_made(email_intake, receiver):
    ingest(mail())
    subscribe_webhook(
        url=receiver.url, secret=SECRET, event_codes=["*"], actor=Actor.system("test")
    )
    ingest(mail("<m2@example.de>"))

    fan_out()

    codes = set(WebhookDelivery.objects.values_list("event__code", flat=True))
    assert codes == {"webhook.subscribed", "case.opened", "task.created", "interaction.recorded"}
    assert fan_out() == 0  # nothing new, nothing twice


def test_without_subscriptions_the_fan_out_moves_past_events_and_later_ones_are_delivered(
    email_intake, receiver
):
    ingest(mail())
    assert fan_out() == Event.objects.count()  # read past, nothing to deliver
    assert not WebhookDelivery.objects.exists()
    assert fan_out() == 0

    subscribe_webhook(
        url=receiver.url, secret=SECRET, event_codes=["case.opened"], actor=Actor.system("test")
    )
    before = Event.objects.count()
    ingest(mail("<m2@example.de>"))

    assert fan_out() == Event.objects.count() - before + 1  # and the subscription's own
    assert list(WebhookDelivery.objects.values_list("event__code", flat=True)) == ["case.opened"]


def test_unknown_event_codes_are_refused(db):
    with pytest.raises(InvalidInput):
        subscribe_webhook(
            url="http://127.0.0.1:9/",
            secret=SECRET,
            event_codes=["case.eaten"],
            actor=Actor.system("test"),
        )

"""Proactive notifications: a template (German and English, by the customer's language)
sent through the customer's preferred channel when the process says so.

Channel adapters register how they send (`register_sender`); the case engine does not
know e-mail. A notification is a job, so it goes out after the change commits and is
retried when sending fails; a customer we cannot reach is noted in the case's history.
Within `sent_at_once()` (a batch of retention orders) it is written in the change's own
transaction instead; the e-mail channel's outbox sends it after the commit all the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.events.services import record
from casework.kernel import jobs
from casework.kernel.actors import Actor

NOTIFY_ACTOR = Actor.system("notifications")


@dataclass(frozen=True)
class Notification:
    case: Case
    template: str
    language: str
    subject: str
    body: str
    # Rendered in the advance that opened the case: nothing is recorded on it yet, so
    # there is no e-mail of the customer's on it to answer.
    case_is_new: bool = False


# A sender returns a short note of where the message went ("e-mail to x@y"), or None when
# it cannot reach this customer (no address on record).
Sender = Callable[[Notification], str | None]
_senders: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender) -> None:
    _senders[channel] = sender


def render(case: Case, template: str, language: str) -> tuple[str, str]:
    """(subject, body) of a notification template in the language."""
    language = language if language in ("de", "en") else "de"
    customer = case.customer
    with translation.override(language):
        if customer is not None and customer.last_name and customer.salutation:
            greeting = _("Dear %(salutation)s %(last_name)s,") % {
                "salutation": customer.salutation,
                "last_name": customer.last_name,
            }
        elif customer is not None and customer.last_name:
            greeting = _("Dear %(name)s,") % {"name": customer.display_name}
        else:
            greeting = _("Hello,")
        text = render_to_string(
            f"notifications/{template}.{language}.txt",
            {"case": case, "customer": customer, "data": case.data, "greeting": greeting},
        )
    subject, _newline, body = text.strip().partition("\n")
    return " ".join(subject.split()), body.strip() + "\n"


# Set by `sent_at_once()`: notifications go out in the change's own transaction.
_at_once: ContextVar[bool] = ContextVar("casework_notifications_at_once", default=False)


@contextmanager
def sent_at_once() -> Iterator[None]:
    """Within the block the process's notifications are written in the transaction of the
    change that asks for them, instead of by a job afterwards: a batch of retention orders
    queues each confirmation with the order's other rows rather than in a transaction of
    its own (ADR 18). The outbox sends them after the commit either way."""
    token = _at_once.set(True)
    try:
        yield
    finally:
        _at_once.reset(token)


def sends_at_once() -> bool:
    return _at_once.get()


@jobs.handles("cases.notify")
def notify_job(payload: dict[str, Any]) -> None:
    case = Case.objects.select_related("customer").filter(pk=payload["case_id"]).first()
    if case is None:
        return
    deliver(case, payload["template"])


def deliver(case: Case, template: str) -> None:
    """Render the template in the customer's language and hand it to the first channel
    that reaches them (their preferred one first); the history notes where it went."""
    send(rendered(case, template))


def rendered(case: Case, template: str, *, case_is_new: bool = False) -> Notification:
    """The notification in the customer's language; nothing is written."""
    customer = case.customer
    language = customer.language if customer else "de"
    subject, body = render(case, template, language)
    return Notification(case, template, language, subject, body, case_is_new)


def send(notification: Notification) -> None:
    """Hand a rendered notification to the first channel that reaches the customer."""
    case, template, customer = notification.case, notification.template, notification.case.customer
    channels = [customer.preferred_channel] if customer and customer.preferred_channel else []
    channels += [channel for channel in _senders if channel not in channels]
    for channel in channels:
        sender = _senders.get(channel)
        if sender is None:
            continue
        where = sender(notification)
        if where is not None:
            record(
                "notification.sent",
                actor=NOTIFY_ACTOR,
                object_type="case",
                object_id=case.pk,
                payload={"template": template, "channel": channel, "to": where},
            )
            return
    record(
        "notification.skipped",
        actor=NOTIFY_ACTOR,
        object_type="case",
        object_id=case.pk,
        payload={"template": template, "reason": "no way to reach the customer"},
    )

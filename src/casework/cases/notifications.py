"""Proactive notifications: a template (German and English, by the customer's language)
sent through the customer's preferred channel when the process says so.

Channel adapters register how they send (`register_sender`); the case engine does not
know e-mail. A notification is a job, so it goes out after the change commits and is
retried when sending fails; a customer we cannot reach is noted in the case's history."""

from __future__ import annotations

from collections.abc import Callable
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


@jobs.handles("cases.notify")
def notify_job(payload: dict[str, Any]) -> None:
    case = Case.objects.select_related("customer").filter(pk=payload["case_id"]).first()
    if case is None:
        return
    customer = case.customer
    language = customer.language if customer else "de"
    subject, body = render(case, payload["template"], language)
    notification = Notification(case, payload["template"], language, subject, body)
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
                payload={"template": payload["template"], "channel": channel, "to": where},
            )
            return
    record(
        "notification.skipped",
        actor=NOTIFY_ACTOR,
        object_type="case",
        object_id=case.pk,
        payload={"template": payload["template"], "reason": "no way to reach the customer"},
    )

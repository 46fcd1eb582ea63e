"""The sign-in mail, through the product's outbox: written in the transaction that makes
the link, sent by the worker like every other mail (to the SMTP relay, or the demo's
maildir).

The outbox row carries the link (it is what gets sent); the outbound interaction that every
mail leaves on the customer's timeline does not: agents see that a link was sent, never the
link itself, so nobody at the desk can sign in as the customer."""

from __future__ import annotations

from email.utils import make_msgid

from django.db import connection
from django.template.loader import render_to_string
from django.utils import translation

from casework.channels.email.models import Mailbox, OutboundEmail
from casework.customers.models import Customer
from casework.interactions.models import Direction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock
from casework.kernel.actors import Actor

MAIL_KIND = "portal_sign_in"


def sender_mailbox() -> Mailbox | None:
    """The organisation's first active mailbox: the portal writes as the service."""
    return Mailbox.objects.filter(is_active=True).order_by("pk").first()


def queue_sign_in_mail(
    *,
    mailbox: Mailbox,
    customer: Customer,
    to_address: str,
    url: str,
    minutes: int,
    language: str,
    actor: Actor,
) -> OutboundEmail:
    """In the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("the sign-in mail is queued in the transaction that makes the link")
    context = {"customer": customer, "url": url, "minutes": minutes, "mailbox": mailbox}
    with translation.override(language):
        subject = " ".join(render_to_string("portal/email/sign_in_subject.txt", context).split())
        body = render_to_string("portal/email/sign_in.txt", context).strip() + "\n"
        shown = render_to_string("portal/email/sign_in.txt", {**context, "url": "[…]"}).strip()
    domain = mailbox.address.rpartition("@")[2]
    message_id = make_msgid(domain=domain).strip("<>")
    now = clock.now()
    interaction = record_interaction(
        NewInteraction(
            channel="email",
            direction=Direction.OUTBOUND,
            occurred_at=now,
            customer_id=customer.pk,
            sender=mailbox.address,
            subject=subject,
            text=shown,
            payload={"message_id": message_id, "kind": MAIL_KIND, "to": to_address},
            external_id=message_id,
        ),
        actor=actor,
    )
    return OutboundEmail.objects.create(
        mailbox=mailbox,
        interaction=interaction,
        kind=OutboundEmail.Kind.NOTIFICATION,
        to_address=to_address,
        to_name=customer.display_name,
        subject=subject[:400],
        body_text=body,
        message_id=message_id,
        next_attempt_at=now,
    )

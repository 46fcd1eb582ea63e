"""Outgoing mail: written to the outbox in the transaction that causes it, sent by the
worker with retries, each recorded as an outbound interaction on its case.

Delivery goes to `CASEWORK_SMTP_RELAY` (`host:port`, optional STARTTLS and login) or, for
the demo and development, into a local maildir (`maildir:PATH`) where every outgoing mail
can be read as a file.
"""

from __future__ import annotations

import contextlib
import logging
import mailbox as maildir_module
import smtplib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from email import errors, policy
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.notifications import Notification
from casework.cases.sla import first_response_given
from casework.channels.email.models import Mailbox, OutboundEmail, OutboundStatus
from casework.customers.models import CustomerIdentifier
from casework.events.services import recording_transaction
from casework.interactions.files import StoredFile, read_bytes
from casework.interactions.models import Attachment, Direction, Interaction
from casework.interactions.services import (
    NewInteraction,
    record_interaction,
    record_interactions,
)
from casework.kernel import clock, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import InvalidInput
from casework.kernel.leases import lease_due

logger = logging.getLogger(__name__)

MAIL_ACTOR = Actor.system("email")


def queue_acknowledgement(
    *,
    mailbox: Mailbox,
    case: Case,
    to_address: str,
    to_name: str,
    subject: str,
    in_reply_to: str,
    language: str,
) -> OutboundEmail:
    """Must run in the transaction that received the mail: the acknowledgement exists
    exactly when the case does."""
    context = {"case": case, "mailbox": mailbox, "name": to_name, "subject": subject}
    with translation.override(language if language in ("de", "en") else mailbox.language):
        ack_subject = " ".join(
            render_to_string("email/acknowledgement_subject.txt", context).split()
        )
        body = render_to_string("email/acknowledgement.txt", context).strip() + "\n"
    return _queue(
        mailbox=mailbox,
        case=case,
        kind=OutboundEmail.Kind.ACKNOWLEDGEMENT,
        to_address=to_address,
        to_name=to_name,
        subject=ack_subject,
        body=body,
        in_reply_to=in_reply_to,
        actor=MAIL_ACTOR,
    )


def queue_campaign_email(
    *,
    mailbox: Mailbox,
    customer_id: int,
    to_address: str,
    to_name: str,
    subject: str,
    body_text: str,
    body_html: str,
    unsubscribe_url: str,
    actor: Actor,
) -> OutboundEmail:
    """An advertising mail to a customer, about no case; in the caller's transaction."""
    return _queue(
        mailbox=mailbox,
        case=None,
        customer_id=customer_id,
        kind=OutboundEmail.Kind.CAMPAIGN,
        to_address=to_address,
        to_name=to_name,
        subject=subject,
        body=body_text,
        body_html=body_html,
        unsubscribe_url=unsubscribe_url,
        in_reply_to="",
        actor=actor,
    )


def _queue(
    *,
    mailbox: Mailbox,
    case: Case | None,
    kind: str,
    to_address: str,
    to_name: str,
    subject: str,
    body: str,
    in_reply_to: str,
    actor: Actor,
    references: str = "",
    attachments: Sequence[StoredFile] = (),
    customer_id: int | None = None,
    body_html: str = "",
    unsubscribe_url: str = "",
) -> OutboundEmail:
    if not connection.in_atomic_block:
        raise RuntimeError("outgoing mail is queued inside the transaction that causes it")
    domain = mailbox.address.rpartition("@")[2]
    message_id = make_msgid(domain=domain).strip("<>")
    now = clock.now()
    interaction_data = NewInteraction(
        channel="email",
        direction=Direction.OUTBOUND,
        occurred_at=now,
        customer_id=case.customer_id if case else customer_id,
        case_id=case.pk if case else None,
        agent_id=actor.id if actor.kind == ActorKind.AGENT else None,
        sender=mailbox.address,
        subject=subject,
        text=body,
        payload={"message_id": message_id, "kind": kind, "to": to_address},
        external_id=message_id,
        attachments=attachments,
    )
    email = OutboundEmail(
        mailbox=mailbox,
        case=case,
        kind=kind,
        to_address=to_address,
        to_name=to_name,
        subject=subject[:400],
        body_text=body,
        body_html=body_html,
        unsubscribe_url=unsubscribe_url,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references or in_reply_to,
        next_attempt_at=now,
    )
    batch = _batch_reads.get()
    if batch is not None and batch.unwritten is not None:
        batch.unwritten.append((interaction_data, email, actor))
        return email
    email.interaction = record_interaction(interaction_data, actor=actor)
    # Every acknowledgement passes here: the lean insert saves the ORM's query building.
    return sql.insert(email)


class NoMailToAnswer(InvalidInput):
    code = "no_mail_to_answer"


def find_mail_to_answer(case: Case) -> Interaction | None:
    """The newest e-mail from the customer on this case that came to one of our mailboxes."""
    for interaction in sql.select(Interaction, _INBOUND_MAILS, [case.pk, Direction.INBOUND.value]):
        if interaction.payload.get("mailbox") and interaction.payload.get("from"):
            return interaction
    return None


# Every process notification and reply looks these up: lean statements, not the ORM.
_INBOUND_MAILS = (
    "SELECT {columns} FROM interactions_interaction t WHERE t.case_id = %s"
    " AND t.channel = 'email' AND t.direction = %s ORDER BY t.occurred_at DESC, t.id DESC LIMIT 20"
)
_EMAIL_ADDRESS = (
    "SELECT value FROM customers_customeridentifier WHERE customer_id = %s AND kind = 'email'"
    " ORDER BY id LIMIT 1"
)
_ACTIVE_MAILBOX = "SELECT {columns} FROM email_channel_mailbox t WHERE t.is_active = %s"


@recording_transaction()
def reply_by_email(
    case: Case,
    text: str,
    *,
    actor: Actor,
    attachments: Sequence[StoredFile] = (),
    quote: bool = True,
) -> OutboundEmail:
    """An agent's answer to the customer's last e-mail on the case, threaded under it
    (In-Reply-To/References), with the reference in the subject, the files given (already
    in the file store) and, unless asked not to, the answered mail quoted below."""
    text = text.strip()
    if not text:
        raise InvalidInput(_("a reply needs text"), field="text")
    answered = find_mail_to_answer(case)
    if answered is None:
        raise NoMailToAnswer(_("this case has no e-mail from the customer to answer"))
    mailbox = Mailbox.objects.filter(address=answered.payload["mailbox"]).first()
    if mailbox is None:
        raise NoMailToAnswer(_("the mailbox this case's e-mail came to no longer exists"))
    subject = answered.subject or case.subject
    if case.reference not in subject:
        subject = f"[{case.reference}] {subject}"
    if not subject.lower().startswith(("re:", "aw:")):
        subject = f"Re: {subject}"
    signature = f"\n\n-- \n{mailbox.signature}" if mailbox.signature else ""
    language = case.customer.language if case.customer else mailbox.language
    quoted = quote_mail(answered, language) if quote else ""
    answered_id = answered.payload.get("message_id") or ""
    references = [*answered.payload.get("references", []), answered_id]
    first_response_given(case)
    return _queue(
        mailbox=mailbox,
        case=case,
        kind=OutboundEmail.Kind.REPLY,
        to_address=answered.payload["from"],
        to_name=answered.sender.partition(" <")[0] if " <" in answered.sender else "",
        subject=subject,
        body=text + signature + "\n" + quoted,
        in_reply_to=answered_id,
        references=" ".join(ref for ref in references if ref),
        actor=actor,
        attachments=attachments,
    )


def quote_mail(answered: Interaction, language: str) -> str:
    """The answered mail below the reply, as mail programs quote: an attribution line in
    the customer's language, then each line of the customer's new text behind "> "."""
    with translation.override(language if language in ("de", "en") else "de"):
        # When the customer wrote it (their Date header), else when it arrived.
        written = parse_datetime(answered.payload.get("date") or "") or answered.occurred_at
        when = date_format(clock.localtime(written), "SHORT_DATETIME_FORMAT")
        sender = answered.sender or answered.payload.get("from", "")
        attribution = _("On %(when)s, %(sender)s wrote:") % {"when": when, "sender": sender}
    lines = (answered.text or "").strip().splitlines()
    return "\n" + attribution + "\n" + "\n".join(f"> {line}".rstrip() for line in lines) + "\n"


@dataclass
class _BatchReads:
    addresses: dict[int, str | None]
    mailboxes: list[Mailbox]
    # Messages queued but not yet written (`written_together`): each with its interaction.
    unwritten: list[tuple[NewInteraction, OutboundEmail, Actor]] | None = None


# Set by `read_once_per_batch()`.
_batch_reads: ContextVar[_BatchReads | None] = ContextVar(
    "casework_outbound_batch_reads", default=None
)


@contextmanager
def read_once_per_batch(
    customer_ids: Iterable[int], *, written_together: bool = False
) -> Iterator[None]:
    """Within the block the notifications to these customers take their e-mail addresses
    and the active mailboxes from one read each (a batch of retention orders confirms
    every order at once). `written_together`: the messages queued inside, and their
    interactions, are written with one INSERT each when the block ends without failing
    (or at `write_queued()`); only where nothing rolls back halfway
    (`events.services.savepoints_left_out`) and nothing reads them before."""
    ids = sorted(set(customer_ids))
    addresses: dict[int, str | None] = dict.fromkeys(ids)
    if ids:
        for customer_id, value in (
            CustomerIdentifier.objects.filter(customer_id__in=ids, kind="email")
            .order_by("-pk")
            .values_list("customer_id", "value")
        ):
            addresses[customer_id] = value  # the oldest last: it wins, as one by one
    mailboxes = sql.select(Mailbox, _ACTIVE_MAILBOX + " ORDER BY t.id", [True])
    token = _batch_reads.set(_BatchReads(addresses, mailboxes, [] if written_together else None))
    try:
        yield
        write_queued()
    finally:
        _batch_reads.reset(token)


def write_queued() -> None:
    """Write the messages `read_once_per_batch(written_together=True)` holds back."""
    batch = _batch_reads.get()
    if batch is None or not batch.unwritten:
        return
    unwritten, batch.unwritten = batch.unwritten, []
    interactions = record_interactions(
        [data for data, _email, _actor in unwritten],
        actor=[actor for _data, _email, actor in unwritten],
    )
    for (_data, email, _actor), interaction in zip(unwritten, interactions, strict=True):
        email.interaction = interaction
    sql.insert_many([email for _data, email, _actor in unwritten])


def _email_address(customer_id: int) -> str | None:
    batch = _batch_reads.get()
    if batch is not None and customer_id in batch.addresses:
        return batch.addresses[customer_id]
    found = sql.fetch_one(_EMAIL_ADDRESS, [customer_id])
    return found[0] if found else None


def send_notification(notification: Notification) -> str | None:
    """Queue a process notification to the customer's e-mail address, threaded under their
    last mail on the case and sent from the mailbox it came to. None when the customer has
    no e-mail address or there is no mailbox to send from."""
    case = notification.case
    address = _email_address(case.customer_id) if case.customer_id else None
    if address is None:
        return None
    answered = None if notification.case_is_new else find_mail_to_answer(case)
    batch = _batch_reads.get()
    mailboxes = (
        batch.mailboxes
        if batch is not None
        else sql.select(Mailbox, _ACTIVE_MAILBOX + " ORDER BY t.id", [True])
    )
    mailbox = next(
        (m for m in mailboxes if answered is not None and m.address == answered.payload["mailbox"]),
        None,
    )
    mailbox = (
        mailbox
        or next((m for m in mailboxes if m.case_type_id == case.case_type_id), None)
        or (mailboxes[0] if mailboxes else None)
    )
    if mailbox is None:
        return None
    subject = notification.subject
    if case.reference not in subject:
        subject = f"[{case.reference}] {subject}"
    signature = f"\n-- \n{mailbox.signature}\n" if mailbox.signature else ""
    answered_id = answered.payload.get("message_id", "") if answered else ""
    _queue(
        mailbox=mailbox,
        case=case,
        kind=OutboundEmail.Kind.NOTIFICATION,
        to_address=address,
        to_name=case.customer.display_name if case.customer else "",
        subject=subject,
        body=notification.body + signature,
        in_reply_to=answered_id,
        actor=MAIL_ACTOR,
    )
    return address


def find_thread_case_id(message_ids: list[str], sender_address: str) -> int | None:
    """The case of one of our own mails this message answers — if it was sent to this
    sender (a reply from elsewhere quoting our Message-ID is not trusted)."""
    if not message_ids:
        return None
    # Asked for every reply: a plain indexed query without the ORM's query building.
    ids = list(dict.fromkeys(message_ids))[:MAX_THREAD_IDS]
    row = sql.fetch_one(
        f"SELECT case_id FROM {OutboundEmail._meta.db_table} "
        f"WHERE to_address = %s AND message_id IN ({', '.join(['%s'] * len(ids))}) "
        "AND case_id IS NOT NULL "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [sender_address, *ids],
    )
    return row[0] if row else None


# In-Reply-To and References together (the parser keeps at most 200 references).
MAX_THREAD_IDS = 250


def find_bounced(message_id: str) -> OutboundEmail | None:
    if not message_id:
        return None
    return OutboundEmail.objects.filter(message_id=message_id).first()


def mark_bounced(outbound: OutboundEmail, *, interaction_id: int) -> None:
    """In the transaction that received the bounce."""
    outbound.status = OutboundStatus.BOUNCED
    outbound.last_error = f"bounced: interaction {interaction_id}"
    outbound.save(update_fields=["status", "last_error"])


def compose(outbound: OutboundEmail) -> Message:
    """The message as it is sent. An address with non-ASCII characters (``yıldız@…``,
    RFC 6531) makes it an SMTPUTF8 message; the relay must support that."""
    international = not (outbound.to_address + outbound.mailbox.address).isascii()
    if (
        outbound.kind in _TEXT_ONLY_KINDS
        and not outbound.body_html
        and _is_plain_address(outbound.to_address)
        and _is_plain_address(outbound.mailbox.address)
    ):
        return _compose_text_only(outbound)
    message = EmailMessage(policy=policy.SMTPUTF8 if international else policy.default)
    message["From"] = _mailbox_header(outbound.mailbox.display_name, outbound.mailbox.address)
    message["To"] = _mailbox_header(outbound.to_name, outbound.to_address)
    message["Subject"] = outbound.subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = f"<{outbound.message_id}>"
    if outbound.in_reply_to:
        message["In-Reply-To"] = f"<{outbound.in_reply_to}>"
        message["References"] = " ".join(f"<{ref}>" for ref in outbound.references.split())
    if outbound.kind == OutboundEmail.Kind.ACKNOWLEDGEMENT:
        # RFC 3834: automatic answers must not be answered automatically (no mail loops).
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    elif outbound.kind == OutboundEmail.Kind.NOTIFICATION:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
    if outbound.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{outbound.unsubscribe_url}>"
    message.set_content(outbound.body_text)
    if outbound.body_html:
        message.add_alternative(outbound.body_html, subtype="html")
    for attachment in Attachment.objects.filter(
        interaction_id=outbound.interaction_id, is_stored=True
    ).order_by("pk"):
        maintype, _slash, subtype = attachment.content_type.partition("/")
        if not (maintype and subtype) or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            read_bytes(attachment.sha256),
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
        )
    return message


# Written from templates, never with files: the plain text message is built without the
# modern header parser (a fifth of the cost) and without looking for attachments.
_TEXT_ONLY_KINDS = frozenset({OutboundEmail.Kind.ACKNOWLEDGEMENT, OutboundEmail.Kind.NOTIFICATION})
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _compose_text_only(outbound: OutboundEmail) -> Message:
    """`compose()` for an acknowledgement or notification: the same headers and a
    quoted-printable UTF-8 text body, with the standard library's `compat32` classes."""
    message = MIMEText(outbound.body_text, "plain", _UTF8_QP)
    message["From"] = _address_header(outbound.mailbox.display_name, outbound.mailbox.address)
    message["To"] = _address_header(outbound.to_name, outbound.to_address)
    message["Subject"] = Header(outbound.subject, "utf-8")
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = f"<{outbound.message_id}>"
    if outbound.in_reply_to:
        message["In-Reply-To"] = f"<{outbound.in_reply_to}>"
        message["References"] = " ".join(f"<{ref}>" for ref in outbound.references.split())
    # RFC 3834: automatic answers must not be answered automatically (no mail loops).
    is_answer = outbound.kind == OutboundEmail.Kind.ACKNOWLEDGEMENT
    message["Auto-Submitted"] = "auto-replied" if is_answer else "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    if outbound.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{outbound.unsubscribe_url}>"
    return message


def _address_header(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


_NOT_IN_PLAIN_ADDRESS = frozenset(' <>()[],;:"\\\r\n')


def _is_plain_address(address: str) -> bool:
    """`local@domain` in ASCII with nothing to quote; anything else (international or
    malformed) takes the full way, which sends or refuses it."""
    local, _at, domain = address.rpartition("@")
    return (
        address.isascii()
        and bool(local)
        and bool(domain)
        and "@" not in local
        and not _NOT_IN_PLAIN_ADDRESS & set(address)
    )


_NOT_IN_LOCAL_PART = set(' <>()[],;:"\\@')


def _mailbox_header(name: str, address: str) -> Address | str:
    """`Name <address>`; a ValueError for an address that is not one."""
    if address.isascii():
        return Address(name, addr_spec=address)
    # Address() refuses a non-ASCII local part (RFC 6531); the SMTPUTF8 policy's header
    # parser takes it as text, so check its shape here.
    local, _at, domain = address.rpartition("@")
    if not local or not domain or "." not in domain or _NOT_IN_LOCAL_PART & set(local + domain):
        raise ValueError(f"not an e-mail address: {address!r}")
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>' if name else f"<{address}>"


def send_due(limit: int = 100) -> int:
    """One worker pass: send what is due; returns how many were attempted. The limit keeps
    pace with the jobs that queue mail (50 a pass): a smaller one let the outbox grow
    under load (bench/README.md, retention)."""
    claimed = _claim_due(limit)
    with RelaySession() as relay:
        for outbound in claimed:
            _attempt(outbound, relay)
    return len(claimed)


def _claim_due(limit: int) -> list[OutboundEmail]:
    pending = OutboundEmail.objects.filter(status=OutboundStatus.PENDING)
    ids = lease_due(pending, limit=limit, lease=timedelta(minutes=5))
    # In the order they were queued (a row's place on PostgreSQL moves with each update).
    return list(OutboundEmail.objects.select_related("mailbox").filter(pk__in=ids).order_by("pk"))


def _attempt(outbound: OutboundEmail, relay: RelaySession) -> None:
    try:
        relay.send(compose(outbound))
    except (ValueError, errors.MessageError) as error:
        # A malformed address or header: trying again would not help, and it must not
        # hold up the rest of the outbox.
        outbound.status = OutboundStatus.FAILED
        outbound.last_error = f"cannot compose the message: {error}"[:2000]
        logger.warning("outgoing mail %s cannot be composed: %s", outbound.pk, error)
    except (OSError, smtplib.SMTPException) as error:
        outbound.last_error = str(error)[:2000]
        if outbound.attempts >= settings.CASEWORK_SMTP_MAX_ATTEMPTS:
            outbound.status = OutboundStatus.FAILED
            logger.warning("outgoing mail %s failed for good: %s", outbound.pk, error)
        else:
            backoff = 60 * 2 ** (outbound.attempts - 1)
            outbound.next_attempt_at = clock.now() + timedelta(seconds=min(backoff, 6 * 3600))
    else:
        outbound.status, outbound.sent_at, outbound.last_error = (
            OutboundStatus.SENT,
            clock.now(),
            "",
        )
    outbound.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])


_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class RelaySession:
    """Where a pass of the outbox sends its mail: one SMTP connection for all of it,
    opened with the first message (a connection per message cost as much as composing
    it). A message the relay refuses leaves the connection usable (smtplib resets the
    transaction); one that breaks it drops it, and the next message opens a new one."""

    def __init__(self) -> None:
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> RelaySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: Message) -> None:
        relay = settings.CASEWORK_SMTP_RELAY
        if relay.startswith("maildir:"):
            box = maildir_module.Maildir(relay.removeprefix("maildir:"), create=True)
            box.add(message.as_bytes())
            return
        if self._client is None:
            self._client = _connect(relay)
        try:
            self._client.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            # A refusal of this message leaves the session usable; anything that closed it
            # (a 421, a dropped connection) means a new one for the next message.
            if not isinstance(error, _REFUSALS) or self._client.sock is None:
                self._drop()
            raise

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None


def _connect(relay: str) -> smtplib.SMTP:
    host, _, port = relay.rpartition(":")
    client = smtplib.SMTP(host or relay, int(port or 25), timeout=30)
    try:
        if settings.CASEWORK_SMTP_STARTTLS:
            client.starttls()
        if settings.CASEWORK_SMTP_USER:
            client.login(settings.CASEWORK_SMTP_USER, settings.CASEWORK_SMTP_PASSWORD)
    except BaseException:
        client.close()
        raise
    return client

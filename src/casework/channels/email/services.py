"""Receiving e-mail: raw bytes from SMTP or IMAP → kept as they arrived → parsed →
through the intake pipeline, all in one transaction.

The caller acknowledges the mail to the sending server (SMTP 250, IMAP \\Seen) only after
`receive_email` returned, i.e. after the commit. What cannot be processed is quarantined:
kept raw with the reason, never dropped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _

from casework.channels.email.models import Mailbox, OutboundEmail, RawEmail, RawEmailStatus
from casework.channels.email.outbound import (
    find_bounced,
    find_thread_case_id,
    mark_bounced,
    queue_acknowledgement,
)
from casework.channels.email.parsing import ParsedEmail, parse_message
from casework.customers.identifiers import InvalidIdentifier, normalise_email
from casework.events.services import recording_transaction
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import ingest
from casework.interactions.files import StoredFile, store_bytes
from casework.kernel import clock
from casework.kernel.errors import DomainError, NotFound

logger = logging.getLogger(__name__)


class UnknownMailbox(NotFound):
    code = "unknown_mailbox"


@dataclass(frozen=True)
class ReceivedEmail:
    raw_email_id: int
    status: str  # RawEmailStatus
    case_reference: str | None
    reason: str = ""


def find_mailbox(address: str) -> Mailbox | None:
    try:
        normalised = normalise_email(address)
    except InvalidIdentifier:
        return None
    return (
        Mailbox.objects.select_related("case_type", "queue")
        .filter(address=normalised, is_active=True)
        .first()
    )


def receive_email(raw: bytes, *, envelope_from: str, recipients: Sequence[str]) -> ReceivedEmail:
    mailbox = next(filter(None, (find_mailbox(address) for address in recipients)), None)
    if mailbox is None:
        raise UnknownMailbox(
            _("none of the recipients is a mailbox here: %(recipients)s")
            % {"recipients": ", ".join(recipients)}
        )
    digest = hashlib.sha256(raw).hexdigest()
    parsed = parse_message(raw, max_attachment_bytes=settings.CASEWORK_MAX_ATTACHMENT_BYTES)
    # Without a Message-ID, the same bytes delivered twice are still recognised.
    external_id = parsed.message_id or f"sha256:{digest}"
    files = _store_attachments(parsed)
    received_at = clock.now()
    raw_row = RawEmail(
        mailbox=mailbox,
        received_at=received_at,
        envelope_from=envelope_from[:320],
        message_id=external_id[:400],
        sha256=digest,
        size_bytes=len(raw),
        content=raw,
    )
    bounced = find_bounced(parsed.bounced_message_id) if parsed.is_bounce else None
    message = _inbound_message(parsed, mailbox, external_id, received_at, files, bounced)
    with recording_transaction():
        try:
            result = ingest(message)
        except DomainError as error:
            return _quarantine(raw_row, error.message)
        except DatabaseError:
            raise  # the database is the problem, not the mail: the sender must retry
        except Exception as error:
            # A mail that trips a bug must not be refused forever: keep it for re-processing.
            logger.exception("e-mail %s quarantined", external_id)
            return _quarantine(raw_row, f"{type(error).__name__}: {error}")
        if result.is_duplicate:
            raw_row.status = RawEmailStatus.DUPLICATE
            raw_row.reason = _("already received as interaction %(id)s") % {
                "id": result.interaction.pk
            }
            if _same_bytes_known(digest):
                raw_row.content = b""  # the identical bytes are kept once already
        else:
            raw_row.status = RawEmailStatus.INGESTED
            if bounced is not None:
                mark_bounced(bounced, interaction_id=result.interaction.pk)
            if _wants_acknowledgement(mailbox, parsed, message, result.is_new_case):
                customer = result.case.customer
                queue_acknowledgement(
                    mailbox=mailbox,
                    case=result.case,
                    to_address=message.sender[0].value,
                    to_name=parsed.sender.name,
                    subject=parsed.subject,
                    in_reply_to=parsed.message_id,
                    language=customer.language if customer else mailbox.language,
                )
        raw_row.interaction = result.interaction
        raw_row.save()
    return ReceivedEmail(raw_row.pk, raw_row.status, result.case.reference, raw_row.reason)


def _wants_acknowledgement(
    mailbox: Mailbox, parsed: ParsedEmail, message: InboundMessage, is_new_case: bool
) -> bool:
    # Never answer automatic mail (out-of-office, bounces): that is how mail loops start.
    return (
        mailbox.acknowledges
        and is_new_case
        and bool(message.sender)
        and not parsed.is_auto_reply
        and not parsed.is_bounce
    )


def _quarantine(raw_row: RawEmail, reason: str) -> ReceivedEmail:
    raw_row.status, raw_row.reason = RawEmailStatus.QUARANTINED, reason
    raw_row.save()
    return ReceivedEmail(raw_row.pk, raw_row.status, None, reason)


def _inbound_message(
    parsed: ParsedEmail,
    mailbox: Mailbox,
    external_id: str,
    received_at: object,
    files: tuple[StoredFile, ...],
    bounced: OutboundEmail | None,
) -> InboundMessage:
    sender: tuple[SenderIdentifier, ...] = ()
    if parsed.is_bounce:
        # A bounce comes from a mail server, not from a customer: it belongs to the case of
        # the mail that bounced, and its sender must not become a customer.
        return _build_message(
            parsed,
            mailbox,
            external_id,
            received_at,
            files,
            sender,
            bounced.case_id if bounced else None,
        )
    if parsed.sender.address:
        try:
            sender = (SenderIdentifier("email", normalise_email(parsed.sender.address)),)
        except InvalidIdentifier:
            sender = ()  # an unusable From: the case opens without a customer
    thread_case_id = (
        find_thread_case_id([*parsed.in_reply_to, *parsed.references], sender[0].value)
        if sender
        else None
    )
    return _build_message(parsed, mailbox, external_id, received_at, files, sender, thread_case_id)


def _build_message(
    parsed: ParsedEmail,
    mailbox: Mailbox,
    external_id: str,
    received_at: object,
    files: tuple[StoredFile, ...],
    sender: tuple[SenderIdentifier, ...],
    case_id: int | None,
) -> InboundMessage:
    return InboundMessage(
        channel="email",
        external_id=external_id,
        received_at=received_at,  # type: ignore[arg-type]
        sender=sender,
        sender_name=parsed.sender.name,
        subject=parsed.subject,
        text=parsed.text or parsed.full_text,
        payload={
            "mailbox": mailbox.address,
            "message_id": parsed.message_id,
            "in_reply_to": list(parsed.in_reply_to),
            "references": list(parsed.references),
            "from": parsed.sender.address,
            "to": [address.address for address in parsed.to],
            "cc": [address.address for address in parsed.cc],
            "date": parsed.date.isoformat() if parsed.date else None,
            "quoted_text": parsed.quoted_text,
            "signature": parsed.signature,
            "html": parsed.html,
            "is_auto_reply": parsed.is_auto_reply,
            "is_bounce": parsed.is_bounce,
            "bounced_message_id": parsed.bounced_message_id,
            "defects": list(parsed.defects),
        },
        case_id=case_id,
        case_type=mailbox.case_type.code,
        queue=mailbox.queue.code if mailbox.queue else None,
        attachments=files,
    )


def _store_attachments(parsed: ParsedEmail) -> tuple[StoredFile, ...]:
    files = []
    for attachment in parsed.attachments:
        if not attachment.is_oversized:
            store_bytes(attachment.content, sha256=attachment.sha256)
        files.append(
            StoredFile(
                filename=attachment.filename,
                content_type=attachment.content_type,
                size_bytes=attachment.size_bytes,
                sha256=attachment.sha256,
                is_stored=not attachment.is_oversized,
            )
        )
    return tuple(files)


def _same_bytes_known(digest: str) -> bool:
    return RawEmail.objects.filter(sha256=digest).exclude(content=b"").exists()

"""Receiving e-mail: raw bytes from SMTP or IMAP → kept as they arrived → parsed →
through the intake pipeline, all in one transaction.

The caller acknowledges the mail to the sending server (SMTP 250, IMAP \\Seen) only after
`receive_email` (or `receive_batch`) returned, i.e. after the commit. What cannot be
processed is quarantined: kept raw with the reason, never dropped.

Two steps, so that the SMTP server can do the first outside its database thread:
`prepare_email` parses and stores attachments (no database), `store_email` does the
database work inside the caller's transaction (docs/adr/0006-smtp-group-commit.md)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _

from casework.cases.models import Case
from casework.cases.process import notifies_on_opening
from casework.channels.email.models import Mailbox, OutboundEmail, RawEmail, RawEmailStatus
from casework.channels.email.outbound import (
    find_bounced,
    find_thread_case_id,
    mark_bounced,
    queue_acknowledgement,
)
from casework.channels.email.parsing import ParsedEmail, parse_message
from casework.channels.email.threads import find_subject_case_id, normalise_subject
from casework.customers.identifiers import InvalidIdentifier, normalise_email
from casework.customers.models import Customer
from casework.events.services import recording_transaction
from casework.intake.messages import InboundMessage, SenderIdentifier, find_case_reference
from casework.intake.services import IntakeResult, ingest, ingest_batch
from casework.interactions.files import StoredFile, store_bytes
from casework.kernel import clock, sql
from casework.kernel.errors import DomainError, NotFound

logger = logging.getLogger(__name__)

# Mail without a (real) Message-ID is recognised by its content within this window: a
# sending server that retries, or a relay that delivers twice, does not open a second case;
# the same text sent again days later is a new message.
DUPLICATE_WINDOW_HOURS = 24


class UnknownMailbox(NotFound):
    code = "unknown_mailbox"


@dataclass(frozen=True)
class ReceivedEmail:
    raw_email_id: int
    status: str  # RawEmailStatus
    case_reference: str | None
    reason: str = ""


@dataclass(frozen=True)
class PreparedEmail:
    """A mail parsed and its attachments stored, ready for `store_email`."""

    mailbox: Mailbox
    raw: bytes
    envelope_from: str
    digest: str  # SHA-256 of the raw bytes
    parsed: ParsedEmail
    files: tuple[StoredFile, ...]
    received_at: datetime
    # "sha256:<hash of what the author wrote>" when the mail has no usable Message-ID.
    content_key: str | None


def find_mailbox(address: str) -> Mailbox | None:
    try:
        normalised = normalise_email(address)
    except InvalidIdentifier:
        return None
    return (
        Mailbox.objects.select_related("case_type", "queue", "identify_queue")
        .filter(address=normalised, is_active=True)
        .first()
    )


class MailboxCache:
    """Mailboxes by address for a few seconds, for a server that asks for every recipient:
    a change in the admin takes effect after at most `ttl_seconds`."""

    def __init__(self, ttl_seconds: float = 10.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._found: dict[str, tuple[float, Mailbox | None]] = {}

    def peek(self, address: str) -> tuple[bool, Mailbox | None]:
        """(known, mailbox) without the database; known is False when it must be asked."""
        entry = self._found.get(address.lower())
        if entry is None or time.monotonic() - entry[0] > self.ttl_seconds:
            return False, None
        return True, entry[1]

    def find(self, address: str) -> Mailbox | None:
        known, mailbox = self.peek(address)
        if not known:
            mailbox = find_mailbox(address)
            self._found[address.lower()] = (time.monotonic(), mailbox)
        return mailbox


def receive_email(
    raw: bytes,
    *,
    envelope_from: str,
    recipients: Sequence[str] = (),
    mailbox: Mailbox | None = None,
) -> ReceivedEmail:
    """Receive one mail in a transaction of its own. `mailbox` when the caller already
    knows it (IMAP, the SMTP server's RCPT), otherwise the first recipient that is one."""
    if mailbox is None:
        mailbox = next(filter(None, (find_mailbox(address) for address in recipients)), None)
    if mailbox is None:
        raise UnknownMailbox(
            _("none of the recipients is a mailbox here: %(recipients)s")
            % {"recipients": ", ".join(recipients)}
        )
    prepared = prepare_email(raw, envelope_from=envelope_from, mailbox=mailbox)
    with recording_transaction():
        return store_email(prepared)


def receive_batch(batch: Sequence[PreparedEmail]) -> list[ReceivedEmail | Exception]:
    """Many mails in one transaction: a mail the database refuses gets its exception in
    the list (its sender must retry) and the others commit. If the commit itself fails,
    this raises and none of them is stored."""
    with recording_transaction():
        if len(batch) > 1:
            try:
                # Usually every mail goes through: one savepoint for all of them instead
                # of one each (two statements, on PostgreSQL two round trips, per mail),
                # and the intake's batch for runs of mails that cannot concern each other.
                with recording_transaction():
                    return _store_together(batch)  # type: ignore[return-value]
            except Exception:  # noqa: BLE001, S110 - found again below, mail by mail
                pass
        results: list[ReceivedEmail | Exception] = []
        for prepared in batch:
            try:
                results.append(store_email(prepared))
            except Exception as error:  # noqa: BLE001 - handed to this mail's sender as 451
                logger.warning("mail from %s not stored: %r", prepared.envelope_from, error)
                results.append(error)
        return results


def _store_together(batch: Sequence[PreparedEmail]) -> list[ReceivedEmail]:
    """The mails of a batch as `_store` would store them one after another. Mails are
    ingested together (`ingest_batch`) in runs whose threading look-ups cannot depend on
    each other: a run ends before a second mail of the same sender or with the same
    subject, and a mail without a Message-ID (found by its content) is stored alone."""
    results: list[ReceivedEmail] = []
    run: list[_Arrived] = []
    seen: set[str] = set()

    def store_run() -> None:
        outcomes = ingest_batch([arrived.message for arrived in run])
        results.extend(
            _finish(arrived, outcome) for arrived, outcome in zip(run, outcomes, strict=True)
        )
        run.clear()
        seen.clear()

    for prepared in batch:
        if prepared.content_key is not None:
            if run:
                store_run()
            results.append(_store(prepared))
            continue
        marks = {
            f"from:{prepared.parsed.sender.address.lower()}",
            f"subject:{normalise_subject(prepared.parsed.subject)}",
        }
        if marks & seen:
            store_run()
        seen.update(marks)
        run.append(_arrive(prepared))
    if run:
        store_run()
    return results


def prepare_email(raw: bytes, *, envelope_from: str, mailbox: Mailbox) -> PreparedEmail:
    """Parse and store the attachments (the file store is content-addressed: a rollback
    leaves at most an unreferenced file). No database."""
    parsed = parse_message(raw, max_attachment_bytes=settings.CASEWORK_MAX_ATTACHMENT_BYTES)
    has_real_id = _is_real_message_id(parsed.message_id)
    return PreparedEmail(
        mailbox=mailbox,
        raw=raw,
        envelope_from=envelope_from[:320],
        digest=hashlib.sha256(raw).hexdigest(),
        parsed=parsed,
        files=_store_attachments(parsed),
        received_at=clock.now(),
        content_key=None if has_real_id else f"sha256:{content_hash(raw)}",
    )


def store_email(prepared: PreparedEmail) -> ReceivedEmail:
    """The database part of receiving: the raw mail, the intake, the acknowledgement.
    Runs in a savepoint of the caller's transaction; raises DatabaseError when the database
    is the problem (the sender must retry), quarantines when the mail is."""
    with recording_transaction():
        return _store(prepared)


def _store(prepared: PreparedEmail) -> ReceivedEmail:
    if prepared.content_key is not None:
        earlier = _earlier_with_content(prepared.content_key, prepared.received_at)
        if earlier is not None and _within_duplicate_window(earlier, prepared.received_at):
            return _content_duplicate(_raw_row(prepared), prepared, earlier)
        arrived = _arrive(prepared, after=earlier)
    else:
        arrived = _arrive(prepared)
    try:
        outcome: IntakeResult | DomainError = ingest(arrived.message)
    except DomainError as error:
        outcome = error
    except DatabaseError:
        raise  # the database is the problem, not the mail: the sender must retry
    except Exception as error:
        # A mail that trips a bug must not be refused forever: keep it for re-processing.
        logger.exception("e-mail %s quarantined", arrived.message.external_id)
        return _quarantine(arrived.raw_row, f"{type(error).__name__}: {error}")
    return _finish(arrived, outcome)


@dataclass
class _Arrived:
    """A mail ready for the intake: its raw row (not yet written) and its message."""

    prepared: PreparedEmail
    raw_row: RawEmail
    message: InboundMessage
    bounced: OutboundEmail | None


def _raw_row(prepared: PreparedEmail) -> RawEmail:
    return RawEmail(
        mailbox=prepared.mailbox,
        received_at=prepared.received_at,
        envelope_from=prepared.envelope_from,
        sha256=prepared.digest,
        size_bytes=len(prepared.raw),
        content=prepared.raw,
    )


def _arrive(prepared: PreparedEmail, *, after: RawEmail | None = None) -> _Arrived:
    """The mail's identity, the mail it bounces and the intake's message; `after` is an
    earlier mail of the same content, outside the duplicate window."""
    parsed = prepared.parsed
    raw_row = _raw_row(prepared)
    external_id = parsed.message_id
    if prepared.content_key is not None:
        external_id = prepared.content_key
        if after is not None:
            # The same content again after the window: a message of its own.
            external_id += f":{prepared.received_at:%Y%m%dT%H%M%S%f}"
    raw_row.message_id = external_id[:400]
    bounced = find_bounced(parsed.bounced_message_id) if parsed.is_bounce else None
    return _Arrived(prepared, raw_row, _inbound_message(prepared, external_id, bounced), bounced)


def _finish(arrived: _Arrived, outcome: IntakeResult | DomainError) -> ReceivedEmail:
    """After the intake: the raw row written with the outcome, bounce and acknowledgement."""
    prepared, raw_row, message = arrived.prepared, arrived.raw_row, arrived.message
    parsed, mailbox = prepared.parsed, prepared.mailbox
    if isinstance(outcome, DomainError):
        return _quarantine(raw_row, outcome.message)
    result = outcome
    if result.is_duplicate:
        raw_row.status = RawEmailStatus.DUPLICATE
        raw_row.reason = _("already received as interaction %(id)s") % {"id": result.interaction.pk}
        if _same_bytes_known(prepared.digest):
            raw_row.content = b""  # the identical bytes are kept once already
    else:
        raw_row.status = RawEmailStatus.INGESTED
        if arrived.bounced is not None:
            mark_bounced(arrived.bounced, interaction_id=result.interaction.pk)
        # A case whose process informs the customer of its opening needs no second mail.
        if _wants_acknowledgement(
            mailbox, parsed, message, result.is_new_case
        ) and not notifies_on_opening(result.case):
            queue_acknowledgement(
                mailbox=mailbox,
                case=result.case,
                to_address=message.sender[0].value,
                to_name=parsed.sender.name,
                subject=parsed.subject,
                in_reply_to=parsed.message_id,
                language=_language_of(result.case) or mailbox.language,
            )
    raw_row.interaction = result.interaction
    sql.insert(raw_row)  # one row per mail: the lean insert saves the ORM's query building
    return ReceivedEmail(raw_row.pk, raw_row.status, result.case.reference, raw_row.reason)


def _language_of(case: Case) -> str | None:
    """The customer's language, without loading the whole customer (once per new case)."""
    if case.customer_id is None:
        return None
    if Case.customer.is_cached(case):
        return case.customer.language
    row = sql.fetch_one(_CUSTOMER_LANGUAGE, [case.customer_id])
    return row[0] if row else None


_CUSTOMER_LANGUAGE = f"SELECT language FROM {Customer._meta.db_table} WHERE id = %s"


def _is_real_message_id(message_id: str) -> bool:
    """A Message-ID worth trusting as the mail's identity: `left@right`. Anything else
    (missing, a bare token some software makes up) leaves identity to the content."""
    left, at, right = message_id.partition("@")
    return bool(at and left.strip() and right.strip())


# Headers the author's program wrote; trace headers (Received, Return-Path, Delivered-To,
# X-…) differ between two deliveries of the same mail and are left out.
_AUTHOR_HEADERS = frozenset(
    {b"from", b"sender", b"to", b"cc", b"subject", b"date", b"reply-to", b"in-reply-to"}
    | {b"references", b"mime-version", b"content-type", b"content-transfer-encoding"}
)
_LINE_END = re.compile(rb"\r?\n")


def content_hash(raw: bytes) -> str:
    """SHA-256 over the author's headers (unfolded, whitespace-normalised, in order) and
    the body (line endings normalised): equal for two deliveries of one mail."""
    lines = _LINE_END.split(raw)
    try:
        blank = lines.index(b"")
    except ValueError:
        blank = len(lines)
    headers: list[bytes] = []
    for line in lines[:blank]:
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1] += b" " + line.strip()
        else:
            headers.append(line.strip())
    digest = hashlib.sha256()
    for header in headers:
        name, _colon, value = header.partition(b":")
        if name.strip().lower() in _AUTHOR_HEADERS:
            digest.update(name.strip().lower() + b":" + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    digest.update(b"\n".join(lines[blank + 1 :]).rstrip())
    return digest.hexdigest()


def _earlier_with_content(content_key: str, received_at: datetime) -> RawEmail | None:
    return (
        RawEmail.objects.filter(
            message_id__startswith=content_key,
            status=RawEmailStatus.INGESTED,
            received_at__lte=received_at,
        )
        .select_related("interaction__case")
        .order_by("-received_at", "-pk")
        .first()
    )


def _within_duplicate_window(earlier: RawEmail, received_at: datetime) -> bool:
    hours = getattr(settings, "CASEWORK_EMAIL_DUPLICATE_WINDOW_HOURS", DUPLICATE_WINDOW_HOURS)
    return received_at - earlier.received_at <= timedelta(hours=hours)


def _content_duplicate(
    raw_row: RawEmail, prepared: PreparedEmail, earlier: RawEmail
) -> ReceivedEmail:
    """Kept raw, marked duplicate, linked to the first delivery's interaction; nothing else
    changes."""
    raw_row.message_id = earlier.message_id
    raw_row.status = RawEmailStatus.DUPLICATE
    raw_row.reason = _(
        "the same mail without Message-ID arrived before (received e-mail %(id)s)"
    ) % {"id": earlier.pk}
    raw_row.interaction = earlier.interaction
    if _same_bytes_known(prepared.digest):
        raw_row.content = b""
    raw_row.save()
    case = earlier.interaction.case if earlier.interaction else None
    return ReceivedEmail(
        raw_row.pk, raw_row.status, case.reference if case else None, raw_row.reason
    )


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
    prepared: PreparedEmail, external_id: str, bounced: OutboundEmail | None
) -> InboundMessage:
    parsed, mailbox = prepared.parsed, prepared.mailbox
    sender: tuple[SenderIdentifier, ...] = ()
    if parsed.is_bounce:
        # A bounce comes from a mail server, not from a customer: it belongs to the case of
        # the mail that bounced, and its sender must not become a customer.
        return _build_message(prepared, external_id, sender, bounced.case_id if bounced else None)
    if parsed.sender.address:
        try:
            sender = (SenderIdentifier("email", normalise_email(parsed.sender.address)),)
        except InvalidIdentifier:
            sender = ()  # an unusable From: the case opens without a customer
    message = _build_message(prepared, external_id, sender, None)
    if not sender:
        return message
    # Which case this continues, most certain first: a reply to one of our mails; a case
    # reference in subject or text (the intake finds it); the same subject from the same
    # customer recently.
    case_id = find_thread_case_id([*parsed.in_reply_to, *parsed.references], sender[0].value)
    if case_id is None and mailbox.thread_by_subject_days and find_case_reference(message) is None:
        since = prepared.received_at - timedelta(days=mailbox.thread_by_subject_days)
        case_id = find_subject_case_id(sender[0].value, parsed.subject, since=since)
    return message if case_id is None else replace(message, case_id=case_id)


def _build_message(
    prepared: PreparedEmail,
    external_id: str,
    sender: tuple[SenderIdentifier, ...],
    case_id: int | None,
) -> InboundMessage:
    parsed, mailbox = prepared.parsed, prepared.mailbox
    return InboundMessage(
        channel="email",
        external_id=external_id,
        received_at=prepared.received_at,
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
        attachments=prepared.files,
        unknown_sender_queue=mailbox.identify_queue.code if mailbox.identify_queue else None,
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

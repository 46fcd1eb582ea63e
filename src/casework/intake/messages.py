"""The one shape every channel adapter produces (no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework.interactions.files import StoredFile

CASE_REFERENCE = re.compile(r"\bCW-(\d{4})-(\d{6})\b", re.IGNORECASE)


@dataclass(frozen=True)
class SenderIdentifier:
    kind: str  # email, phone, customer_number, portal_account
    value: str


@dataclass(frozen=True)
class InboundMessage:
    """A customer contact as a channel adapter hands it to the intake pipeline.

    `external_id` is the channel's own id (Message-ID, call id, form submission id); the
    pipeline ingests each (channel, external_id) once. `case_id` or a case reference in the
    subject or text continues an existing case."""

    channel: str
    external_id: str
    received_at: datetime
    sender: tuple[SenderIdentifier, ...] = ()
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    customer_id: int | None = None
    case_id: int | None = None
    case_type: str | None = None
    # The queue for a new case, when the channel knows better than the case type's default
    # (a mailbox of a department).
    queue: str | None = None
    # Files already in the file store (`interactions.files.store_bytes`).
    attachments: tuple[StoredFile, ...] = ()
    # When set, a sender who cannot be identified gets no provisional customer: the new
    # case waits in this queue until an agent links it to the right customer.
    unknown_sender_queue: str | None = None


def find_case_reference(message: InboundMessage) -> str | None:
    for text in (message.subject, message.text):
        match = CASE_REFERENCE.search(text or "")
        if match:
            return f"CW-{match.group(1)}-{match.group(2)}"
    return None


def split_name(full_name: str) -> tuple[str, str]:
    """'Helmut Berger' → ('Helmut', 'Berger'); 'Berger, Helmut' → ('Helmut', 'Berger')."""
    name = " ".join(full_name.replace('"', "").split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return first, last


def message_to_json(message: InboundMessage) -> dict[str, Any]:
    """The message as JSON-ready data, for keeping it until it is ingested (queued intake).
    `message_from_json` gives the same message back."""
    return {
        "channel": message.channel,
        "external_id": message.external_id,
        "received_at": message.received_at.isoformat(),
        "sender": [[sender.kind, sender.value] for sender in message.sender],
        "sender_name": message.sender_name,
        "subject": message.subject,
        "text": message.text,
        "payload": message.payload,
        "customer_id": message.customer_id,
        "case_id": message.case_id,
        "case_type": message.case_type,
        "queue": message.queue,
        "attachments": [
            [a.filename, a.content_type, a.size_bytes, a.sha256, a.is_stored]
            for a in message.attachments
        ],
        "unknown_sender_queue": message.unknown_sender_queue,
    }


def message_from_json(data: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        channel=data["channel"],
        external_id=data["external_id"],
        received_at=datetime.fromisoformat(data["received_at"]),
        sender=tuple(SenderIdentifier(kind, value) for kind, value in data.get("sender", ())),
        sender_name=data.get("sender_name", ""),
        subject=data.get("subject", ""),
        text=data.get("text", ""),
        payload=data.get("payload") or {},
        customer_id=data.get("customer_id"),
        case_id=data.get("case_id"),
        case_type=data.get("case_type"),
        queue=data.get("queue"),
        attachments=tuple(StoredFile(*values) for values in data.get("attachments", ())),
        unknown_sender_queue=data.get("unknown_sender_queue"),
    )

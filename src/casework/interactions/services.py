"""Recording interactions. Called by the intake pipeline, the case services (notes,
replies) and the import; never by channel adapters directly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from casework.events.services import record
from casework.interactions.files import StoredFile
from casework.interactions.models import Attachment, Interaction
from casework.kernel import sql
from casework.kernel.actors import Actor


@dataclass
class NewInteraction:
    channel: str
    direction: str
    occurred_at: datetime
    customer_id: int | None = None
    case_id: int | None = None
    agent_id: int | None = None
    sender: str = ""
    subject: str = ""
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    attachments: Sequence[StoredFile] = ()


def record_interaction(data: NewInteraction, *, actor: Actor) -> Interaction:
    """Must run inside the caller's transaction (the case change it belongs to)."""
    return record_interactions([data], actor=actor)[0]


def record_interactions(
    datas: Sequence[NewInteraction], *, actor: Actor | Sequence[Actor]
) -> list[Interaction]:
    """`record_interaction()` for several at once: one INSERT for the interactions and one
    for all their attachments (a batch of the intake). `actor`: one for all, or each
    interaction's own (a batch of many customers' answers)."""
    actors = [actor] * len(datas) if isinstance(actor, Actor) else list(actor)
    if not connection.in_atomic_block:
        raise RuntimeError("record_interaction() must run inside the transaction of its change")
    interactions = [
        sql.new_row(
            Interaction,
            customer_id=data.customer_id,
            case_id=data.case_id,
            channel=data.channel,
            direction=data.direction,
            occurred_at=data.occurred_at,
            agent_id=data.agent_id,
            sender=data.sender[:400],
            subject=data.subject[:400],
            text=data.text,
            payload=data.payload,
            external_id=data.external_id,
        )
        for data in datas
    ]
    sql.insert_returning(interactions)
    sql.insert_many(
        [
            Attachment(
                interaction_id=interaction.pk,
                filename=attachment.filename[:255],
                content_type=attachment.content_type[:255],
                size_bytes=attachment.size_bytes,
                sha256=attachment.sha256,
                is_stored=attachment.is_stored,
            )
            for interaction, data in zip(interactions, datas, strict=True)
            for attachment in data.attachments
        ]
    )
    for interaction, data, by in zip(interactions, datas, actors, strict=True):
        record(
            "interaction.recorded",
            actor=by,
            object_type="interaction",
            object_id=interaction.pk,
            payload={
                "channel": data.channel,
                "direction": data.direction,
                "customer_id": data.customer_id,
                "case_id": data.case_id,
                "external_id": data.external_id,
                # When the contact happened (a mail's arrival, a call's start), which may be
                # before it was recorded: the figures count it then.
                "occurred_at": data.occurred_at,
            },
        )
    return interactions


def move_interactions(
    interaction_ids: Sequence[int], *, case_id: int, customer_id: int | None
) -> None:
    """Contacts change case (merge, split) or learn their customer (identification). The
    caller records what it did; in the caller's transaction."""
    if interaction_ids:
        Interaction.objects.filter(pk__in=interaction_ids).update(
            case_id=case_id, customer_id=customer_id
        )


_BY_EXTERNAL_ID = (
    "SELECT {columns} FROM "
    + Interaction._meta.db_table
    + " t WHERE t.channel = %s AND t.external_id = %s"
)


def find_by_external_id(channel: str, external_id: str) -> Interaction | None:
    # Asked once per inbound message, and almost always answered "no": keep it lean.
    found = sql.select(Interaction, _BY_EXTERNAL_ID, [channel, external_id])
    return found[0] if found else None

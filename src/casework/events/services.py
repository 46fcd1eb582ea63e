"""Appending to the event log.

`record()` must run inside the caller's transaction: the change and its event commit
together or not at all. The log itself is the outbox: the worker fans new events out to
webhook subscriptions by sequence number (see `webhooks.fan_out`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils.translation import gettext as _

from casework.events.chain import GENESIS_HASH, ChainEntry, entry_hash, find_first_break
from casework.events.models import ChainHead, Event, WebhookSubscription
from casework.events.types import EVENT_TYPES, UnknownEventCode
from casework.kernel import clock, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput


def record(
    code: str,
    *,
    actor: Actor,
    object_type: str,
    object_id: int,
    payload: Mapping[str, Any] | None = None,
) -> Event:
    if code not in EVENT_TYPES:
        raise UnknownEventCode(code)
    if not connection.in_atomic_block:
        raise RuntimeError("record() must run inside the transaction of the change it records")
    # Round-trip through JSON now, so the hash covers exactly what the database returns later.
    clean_payload = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    head = _lock_chain_head()
    entry = ChainEntry(
        seq=head.last_seq + 1,
        occurred_at=clock.now(),
        code=code,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label,
        object_type=object_type,
        object_id=object_id,
        payload=clean_payload,
        prev_hash=head.last_hash,
    )
    digest = entry_hash(entry)
    event = sql.insert(
        Event(
            seq=entry.seq,
            occurred_at=entry.occurred_at,
            code=code,
            actor_kind=entry.actor_kind,
            actor_id=entry.actor_id,
            actor_label=entry.actor_label,
            object_type=object_type,
            object_id=object_id,
            payload=clean_payload,
            prev_hash=entry.prev_hash,
            hash=digest,
        )
    )
    sql.execute(_MOVE_HEAD, [entry.seq, digest])
    return event


_HEAD_TABLE = ChainHead._meta.db_table
_MOVE_HEAD = f"UPDATE {_HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1"


@contextmanager
def recording_transaction() -> Iterator[None]:
    """The transaction of a change that records events (usable as a decorator too).

    It locks the chain head before anything else, so every writer takes its locks in the
    same order — chain head, then rows and sequence counters — and two writers cannot
    deadlock. Writers are serialised by the chain anyway (docs/adr/0001)."""
    with transaction.atomic():
        if connection.features.has_select_for_update:
            sql.fetch_one(_LOCK_HEAD, [])
        yield


_LOCK_HEAD = f"SELECT 1 FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE"


def _lock_chain_head() -> ChainHead:
    # SQLite has no FOR UPDATE; its IMMEDIATE transactions already serialise writers.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    row = sql.fetch_one(f"SELECT last_seq, last_hash FROM {_HEAD_TABLE} WHERE id = 1{lock}", [])
    if row is None:
        # First event ever: create the head. A concurrent first writer fails on the primary
        # key and its transaction is retried by the caller like any other conflict.
        return ChainHead.objects.create(pk=1, last_seq=0, last_hash=GENESIS_HASH)
    return ChainHead(pk=1, last_seq=row[0], last_hash=row[1])


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_broken_seq: int | None
    reason: str = ""

    @property
    def is_intact(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(*, batch_size: int = 5000) -> VerifyResult:
    """Recompute every hash in sequence order; name the first entry that does not fit."""
    checked = 0
    prev_hash, next_seq = GENESIS_HASH, 1
    while True:
        rows = list(Event.objects.filter(seq__gte=next_seq).order_by("seq")[:batch_size])
        if not rows:
            break
        entries = [_to_entry(row) for row in rows]
        broken = find_first_break(entries, start_hash=prev_hash, start_seq=next_seq)
        if broken is not None:
            return VerifyResult(checked + broken.seq - next_seq, broken.seq, broken.reason)
        checked += len(entries)
        prev_hash, next_seq = entries[-1].hash, entries[-1].seq + 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_seq != next_seq - 1:
        return VerifyResult(checked, next_seq, f"entries after {next_seq - 1} are missing")
    return VerifyResult(checked, None)


def _to_entry(row: Event) -> ChainEntry:
    return ChainEntry(
        seq=row.seq,
        occurred_at=row.occurred_at,
        code=row.code,
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        object_type=row.object_type,
        object_id=row.object_id,
        payload=row.payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@recording_transaction()
def subscribe_webhook(
    *, url: str, secret: str, event_codes: list[str], actor: Actor, description: str = ""
) -> WebhookSubscription:
    unknown = [code for code in event_codes if code != "*" and code not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            _("unknown event codes: %(codes)s") % {"codes": ", ".join(unknown)}, codes=unknown
        )
    # Events from now on: the head is locked, so no event can slip in between.
    head = _lock_chain_head()
    subscription = WebhookSubscription.objects.create(
        url=url,
        secret=secret,
        event_codes=event_codes,
        description=description,
        starts_after_seq=head.last_seq,
    )
    record(
        "webhook.subscribed",
        actor=actor,
        object_type="webhook_subscription",
        object_id=subscription.pk,
        payload={"url": url, "event_codes": event_codes},
    )
    return subscription

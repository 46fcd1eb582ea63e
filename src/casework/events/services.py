"""Appending to the event log.

`record()` runs inside the change's `recording_transaction()`: the change and its events
commit together or not at all. The log itself is the outbox: the worker fans new events out to
webhook subscriptions by sequence number (see `webhooks.fan_out`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils.translation import gettext as _

from casework.events.chain import (
    GENESIS_HASH,
    ChainEntry,
    canonical_json,
    entry_hash_with,
    find_first_break,
)
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
    occurred_at: datetime | None = None,
) -> None:
    """Note an event of the current change. It is chained and written when the outermost
    `recording_transaction()` block ends, in the same database transaction as the change;
    if the change's block fails, its events are dropped with it. `occurred_at` is now
    unless the change happened earlier (a writer that writes behind, as the router's
    engine)."""
    if code not in EVENT_TYPES:
        raise UnknownEventCode(code)
    _current_frame().events.append(
        _Pending(
            occurred_at=occurred_at or clock.now(),
            code=code,
            actor=actor,
            object_type=object_type,
            object_id=object_id,
            payload=_as_stored(payload or {}),
        )
    )


@dataclass(frozen=True, slots=True)
class Occurred:
    """An event as a writer that records it later notes it (see `record_all`)."""

    code: str
    actor: Actor
    object_type: str
    object_id: int
    payload: Mapping[str, Any]
    at: datetime

    def __reduce__(self) -> tuple[type[Occurred], tuple[Any, ...]]:
        # Pickled as its constructor's arguments: a writer process receives many thousands
        # at a time, and dataclasses' own unpickling looks up the fields for each one.
        return Occurred, (self.code, self.actor, self.object_type, self.object_id, self.payload,
                          self.at)  # fmt: skip


def record_all(events: Sequence[Occurred]) -> None:
    """`record()` for many events that happened earlier, in their order (a single writer
    writing behind, as the router's engine)."""
    unknown = {event.code for event in events} - EVENT_TYPES.keys()
    if unknown:
        raise UnknownEventCode(sorted(unknown)[0])
    _current_frame().events.extend(
        _Pending(e.at, e.code, e.actor, e.object_type, e.object_id, _as_stored(e.payload))
        for e in events
    )


def _current_frame() -> _Frame:
    # The connection looked up once: each look-up through `connection` asks asgiref's
    # Local, and record() runs several times per change.
    db = connections[DEFAULT_DB_ALIAS]
    frames = _frames(db)
    if not frames:
        raise RuntimeError("record() must run inside recording_transaction()")
    if len(db.atomic_blocks) != frames[-1].atomic_depth:
        # A plain atomic block could roll back without the frame knowing: its events would
        # outlive the change they describe.
        raise RuntimeError(
            "record() inside a nested transaction.atomic(): use "
            "recording_transaction() for blocks that record events"
        )
    return frames[-1]


def _as_stored(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the database will return it, so the hash covers exactly that: a
    copy, where values JSON would change (dates, decimals, tuples) went through a JSON
    round trip."""
    copied = _plain_copy(payload)
    if copied is None:
        copied = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return copied


_PLAIN_SCALARS = (str, int, float, bool, type(None))
# Values the encoder writes as a string, which JSON then gives back: that string is stored.
_AS_TEXT = (datetime, date, time, timedelta, Decimal, UUID)
_ENCODER = DjangoJSONEncoder()


def _plain_copy(value: Any) -> Any:
    """A copy of a dict or list of strings, numbers, booleans and None (JSON gives these
    back unchanged) and times, dates, decimals and UUIDs (as the text JSON gives back for
    them), or None if anything else is inside. Faster than a round trip."""
    if type(value) is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                return None
            if type(item) in _PLAIN_SCALARS:
                copied[key] = item
            else:
                item = _plain_item(item)
                if item is None:
                    return None
                copied[key] = item
        return copied
    if type(value) is list:
        items = []
        for item in value:
            if type(item) not in _PLAIN_SCALARS:
                item = _plain_item(item)
                if item is None:
                    return None
            items.append(item)
        return items
    return None


def _plain_item(item: Any) -> Any:
    if type(item) in _AS_TEXT:
        return _ENCODER.default(item)
    return _plain_copy(item)


@dataclass(frozen=True)
class _Pending:
    occurred_at: datetime
    code: str
    actor: Actor
    object_type: str
    object_id: int
    payload: dict[str, Any]


@dataclass
class _Frame:
    atomic_depth: int
    events: list[_Pending] = field(default_factory=list)
    # (last_seq, last_hash), when the outermost block read the head while locking it.
    head: tuple[int, str] | None = None
    head_last: bool = False
    # Work that must follow the chain head's lock (`when_appending`), in order.
    deferred: list[Callable[[], None]] = field(default_factory=list)


def _frames(db: Any = connection) -> list[_Frame]:
    """The open recording blocks of this thread's connection (`db`), outermost first."""
    frames = getattr(db, "_casework_event_frames", None)
    if frames is None:
        frames = []
        db._casework_event_frames = frames
    return frames


@contextmanager
def recording_transaction(*, head_last: bool = False) -> Iterator[None]:
    """The transaction of a change that records events (usable as a decorator too).

    The outermost block locks the chain head before anything else, so every writer takes
    its locks in the same order — chain head, then rows and sequence counters — and two
    writers cannot deadlock; writers are serialised by the chain anyway (docs/adr/0001).
    Events recorded inside are appended to the chain together when the outermost block
    ends: one read of the head, one insert, one head update per change.

    `head_last`: the outermost block takes the head only when it appends its events (or
    before the work handed to `when_appending()`). For a batch that locks the rows it
    changes itself, in a fixed order, and holds no counter row: two such batches then run
    side by side instead of one waiting for the other's whole transaction (ADR 18). A
    writer holding the head that then waits for a row such a batch holds is a deadlock
    the database ends by failing one of the two; the batch is retried."""
    nested_without_savepoint = _savepoints_left_out.get() and connection.in_atomic_block
    with transaction.atomic(savepoint=not nested_without_savepoint):
        frames = _frames()
        frame = _Frame(atomic_depth=len(connection.atomic_blocks), head_last=head_last)
        if not frames and not head_last:
            frame.head = _lock_head()
        frames.append(frame)
        try:
            yield
            if len(frames) == 1 and frame.deferred:
                frame.head = frame.head or _lock_head()
                for work in frame.deferred:
                    work()  # may record events of its own, appended with the others
        except BaseException:
            frames.pop()  # the block rolls back, and its events and deferred work with it
            raise
        frames.pop()
        if frames:
            frames[-1].events.extend(frame.events)
            frames[-1].deferred.extend(frame.deferred)
        elif frame.events:
            _append_to_chain(frame.events, frame.head or _lock_head())


_savepoints_left_out: ContextVar[bool] = ContextVar("casework_savepoints_left_out", default=False)


@contextmanager
def savepoints_left_out() -> Iterator[None]:
    """Within the block, recording blocks nested in a transaction take no savepoint of
    their own: two statements fewer each. Nothing can then be rolled back halfway, so a
    failure anywhere inside fails the whole block, which must be a transaction or a
    savepoint itself; its caller runs the work again the careful way (as
    `retention.responses.receive_batch` does with a chunk that failed). Code that catches
    a failure to carry on asks `leaving_out_savepoints()` and lets it through instead."""
    if not connection.in_atomic_block:
        raise RuntimeError("savepoints_left_out() needs a transaction or savepoint to fail")
    token = _savepoints_left_out.set(True)
    try:
        yield
    finally:
        _savepoints_left_out.reset(token)


def leaving_out_savepoints() -> bool:
    """Whether nested recording blocks take no savepoint here (`savepoints_left_out`)."""
    return _savepoints_left_out.get()


def is_deadlock(error: Exception) -> bool:
    """Whether the database ended this transaction as one side of a deadlock (PostgreSQL
    40P01): nothing of it was written, and running it again is safe."""
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def head_taken_last() -> bool:
    """Whether this transaction takes the chain head only at its end (`head_last`)."""
    frames = _frames()
    return bool(frames) and frames[0].head_last


def when_appending(work: Callable[[], None]) -> None:
    """In a transaction that takes the chain head last: run `work` at its end, after the
    head is locked and before the events are appended — for another head that writers
    lock after the chain's (the commission ledger's), so every writer takes them in one
    order. Dropped with the block it was asked in, if that rolls back."""
    frames = _frames()
    if not frames or not frames[0].head_last:
        raise RuntimeError("when_appending() needs recording_transaction(head_last=True)")
    frames[-1].deferred.append(work)


def _lock_head() -> tuple[int, str] | None:
    """The head, locked until the transaction ends; None on SQLite, whose IMMEDIATE
    transactions already serialise writers (the head is read when appending)."""
    if not connection.features.has_select_for_update:
        return None
    head = sql.fetch_one(_LOCK_HEAD, [])
    if head is None:
        # A migration creates the head; an emptied database (a test flush) lacks it, and
        # without it there is nothing to lock: writers would not queue.
        sql.execute(_CREATE_HEAD, [GENESIS_HASH])
        head = sql.fetch_one(_LOCK_HEAD, [])
    return head  # type: ignore[return-value]


_HEAD_TABLE = ChainHead._meta.db_table
_LOCK_HEAD = f"SELECT last_seq, last_hash FROM {_HEAD_TABLE} WHERE id = 1 FOR UPDATE"
_READ_HEAD = f"SELECT last_seq, last_hash FROM {_HEAD_TABLE} WHERE id = 1"
_CREATE_HEAD = (
    f"INSERT INTO {_HEAD_TABLE} (id, last_seq, last_hash) VALUES (1, 0, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
_MOVE_HEAD = f"UPDATE {_HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1"
_ONE_STATEMENT_EVENTS = 500  # more go in batches (`sql.insert_many`), then the head


def _append_to_chain(pending: list[_Pending], head: tuple[int, str] | None) -> None:
    row = head or sql.fetch_one(_READ_HEAD, [])
    if row is None:
        # A migration creates the head; only an emptied database (test flushes) lacks it.
        ChainHead.objects.create(pk=1, last_seq=0, last_hash=GENESIS_HASH)
        row = (0, GENESIS_HASH)
    seq, prev_hash = row
    events = []
    # PostgreSQL stores the payload in the spelling that is hashed (jsonb keeps values, not
    # spelling): one encoding per event instead of two. SQLite keeps Django's (see below).
    as_text = connection.vendor == "postgresql"
    for item in pending:
        seq += 1
        head = (
            seq,
            item.occurred_at,
            item.code,
            item.actor.kind.value,
            item.actor.id,
            item.actor.label,
            item.object_type,
            item.object_id,
        )
        payload_json = canonical_json(item.payload)
        hashed = entry_hash_with(ChainEntry(*head, item.payload, prev_hash), payload_json)
        # The entry with its hash is the row: no model instance per event. (On SQLite its
        # payload is stored as Django serialises it, not in the hashed spelling: SQLite's
        # JSON lookups compare that text.)
        stored = sql.JsonText(payload_json) if as_text else item.payload
        events.append(ChainEntry(*head, stored, prev_hash, hashed))  # type: ignore[arg-type]
        prev_hash = hashed
    if connection.vendor == "postgresql" and len(events) <= _ONE_STATEMENT_EVENTS:
        # One round trip for the events and the head: every writing transaction ends here.
        insert, params = sql.insert_rows_statement(events, model=Event)
        sql.execute_with_arrays(
            f"WITH appended AS ({insert}) {_MOVE_HEAD}", [*params, seq, prev_hash]
        )
        return
    sql.insert_many(events, model=Event)
    sql.execute(_MOVE_HEAD, [seq, prev_hash])


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
    head = sql.fetch_one(_READ_HEAD, [])
    subscription = WebhookSubscription.objects.create(
        url=url,
        secret=secret,
        event_codes=event_codes,
        description=description,
        starts_after_seq=head[0] if head else 0,
    )
    record(
        "webhook.subscribed",
        actor=actor,
        object_type="webhook_subscription",
        object_id=subscription.pk,
        payload={"url": url, "event_codes": event_codes},
    )
    return subscription

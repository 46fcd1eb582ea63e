"""Real-time signals to browsers: "this chat has a new message", "an offer waits for you".

Any process may publish (a web request, the worker, the WebSocket server); the browsers'
WebSocket connections live in the ASGI processes and listen on groups through Channels'
channel layer. How a signal crosses processes depends on the installation:

- **Embedded** (no `CASEWORK_REDIS_URL`): the signal is a row (`RealtimeSignal`) written in
  the transaction of the change. Each ASGI process polls the table (one indexed query per
  `CASEWORK_REALTIME_POLL_SECONDS`, only while it has listeners) and hands new rows to its
  in-memory channel layer. A signal published inside an ASGI process is delivered there at
  once, after commit, and skipped by that process's poller.
- **Scaled** (`CASEWORK_REDIS_URL` set): Channels' Redis layer carries the signal to every
  process, after commit; no rows.

A signal may carry what changed (a chat message, with its number), but the database stays
the truth: a listener that sees a gap reads what it missed (e.g. the chat's messages after
the last one it sent), so a duplicate signal is harmless and a lost one only delays until
the next."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction

from casework.kernel import clock, sql
from casework.kernel.models import RealtimeSignal

logger = logging.getLogger(__name__)

# Channels accepts ASCII letters, digits, hyphens, periods and underscores, < 100 characters.
_GROUP = re.compile(r"^[A-Za-z0-9._-]{1,99}$")
# How long a signal row is kept (a listener that is further behind reads the data anyway).
KEEP_SIGNALS = timedelta(seconds=60)
# A gap in the ids (a transaction that has not committed yet, or rolled back) is waited for
# this long before the poller moves past it.
_GAP_WAIT_SECONDS = 3.0

ORIGIN = f"{os.getpid()}-{secrets.token_hex(6)}"


def is_embedded() -> bool:
    return not settings.CASEWORK_REDIS_URL


def agent_group(agent_id: int) -> str:
    """The group of one agent's desk (offers of pushed work, their chats)."""
    return f"agent.{agent_id}"


def publish(group: str, payload: dict[str, Any]) -> None:
    """Signal `group`'s listeners once the current transaction commits (at once outside one)."""
    if not _GROUP.match(group):
        raise ValueError(f"not a valid group name: {group!r}")
    if is_embedded():
        # Delivered here at once only where this process listens and the caller is not
        # itself inside an event loop (from there, the poller delivers it).
        local = _listener.running and not _in_event_loop()
        sql.insert(RealtimeSignal(group=group, payload=payload, origin=ORIGIN if local else ""))
        if local:
            transaction.on_commit(lambda: _send_now(group, payload))
        return
    transaction.on_commit(lambda: _send_now(group, payload))


def publish_many(signals: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """`publish()` for many signals at once: one INSERT for all where the database carries
    them (a single writer flushing many changes)."""
    for group, _payload in signals:
        if not _GROUP.match(group):
            raise ValueError(f"not a valid group name: {group!r}")
    if is_embedded():
        local = _listener.running and not _in_event_loop()
        origin = ORIGIN if local else ""
        sql.insert_many(
            [
                RealtimeSignal(group=group, payload=payload, origin=origin)
                for group, payload in signals
            ]
        )
        if not local:
            return
    for group, payload in signals:
        transaction.on_commit(lambda group=group, payload=payload: _send_now(group, payload))


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _send_now(group: str, payload: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, _event(group, payload))
    except Exception:  # the change is committed; a lost poke only delays the listener
        logger.exception("real-time signal to %s not delivered", group)


def _event(group: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "realtime.signal", "group": group, "payload": payload}


def prune() -> int:
    """Delete signal rows older than a minute (a background job of the worker)."""
    if not is_embedded():
        return 0
    deleted, _ = RealtimeSignal.objects.filter(created_at__lt=clock.now() - KEEP_SIGNALS).delete()
    return 0 if deleted == 0 else 1


async def ensure_listening() -> None:
    """Start this process's poller (embedded installations), if not yet running."""
    if is_embedded():
        await _listener.start()


class _Listener:
    """The poller of one ASGI process."""

    def __init__(self) -> None:
        self.running = False
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            floor = await database_sync_to_async(_latest_id)()
            self.running = True
            self._task = asyncio.get_running_loop().create_task(self._run(floor))

    async def _run(self, floor: int) -> None:
        seen: set[int] = set()
        gap_since: float | None = None
        layer = get_channel_layer()
        interval = settings.CASEWORK_REALTIME_POLL_SECONDS
        while True:
            try:
                rows = await database_sync_to_async(_rows_after)(floor)
            except Exception:
                logger.exception("reading real-time signals failed; trying again")
                await asyncio.sleep(1.0)
                continue
            for row_id, group, payload, origin in rows:
                if row_id in seen:
                    continue
                seen.add(row_id)
                if origin != ORIGIN:
                    await layer.group_send(group, _event(group, payload))
            while floor + 1 in seen:
                floor += 1
                seen.discard(floor)
            if seen:
                # Ids above a gap arrived: wait for the gap's transaction a little, then go on.
                gap_since = gap_since or time.monotonic()
                if time.monotonic() - gap_since > _GAP_WAIT_SECONDS:
                    floor = min(seen)
                    seen = {row_id for row_id in seen if row_id > floor}
                    gap_since = None
            else:
                gap_since = None
            await asyncio.sleep(interval)


def _latest_id() -> int:
    latest = RealtimeSignal.objects.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


def _rows_after(floor: int) -> list[tuple[int, str, dict[str, Any], str]]:
    try:
        return list(
            RealtimeSignal.objects.filter(id__gt=floor)
            .order_by("id")
            .values_list("id", "group", "payload", "origin")[:1000]
        )
    finally:
        # A long-lived loop must not keep a stale connection (server restart, timeout).
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


_listener = _Listener()

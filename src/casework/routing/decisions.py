"""The router process's log of its decisions (docs/routing-process.md).

The engine answers before its rows are written (ADR 12), and the channels commit what the
answer says (the call rings at the offered agent, the chat waits for item 25001). So that
a process killed between its answer and its next flush loses nothing, each operation's
changes — the rows it touched, as they are after it, and its events — are appended to
this log before the answer leaves. Every flush stores in the same transaction how far the
log is written (`RouterLease.decided_through`); the next router process writes what came
after that (`replay`) before it loads the tables.

Appends are plain writes (no fsync): what the operating system has survives the process,
as SQLite's own journal does in the product's settings; a machine that loses power may
lose the last decisions as it loses the database's last commits.
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from casework.events.services import Occurred, record_all, recording_transaction
from casework.routing.models import (
    AgentStatus,
    Offer,
    OfferStatus,
    PresenceLog,
    RouterLease,
    WorkItem,
)

# A record: its number and the length of its pickle, then the pickle.
_HEADER = struct.Struct(">QI")
_SEGMENT_BYTES = 8 * 1024 * 1024
_PREFIX, _SUFFIX = "decisions-", ".log"

Rows = list[tuple[str, tuple[Any, ...]]]  # (kind, the row's fields in its row type's order)


class DecisionLog:
    """Append-only segments in `directory`; records numbered from `first`."""

    def __init__(self, directory: Path, first: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        self._next = first
        self._segments: list[tuple[int, Path]] = []  # (first record, file), oldest first
        self._file: Any = None
        self._size = 0
        self._open_segment()

    def append(self, rows: Rows, events: list[Occurred]) -> int:
        """Write one operation's changes; returns its record number."""
        body = pickle.dumps((rows, events), protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            number = self._next
            self._next += 1
            data = _HEADER.pack(number, len(body)) + body
            os.write(self._file, data)
            self._size += len(data)
            if self._size >= _SEGMENT_BYTES:
                self._open_segment()
            return number

    def forget_through(self, number: int) -> None:
        """Delete the segments whose every record is written to the tables."""
        with self._lock:
            while len(self._segments) > 1 and self._segments[1][0] <= number + 1:
                _first, path = self._segments.pop(0)
                path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                os.close(self._file)
                self._file = None

    def _open_segment(self) -> None:
        if self._file is not None:
            os.close(self._file)
        path = self.directory / f"{_PREFIX}{self._next:016d}{_SUFFIX}"
        self._file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._segments.append((self._next, path))
        self._size = 0


def read(directory: Path) -> Iterator[tuple[int, Rows, list[Occurred]]]:
    """Every complete record in order (a record the process was killed writing ends the
    segment)."""
    for path in _segment_files(directory):
        data = path.read_bytes()
        offset = 0
        while offset + _HEADER.size <= len(data):
            number, length = _HEADER.unpack_from(data, offset)
            start = offset + _HEADER.size
            if start + length > len(data):
                break
            rows, events = pickle.loads(data[start : start + length])  # noqa: S301 (own file)
            yield number, rows, events
            offset = start + length


def remove(directory: Path) -> None:
    for path in _segment_files(directory):
        path.unlink(missing_ok=True)


def _segment_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{_PREFIX}*{_SUFFIX}"))


def decided_through() -> int:
    """How far the log of the process that owned the tables last is written to them."""
    lease = RouterLease.objects.filter(pk=1).first()
    return lease.decided_through if lease is not None else 0


def replay(directory: Path) -> tuple[int, int]:
    """Write the decisions a router process logged and did not flush, in one transaction;
    then the log is empty. Returns how many records were replayed and the last number
    written (the next process numbers on from it)."""
    through = decided_through()
    latest: dict[tuple[str, Any], tuple[Any, ...]] = {}
    events: list[Occurred] = []
    replayed = 0
    for number, rows, recorded in read(directory):
        if number <= through:
            continue
        replayed += 1
        through = number
        for kind, row in rows:
            latest[(kind, row[0])] = row  # the later state of a row wins
        events.extend(recorded)
    if replayed:
        with recording_transaction():
            _upsert_rows(latest)
            record_all(events)
            RouterLease.objects.filter(pk=1).update(decided_through=through)
    remove(directory)
    return replayed, through


def _upsert_rows(latest: dict[tuple[str, Any], tuple[Any, ...]]) -> None:
    from casework.routing.engine import ROW_FIELDS  # the engine imports this module

    def rows(kind: str) -> list[tuple[Any, ...]]:
        return [row for (row_kind, _key), row in latest.items() if row_kind == kind]

    offers = rows("offer")
    status_at = ROW_FIELDS["offer"].index("status")
    # Offers that ended first: the database allows one pending offer per item.
    offers.sort(key=lambda row: row[status_at] == OfferStatus.PENDING)
    for kind, model, found in (
        ("status", AgentStatus, rows("status")),
        ("item", WorkItem, rows("item")),
        ("offer", Offer, offers),
        ("log", PresenceLog, rows("log")),
    ):
        fields = ROW_FIELDS[kind]
        for row in found:
            values = dict(zip(fields, row, strict=True))
            key = values.pop(fields[0])
            if not model.objects.filter(pk=key).update(**values):
                model.objects.create(**{fields[0]: key, **values})

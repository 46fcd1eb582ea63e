"""The commission ledger's hash chain (pure): how an entry's hash is computed, and how a
walk over the entries finds and names the first one that does not fit.

An entry is a tuple in the order of `FIELDS` (what `values_list(*FIELDS)` returns). Its
hash is the SHA-256 of a canonical JSON object of its content and its predecessor's hash
(docs/partner-ledger.md). Changing this format breaks every existing ledger; a new format
needs a new `FORMAT` number and must keep hashing old entries the old way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

FORMAT = 1
GENESIS_HASH = "0" * 64

# The columns of an entry, in the order the functions here expect them.
FIELDS = (
    "seq",
    "partner_id",
    "order_reference",
    "rule",
    "amount",
    "kind",
    "reverses_id",  # the reversed entry's seq (reversals only), else None
    "reason",
    "recorded_at",
    "recorded_by",
    "approved_by",
    "prev_hash",
    "hash",
)
SEQ, PREV_HASH, HASH = 0, 11, 12

Row = Sequence[Any]

# The canonical text is compact JSON with sorted keys, written out by hand: the same text
# `canonical_json()` makes with the json module, in a third of the time (verifying a
# million entries is mostly this). A test holds the two equal over arbitrary content.
_TEMPLATE = (
    '{"amount":"%s","approved_by":%s,"format":%d,"kind":%s,"order":%s,"partner":%d,'
    '"prev_hash":%s,"reason":%s,"recorded_at":"%s","recorded_by":%s,"reverses":%s,'
    '"rule":%s,"seq":%d}'
)
_quote = encode_basestring  # JSON string with quotes, non-ASCII kept (ensure_ascii=False)


def format_amount(amount: Decimal) -> str:
    """Euros with exactly two decimal places, a minus sign for reversals: "-12.50"."""
    return f"{amount:.2f}"


def format_time(moment: datetime) -> str:
    """UTC with microseconds: "2026-11-02T09:30:00.000000Z" (whatever zone it came in)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a ledger time needs a time zone")
    if offset:
        moment = moment.astimezone(UTC)
    # Printf style: twice as fast as an f-string with format specs, on the hot path.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


def canonical(row: Row, *, seq: int | None = None) -> str:
    """The text that is hashed. `seq` replaces the entry's own number (used to find where
    a renumbered entry came from)."""
    (
        own_seq,
        partner_id,
        order_reference,
        rule,
        amount,
        kind,
        reverses,
        reason,
        recorded_at,
        recorded_by,
        approved_by,
        prev_hash,
    ) = row[:12]
    return _TEMPLATE % (
        format_amount(amount),
        _quote(approved_by),
        FORMAT,
        _quote(kind),
        _quote(order_reference),
        partner_id,
        _quote(prev_hash),
        _quote(reason),
        format_time(recorded_at),
        _quote(recorded_by),
        "null" if reverses is None else str(int(reverses)),
        _quote(rule),
        own_seq if seq is None else seq,
    )


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_json(row: Row) -> str:
    """The canonical text by the json module: the definition `canonical()` must match."""
    return _ENCODER.encode(
        {
            "format": FORMAT,
            "seq": row[0],
            "partner": row[1],
            "order": row[2],
            "rule": row[3],
            "amount": format_amount(row[4]),
            "kind": row[5],
            "reverses": row[6],
            "reason": row[7],
            "recorded_at": format_time(row[8]),
            "recorded_by": row[9],
            "approved_by": row[10],
            "prev_hash": row[11],
        }
    )


def entry_hash(row: Row, *, seq: int | None = None) -> str:
    return hashlib.sha256(canonical(row, seq=seq).encode("utf-8")).hexdigest()


class BreakKind(StrEnum):
    MISSING = "missing"  # entry `seq` is missing
    CHANGED = "changed"  # entry `seq` was changed
    REHASHED = "rehashed"  # entry `seq` was changed and its hash recomputed; `other` shows it
    INSERTED = "inserted"  # an entry was inserted before entry `seq` (original numbering)
    MOVED = "moved"  # entry `seq` now stands at position `other`
    HEAD_MISMATCH = "head_mismatch"  # the head names `seq` with another hash (`detail`)
    AFTER_HEAD = "after_head"  # entry `seq` lies beyond the head
    ANCHOR = "anchor"  # entry `seq` lacks the hash given from outside (`detail`)


@dataclass(frozen=True)
class LedgerBreak:
    kind: BreakKind
    seq: int
    other: int | None = None
    detail: str = ""


class ChainCursor:
    """Walks the entries in sequence order, batch after batch, and stops at the first one
    that does not fit: a number out of sequence, a content that does not match its hash,
    a link that does not point to the predecessor's hash, or a hash other than an anchor's
    (a hash published earlier, e.g. on a statement)."""

    def __init__(
        self,
        *,
        start_seq: int = 1,
        start_hash: str = GENESIS_HASH,
        anchors: Mapping[int, str] | None = None,
    ) -> None:
        self.next_seq = start_seq
        self.prev_hash = start_hash
        self.checked = 0
        self.anchors = dict(anchors or {})

    def feed(self, rows: Sequence[Row]) -> int | None:
        """Check `rows` (the next ones in sequence order); the index of the first that does
        not fit, or None. The cursor stays before that row."""
        seq, prev, anchors = self.next_seq, self.prev_hash, self.anchors
        broken = None
        for index, row in enumerate(rows):
            own_hash = row[HASH]
            if (
                row[SEQ] != seq
                or row[PREV_HASH] != prev
                or entry_hash(row) != own_hash
                or (anchors and anchors.get(seq, own_hash) != own_hash)
            ):
                broken = index
                break
            prev = own_hash
            seq += 1
        self.checked += seq - self.next_seq
        self.next_seq, self.prev_hash = seq, prev
        return broken

    def check_end(
        self, *, head_seq: int, head_hash: str, beyond_head: int | None = None
    ) -> LedgerBreak | None:
        """After the last entry up to the head: does the head name it, with its hash, and
        does nothing lie beyond it? `beyond_head` is the lowest seq above the head, if any."""
        last = self.next_seq - 1
        if last < head_seq:
            return LedgerBreak(BreakKind.MISSING, self.next_seq)
        if last == head_seq and self.prev_hash != head_hash:
            return LedgerBreak(BreakKind.HEAD_MISMATCH, last, detail=head_hash)
        if beyond_head is not None:
            return LedgerBreak(BreakKind.AFTER_HEAD, beyond_head)
        missing_anchor = min((seq for seq in self.anchors if seq > last), default=None)
        if missing_anchor is not None:
            return LedgerBreak(BreakKind.MISSING, missing_anchor)
        return None


# How far a renumbered entry may have moved and still be recognised.
SEARCH_WINDOW = 1000


def diagnose(
    row: Row,
    *,
    expected_seq: int,
    expected_prev: str,
    before: Sequence[Row] = (),
    after: Sequence[Row] = (),
    anchors: Mapping[int, str] | None = None,
) -> LedgerBreak:
    """Name what happened at the first entry that does not fit. `before` are the verified
    entries just before it, `after` the entries that follow it, both in sequence order."""
    seq, stored_prev, stored_hash = row[SEQ], row[PREV_HASH], row[HASH]
    if seq < expected_seq:
        return LedgerBreak(BreakKind.INSERTED, expected_seq)
    if seq > expected_seq:
        return LedgerBreak(BreakKind.MISSING, expected_seq)
    if entry_hash(row) != stored_hash:
        original = _original_seq(row, expected_seq)
        if original is None:
            if after and _belongs_at(after[0], expected_seq):
                return LedgerBreak(BreakKind.INSERTED, expected_seq)
            return LedgerBreak(BreakKind.CHANGED, expected_seq)
        if original < expected_seq:
            return LedgerBreak(BreakKind.INSERTED, original)
        for later in after:
            if _belongs_at(later, expected_seq):
                return LedgerBreak(BreakKind.MOVED, expected_seq, other=later[SEQ])
        return LedgerBreak(BreakKind.MISSING, expected_seq)
    if stored_prev != expected_prev:
        if expected_seq == 1:
            return LedgerBreak(BreakKind.CHANGED, 1)
        for earlier in reversed(before):
            if earlier[HASH] == stored_prev and earlier[SEQ] < expected_seq - 1:
                # This entry followed `earlier` once: what stands between was inserted.
                return LedgerBreak(BreakKind.INSERTED, earlier[SEQ] + 1)
        return LedgerBreak(BreakKind.REHASHED, expected_seq - 1, other=expected_seq)
    expected = (anchors or {}).get(seq)
    if expected is not None and expected != stored_hash:
        return LedgerBreak(BreakKind.ANCHOR, seq, detail=expected)
    raise ValueError(f"entry {seq} fits the chain")


def _belongs_at(row: Row, seq: int) -> bool:
    return entry_hash(row, seq=seq) == row[HASH]


def _original_seq(row: Row, seq: int) -> int | None:
    """The number this entry had when it was hashed, if it was renumbered by a little."""
    for distance in range(1, SEARCH_WINDOW + 1):
        for candidate in (seq - distance, seq + distance):
            if candidate >= 1 and _belongs_at(row, candidate):
                return candidate
    return None

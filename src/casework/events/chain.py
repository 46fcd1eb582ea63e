"""The hash chain (pure): how an entry's hash is computed from its content and its
predecessor's hash. Changing this format breaks every existing chain; don't."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    occurred_at: datetime
    code: str
    actor_kind: str
    actor_id: int | None
    actor_label: str
    object_type: str
    object_id: int
    payload: dict[str, Any]
    prev_hash: str
    hash: str = ""


def entry_hash(entry: ChainEntry) -> str:
    return entry_hash_with(entry, canonical_json(entry.payload))


def entry_hash_with(entry: ChainEntry, payload_json: str) -> str:
    """`entry_hash()` for an entry whose payload is serialised already
    (`canonical_json(entry.payload)`): the same text, with the payload set in."""
    head = canonical_json(
        [
            entry.seq,
            entry.occurred_at.isoformat(timespec="microseconds"),
            entry.code,
            entry.actor_kind,
            entry.actor_id,
            entry.actor_label,
            entry.object_type,
            entry.object_id,
        ]
    )
    # A JSON list is its items joined by ","; the payload and the previous hash follow.
    # A hash is hex: letters and digits need no escapes, so it is quoted as it is. (Only a
    # tampered row holds anything else; that gets the encoder, as before.)
    prev = entry.prev_hash
    prev_json = f'"{prev}"' if prev.isascii() and prev.isalnum() else canonical_json(prev)
    canonical = f"{head[:-1]},{payload_json},{prev_json}]"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical_json(value: Any) -> str:
    """The one spelling of a value that is hashed: sorted keys, no spaces, UTF-8 as is."""
    return _CANONICAL.encode(value)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def find_first_break(
    entries: Iterable[ChainEntry], *, start_hash: str = GENESIS_HASH, start_seq: int = 1
) -> ChainBreak | None:
    """Walk entries in sequence order; the first one that does not follow is the break."""
    expected_prev, expected_seq = start_hash, start_seq
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return ChainBreak(entry.seq, "it does not point to the previous entry's hash")
        if entry_hash(entry) != entry.hash:
            return ChainBreak(entry.seq, "its content does not match its hash")
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return None

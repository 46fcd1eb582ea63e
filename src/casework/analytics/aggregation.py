"""Keeping the summary tables up to date from the event log.

The worker reads new events by sequence number (the event log is the outbox, with its own
cursor here) and folds them in: each touched digest gets the new entries, its old
contribution is subtracted and its new one added, all in one transaction with the cursor.
`apply_events` accepts events in any order and any number of times; `verify` compares the
tables with a recomputation from the raw events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, CharField, IntegerField, Model, Q

from casework.analytics import contributions
from casework.analytics.contributions import EVENT_FIELDS, EventRow, Point
from casework.analytics.models import (
    MEASURES,
    AgentDay,
    AgentQuarterHour,
    CaseJourney,
    ChannelTransition,
    Digest,
    QueueChannelDay,
    QueueDay,
    QueueQuarterHour,
)
from casework.customers.models import Customer
from casework.events.models import Event, OutboxCursor
from casework.kernel import sql
from casework.kernel.background import runs_at_most_every

QUARTER_HOUR = 900
CURSOR_NAME = "analytics"

_KEYS: dict[type[Model], tuple[str, ...]] = {
    QueueQuarterHour: ("bucket_start", "channel", "queue", "case_type", "service_type", "segment"),
    QueueDay: ("day", "channel", "queue", "case_type", "service_type", "segment"),
    QueueChannelDay: ("day", "channel", "queue"),
    AgentQuarterHour: ("bucket_start", "agent_id", "channel", "queue"),
    AgentDay: ("day", "agent_id", "channel", "queue"),
    ChannelTransition: ("day", "position", "from_channel", "to_channel", "case_type", "segment"),
}
SUMMARY_TABLES = tuple(_KEYS)


def measures_of(model: type[Model]) -> tuple[str, ...]:
    return ("cases",) if model is ChannelTransition else MEASURES


@lru_cache(maxsize=4096)
def local_day(bucket_start: int) -> date:
    """The calendar day in the installation's time zone that a quarter-hour belongs to."""
    return datetime.fromtimestamp(bucket_start, tz=_zone()).date()


@lru_cache(maxsize=1)
def _zone():  # noqa: ANN202
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)


def _rows_of(point: Point) -> Iterator[tuple[type[Model], tuple[Any, ...]]]:
    bucket = int(point.t // QUARTER_HOUR) * QUARTER_HOUR
    day = local_day(bucket)
    if point.table == "q":
        yield QueueQuarterHour, (bucket, *point.dims)
        yield QueueDay, (day, *point.dims)
        yield QueueChannelDay, (day, *point.dims[:2])
    elif point.table == "a":
        yield AgentQuarterHour, (bucket, *point.dims)
        yield AgentDay, (day, *point.dims)
    else:
        yield ChannelTransition, (day, *point.dims)


class Deltas:
    """Changes to summary rows, summed per row before anything is written."""

    def __init__(self) -> None:
        self.rows: dict[tuple[type[Model], tuple[Any, ...]], Counter[str]] = defaultdict(Counter)

    def add(self, points: Iterable[Point], sign: int = 1) -> None:
        for point in points:
            for row in _rows_of(point):
                counter = self.rows[row]
                for measure, value in point.measures.items():
                    counter[measure] += sign * value

    def by_table(self) -> dict[type[Model], dict[tuple[Any, ...], Counter[str]]]:
        tables: dict[type[Model], dict[tuple[Any, ...], Counter[str]]] = defaultdict(dict)
        for (model, key), counter in self.rows.items():
            if any(counter.values()):
                tables[model][key] = counter
        return tables


def retention_outcomes() -> Mapping[str, tuple[str, ...]]:
    return getattr(
        settings, "CASEWORK_RETENTION_OUTCOMES", contributions.DEFAULT_RETENTION_OUTCOMES
    )


@dataclass
class Applied:
    events: int = 0
    digests_changed: int = 0
    rows_written: int = 0


def apply_events(events: Iterable[EventRow]) -> Applied:
    """Fold events into the digests and summary tables: any order, duplicates allowed.
    Must run in a transaction (the caller's)."""
    incoming: dict[tuple[str, int], dict[str, list[Any]]] = defaultdict(dict)
    applied = Applied()
    for event in events:
        applied.events += 1
        for kind, entity_id, entry in contributions.entries_of(event):
            incoming[(kind, entity_id)][str(event.seq)] = entry
    if not incoming:
        return applied
    stored = _load_digests(incoming)
    new_entries = [
        entry
        for key, entries in incoming.items()
        for seq, entry in entries.items()
        if seq not in stored.get(key, {})
    ]
    _fill_segments(new_entries)
    retention = retention_outcomes()
    deltas = Deltas()
    changed: dict[tuple[str, int], dict[str, list[Any]]] = {}
    for key, entries in incoming.items():
        old = stored.get(key, {})
        if all(seq in old for seq in entries):
            continue  # every entry was here before: a repeated delivery changes nothing
        merged = {**entries, **old}  # what was counted first stays as it was counted
        deltas.add(contributions.points_of(key[0], old, retention), -1)
        deltas.add(contributions.points_of(key[0], merged, retention))
        changed[key] = merged
    _save_digests(changed)
    _save_journeys({key[1]: digest for key, digest in changed.items() if key[0] == "case"})
    for model, rows in deltas.by_table().items():
        _add_to_table(model, rows)
        applied.rows_written += len(rows)
    applied.digests_changed = len(changed)
    return applied


def _load_digests(keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, entity_id in keys:
        by_kind[kind].append(entity_id)
    stored = {}
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), 2000):
            rows = Digest.objects.filter(kind=kind, entity_id__in=ids[start : start + 2000])
            for kind_, entity_id, events in rows.values_list("kind", "entity_id", "events"):
                stored[(kind_, entity_id)] = events
    return stored


def _fill_segments(entries: list[list[Any]]) -> None:
    wanted = contributions.customers_needing_segments(entries)
    segments: dict[int, str] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        segments.update(Customer.objects.filter(pk__in=chunk).values_list("pk", "segment"))
    contributions.fill_segments(entries, segments)


def _save_digests(changed: Mapping[tuple[str, int], dict[str, Any]]) -> None:
    _upsert(
        Digest,
        ("kind", "entity_id", "events"),
        [
            {"kind": kind, "entity_id": entity_id, "events": events}
            for (kind, entity_id), events in sorted(changed.items())
        ],
        conflict=("kind", "entity_id"),
        replace=("events",),
    )


def journey_row(case_id: int, digest: Mapping[str, list[Any]]) -> dict[str, Any]:
    """The case's `CaseJourney` row, as column values (no model instance: one per case of
    every fold)."""
    entries = [entry for _, entry in sorted(digest.items(), key=lambda i: (i[1][1], int(i[0])))]
    opened = next((entry for entry in entries if entry[0] == "o"), None)
    linked = [entry for entry in entries if entry[0] == "l"]
    channels = [e[2] for e in entries if e[0] == "i" and e[3] == contributions.INBOUND]
    segment = (linked[-1][3] if linked else "") or (opened[7] if opened else "") or ""
    customer_id = linked[-1][2] if linked else (opened[6] if opened else None)
    return {
        "case_id": case_id,
        "customer_id": customer_id,
        "opened_at": datetime.fromtimestamp(opened[1], tz=UTC) if opened else None,
        "case_type": opened[2] if opened else "",
        "segment": segment,
        "path": ">".join(channels)[:400],
        "contacts_in": len(channels),
        "channel_switches": sum(1 for a, b in zip(channels, channels[1:], strict=False) if a != b),
        "is_resolved": any(entry[0] == "r" for entry in entries),
    }


_JOURNEY_FIELDS = (
    "case_id",
    "customer_id",
    "opened_at",
    "case_type",
    "segment",
    "path",
    "contacts_in",
    "channel_switches",
    "is_resolved",
)


def _save_journeys(digests: Mapping[int, Mapping[str, list[Any]]]) -> None:
    _upsert(
        CaseJourney,
        _JOURNEY_FIELDS,
        [journey_row(case_id, digest) for case_id, digest in sorted(digests.items())],
        conflict=("case_id",),
        replace=_JOURNEY_FIELDS[1:],
    )


def _add_to_table(model: type[Model], rows: Mapping[tuple[Any, ...], Counter[str]]) -> None:
    """Add the deltas to the rows (inserting the rows that are new)."""
    keys, measures = _KEYS[model], measures_of(model)
    values = []
    for key, counter in sorted(rows.items()):  # the same lock order in every writer
        row = {m: v for m, v in counter.items() if v}
        if keys[0] == "bucket_start":
            key = (datetime.fromtimestamp(key[0], tz=UTC), *key[1:])
        row.update(zip(keys, key, strict=True))
        values.append(row)
    _upsert(model, (*keys, *measures), values, conflict=keys, add=measures)


def _upsert(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    replace: Sequence[str] = (),
    add: Sequence[str] = (),
) -> None:
    """INSERT … ON CONFLICT DO UPDATE: `replace` columns take the new value, `add` columns
    are increased by it (a row may leave them out: 0). Rows must not repeat a conflict key."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    updates = [f"{quote(c)} = excluded.{quote(c)}" for c in replace]
    updates += [f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in add]
    head = f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
    tail = (
        f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {', '.join(updates)}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One JSON document per batch, typed by the table's own row type: the driver
            # would otherwise spend most of the time quoting parameters one by one.
            selected = ", ".join(
                f"COALESCE({quote(c)}, 0)" if c in add else quote(c) for c in columns
            )
            for start in range(0, len(rows), 5000):
                document = json.dumps(rows[start : start + 5000], default=str)
                cursor.execute(
                    f"{head}SELECT {selected} "
                    f"FROM json_populate_recordset(NULL::{table}, %s){tail}",
                    [document],
                )
            return
        fields = [model._meta.get_field(name) for name in columns]
        # Numbers and text go as they are; dates, times and JSON need the backend's form.
        prepare = [
            None
            if isinstance(field, (IntegerField, CharField, BooleanField))
            else sql.value_preparer(field, connection)
            for field in fields
        ]
        defaults = [0 if c in add else None for c in columns]
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), 400):
            batch = rows[start : start + 400]
            params = []
            for row in batch:
                for column, convert, default in zip(columns, prepare, defaults, strict=True):
                    value = row.get(column, default)
                    params.append(value if convert is None else convert(value))
            cursor.execute(f"{head}VALUES {', '.join([placeholder] * len(batch))}{tail}", params)


# -- the consumer ---------------------------------------------------------------------------


# Figures a second behind are fresh enough for a wall-board, and folding a second's events at
# once costs a fraction of folding them pass by pass while the worker is busy.
@runs_at_most_every(1.0)
def run_once(batch_size: int = 5000) -> int:
    """Fold the next events of the log into the figures; returns how many were read.
    Sequence numbers commit in order (the chain head lock), so a range over `seq` misses
    nothing that is visible."""
    with transaction.atomic():
        cursor, _ = OutboxCursor.objects.get_or_create(name=CURSOR_NAME)
        cursor = OutboxCursor.objects.select_for_update().get(pk=cursor.pk)
        in_range = Event.objects.filter(
            seq__gt=cursor.last_seq, seq__lte=cursor.last_seq + batch_size
        )
        last = in_range.order_by("-seq").values_list("seq", flat=True).first()
        if last is None:
            return 0
        codes = Q()
        for prefix in contributions.RELEVANT_PREFIXES:
            codes |= Q(code__startswith=prefix)
        rows = in_range.filter(codes).values_list(*EVENT_FIELDS)
        apply_events(EventRow(*row) for row in rows.iterator(chunk_size=2000))
        read = last - cursor.last_seq
        cursor.last_seq = last
        cursor.save(update_fields=["last_seq"])
    return read


def catch_up(batch_size: int = 5000) -> int:
    """Everything recorded so far (demo load, tests, after a rebuild)."""
    total = 0
    while read := run_once(batch_size):
        total += read
    return total


def rebuild(batch_size: int = 5000) -> int:
    """Throw the figures away and compute them again from the whole event log."""
    with transaction.atomic():
        for model in (*SUMMARY_TABLES, Digest, CaseJourney):
            model.objects.all().delete()
        OutboxCursor.objects.filter(name=CURSOR_NAME).update(last_seq=0)
    return catch_up(batch_size)


# -- checking -------------------------------------------------------------------------------


def recompute(events: Iterable[EventRow]) -> dict[type[Model], dict[tuple[Any, ...], Counter[str]]]:
    """The summary tables' content computed in memory from a set of events at once."""
    digests: dict[tuple[str, int], dict[str, list[Any]]] = defaultdict(dict)
    for event in events:
        for kind, entity_id, entry in contributions.entries_of(event):
            digests[(kind, entity_id)].setdefault(str(event.seq), entry)
    _fill_segments([entry for digest in digests.values() for entry in digest.values()])
    retention = retention_outcomes()
    deltas = Deltas()
    for (kind, _), digest in digests.items():
        deltas.add(contributions.points_of(kind, digest, retention))
    return deltas.by_table()


def table_contents(model: type[Model]) -> dict[tuple[Any, ...], Counter[str]]:
    """The rows of a summary table with any non-zero measure, keyed like `recompute`."""
    keys, measures = _KEYS[model], measures_of(model)
    contents = {}
    for row in model.objects.values_list(*keys, *measures).iterator(chunk_size=5000):
        key, values = row[: len(keys)], row[len(keys) :]
        counter = Counter({m: v for m, v in zip(measures, values, strict=True) if v})
        if counter:
            if keys[0] == "bucket_start":
                key = (int(key[0].timestamp()), *key[1:])
            contents[key] = counter
    return contents


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    stored: dict[str, int]
    expected: dict[str, int]


def verify() -> list[Difference]:
    """Compare every summary table with a recomputation from the events read so far."""
    cursor = OutboxCursor.objects.filter(name=CURSOR_NAME).first()
    last = cursor.last_seq if cursor else 0
    codes = Q()
    for prefix in contributions.RELEVANT_PREFIXES:
        codes |= Q(code__startswith=prefix)
    rows = Event.objects.filter(codes, seq__lte=last).values_list(*EVENT_FIELDS)
    expected = recompute(EventRow(*row) for row in rows.iterator(chunk_size=5000))
    differences = []
    for model in SUMMARY_TABLES:
        stored, wanted = table_contents(model), expected.get(model, {})
        for key in sorted(stored.keys() | wanted.keys(), key=str):
            if stored.get(key) != wanted.get(key):
                differences.append(
                    Difference(
                        model._meta.db_table,
                        key,
                        dict(stored.get(key, {})),
                        dict(wanted.get(key, {})),
                    )
                )
    return differences

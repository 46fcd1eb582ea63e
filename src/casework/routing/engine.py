"""The router as a single writer: routing state in memory, decisions in memory, the
database written behind (docs/adr/0012-router-decides-in-memory.md).

`RouterEngine` holds what routing decisions need — agents' skills, capacity, occupancy,
presence and idle time; waiting items by their hard requirements; pending offers and the
router's timers — and changes it only through its operations. They follow the rules of
the transactional router (`router.py`): the routing table and `matching` decide what an
item needs and how that relaxes; the least occupied, then longest idle qualified agent gets
it; an agent who frees up gets the most urgent waiting item they qualify for; declined or
expired offers never go back to the same agent; an offer past its time expires and the
agent who let it ring out is set to not responding.

Every change is also noted for the database. `flush()` writes everything noted since the
last flush in one transaction — new and changed work items, offers, agents' statuses,
presence log rows, and the same events as the transactional router, with the times they
happened — so the desk, the wall-board and the reports read the tables as before, at most
one flush behind. A flush that fails keeps its notes for the next. `writing_behind()`
runs the flushes in a thread of their own while the operations go on (with
`in_process=True` that thread hands the rows to a writer process, so the writing runs on
another core than the decisions).

The engine must be the only writer of the routing tables while it runs (one engine per
database). Keys of new rows are reserved from the database beforehand (`sql.reserve_keys`),
so nothing else that inserts there collides with them. `RouterEngine.load()` rebuilds the
state from the tables — after a crash too: changes not flushed are lost, offers past their
time expire at the first `run_timers()`, and waiting items are routed again.

Affinity: the engine remembers who last served each customer for `AFFINITY_MEMORY`
(loaded at start); the transactional router asks the database, however long ago it was.

Timers (offer expiry, relaxation of an item's needs, the end of after-call work) live in
the engine: `next_timer_at()` says when the next is due, `run_timers()` runs those due.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import multiprocessing
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections import Counter, deque, namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from multiprocessing.connection import Connection
from operator import attrgetter
from typing import Any, TypeVar

from django.apps import apps
from django.db import connections, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from casework.events.models import Event
from casework.events.services import Occurred, record_all, recording_transaction
from casework.kernel import clock, realtime, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import PermissionDenied
from casework.routing import matching
from casework.routing.config import (
    AFTER_CALL_WORK,
    AVAILABLE,
    BUSY,
    NOT_RESPONDING,
    OFFLINE,
    get_channel,
    get_presence_state,
    records_presence_change,
)
from casework.routing.decisions import DecisionLog
from casework.routing.errors import (
    NoPendingOffer,
    OfferExpired,
    UnknownAgent,
    UnknownWorkItem,
    WorkItemNotActive,
)
from casework.routing.models import (
    Agent,
    AgentSkill,
    AgentStatus,
    ChannelCapacity,
    Offer,
    OfferStatus,
    PresenceLog,
    RouterLease,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.presence import allowed_presence
from casework.routing.router import (
    NOT_LOOKED_UP,
    OPEN_CASE_OWNER,
    OPEN_STATUS_VALUES,
    SYSTEM,
    NewWorkItem,
    plan_work_item,
)

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# How far back the engine remembers who served a customer (affinity): loaded at start,
# then kept up to date in memory, so routing a contact asks the database nothing about it.
AFFINITY_MEMORY = timedelta(days=14)
# Keys reserved from the database at a time, per table.
_KEY_BLOCK = 5000
# Rows and events noted but not written beyond which operations wait for the writer (a
# database slower than the decisions must not let the journal, and what a crash would
# lose, grow without end).
_JOURNAL_LIMIT = 100_000
_WAIT_FOR_WRITER_SECONDS = 5.0
# How many waiting items of one kind a freed agent looks past (affinity holds, refusals).
_SCAN_LIMIT = 40
_LAST_ID = 1 << 63  # above every key: bisects past all entries of one time
_RankKey = tuple[bool, float, datetime]  # lowest first: see `matching.rank`

_QUEUED = WorkItemStatus.QUEUED.value
_OFFERED = WorkItemStatus.OFFERED.value
_ACCEPTED = WorkItemStatus.ACCEPTED.value
_PENDING = OfferStatus.PENDING.value
_NO_AGENTS: dict[int, None] = {}


@dataclass(slots=True, eq=False)
class AgentState:
    """An agent as the router sees them; the fields an `AgentStatus` row stores, by name."""

    agent_id: int
    skills: dict[int, int]
    capacity_units: int
    used_units: int
    presence_id: str
    presence_since_at: datetime
    is_routable: bool
    idle_since_at: datetime | None
    # Where the indexes hold the agent: "idle" (routable, nothing to do), "partial"
    # (routable, room left) or "" (not offered anything).
    slot: str = ""
    after_work_until: datetime | None = None
    last_completed: tuple[int, datetime] | None = None


@dataclass(slots=True, eq=False)
class ItemState:
    """A work item as the router sees it; the fields a `WorkItem` row stores, by name."""

    id: int
    channel: str
    external_id: str
    customer_id: int | None
    case_id: int | None
    queue_id: int
    rule_id: int | None
    language: str
    priority: int
    units: int
    requirements: dict[str, Any]
    required_key: str
    preferred_agent_id: int | None
    status: str
    agent_id: int | None
    offer_expires_at: datetime | None
    queued_at: datetime
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    plan: matching.RoutingPlan = field(default_factory=matching.RoutingPlan)
    offer: OfferState | None = None  # the pending offer
    refused: set[int] = field(default_factory=set)  # agents who declined or let it expire
    reroute_at: datetime | None = None


@dataclass(slots=True, eq=False)
class OfferState:
    id: int
    item_id: int
    agent_id: int
    status: str
    offered_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    is_affinity: bool = False


@dataclass(slots=True, eq=False)
class PresenceRow:
    id: int
    agent_id: int
    presence_id: str
    started_at: datetime
    ended_at: datetime | None
    set_by: str


@dataclass
class _Journal:
    """What changed since the last flush. Rows are the live state objects: a flush writes
    their state at that moment (an item created and changed since is inserted as it is)."""

    new_items: dict[int, ItemState] = field(default_factory=dict)
    changed_items: dict[int, ItemState] = field(default_factory=dict)
    # Facts a channel learnt after submitting (`amend`): rare, so not in every change.
    amended_items: dict[int, ItemState] = field(default_factory=dict)
    new_offers: dict[int, OfferState] = field(default_factory=dict)
    changed_offers: dict[int, OfferState] = field(default_factory=dict)
    new_statuses: dict[int, AgentState] = field(default_factory=dict)
    changed_statuses: dict[int, AgentState] = field(default_factory=dict)
    new_logs: dict[int, PresenceRow] = field(default_factory=dict)
    ended_logs: dict[int, PresenceRow] = field(default_factory=dict)
    events: list[Occurred] = field(default_factory=list)
    signals: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # The new items by (channel, external id): a repeated submit finds one not written yet.
    external_ids: dict[tuple[str, str], ItemState] = field(default_factory=dict)
    # A snapshot's rows are plain tuples of their row type's fields (`_ROW_TYPES`).
    is_frozen: bool = False
    # The last record of the decision log (`decisions.py`) whose changes this journal holds.
    decided_through: int = 0

    def snapshot(self) -> _Journal:
        """The journal with its rows as they are now, frozen into plain tuples (the
        operations go on changing the originals while a flush writes the copies; plain
        tuples pickle without a Python call per row on their way to a writer process)."""
        frozen = {
            name: _frozen(getattr(self, name), read) for name, (_, read) in _ROW_TYPES.items()
        }
        return _Journal(
            **frozen,
            events=list(self.events),
            signals=list(self.signals),
            is_frozen=True,
            decided_through=self.decided_through,
        )

    def rows(self, name: str) -> list[Any]:
        """One kind of row (e.g. `new_items`), each with its fields as attributes."""
        rows = getattr(self, name).values()
        return list(map(_ROW_TYPES[name][0]._make, rows)) if self.is_frozen else list(rows)

    def __len__(self) -> int:
        return (
            len(self.new_items)
            + len(self.changed_items)
            + len(self.amended_items)
            + len(self.new_offers)
            + len(self.changed_offers)
            + len(self.new_statuses)
            + len(self.changed_statuses)
            + len(self.new_logs)
            + len(self.ended_logs)
            + len(self.events)
        )


_ITEM_FIELDS = (
    "status", "agent_id", "offer_expires_at", "accepted_at", "ended_at", "required_key", "units",
)  # fmt: skip
_OFFER_FIELDS = ("status", "answered_at")
_STATUS_FIELDS = ("presence_id", "presence_since_at", "is_routable", "used_units", "idle_since_at")
_ITEM_ATTRIBUTES = (
    "id", "channel", "external_id", "customer_id", "case_id", "queue_id", "rule_id",
    "language", "priority", "units", "requirements", "required_key", "preferred_agent_id",
    "status", "agent_id", "offer_expires_at", "queued_at", "accepted_at", "ended_at",
)  # fmt: skip


def _exclusive(operation: F) -> F:
    """One operation at a time: the engine's state has a single writer."""

    @wraps(operation)
    def exclusive(self: RouterEngine, *args: Any, **kwargs: Any) -> Any:
        if self._behind and len(self._journal) > _JOURNAL_LIMIT:
            self._wait_for_writer()
        with self._lock:
            if self._decisions is None:
                return operation(self, *args, **kwargs)
            self._touched, events_before = {}, len(self._journal.events)
            try:
                return operation(self, *args, **kwargs)
            finally:  # also what an operation changed before it raised
                self._log_decisions(events_before)

    return exclusive  # type: ignore[return-value]


def _row_type(name: str, fields: Sequence[str]) -> tuple[type, Callable[[Any], tuple[Any, ...]]]:
    """A tuple type with the named fields, and how to read them off a state object."""
    return namedtuple(name, fields), attrgetter(*fields)


_ITEM_ROW = _row_type("ItemRow", _ITEM_ATTRIBUTES)
_CHANGED_ITEM_ROW = _row_type("ChangedItemRow", ("id", *_ITEM_FIELDS))
_AMENDED_FIELDS = ("customer_id", "case_id", "priority")
_AMENDED_ITEM_ROW = _row_type("AmendedItemRow", ("id", *_AMENDED_FIELDS))
_OFFER_ROW = _row_type(
    "OfferRow",
    (
        "id",
        "item_id",
        "agent_id",
        "status",
        "offered_at",
        "expires_at",
        "answered_at",
        "is_affinity",
    ),
)
_CHANGED_OFFER_ROW = _row_type("ChangedOfferRow", ("id", *_OFFER_FIELDS))
_STATUS_ROW = _row_type("StatusRow", ("agent_id", "capacity_units", *_STATUS_FIELDS))
_CHANGED_STATUS_ROW = _row_type("ChangedStatusRow", ("agent_id", *_STATUS_FIELDS))
_LOG_ROW = _row_type(
    "LogRow", ("id", "agent_id", "presence_id", "started_at", "ended_at", "set_by")
)
_ENDED_LOG_ROW = _row_type("EndedLogRow", ("id", "ended_at"))
_ROW_TYPES = {
    "new_items": _ITEM_ROW,
    "changed_items": _CHANGED_ITEM_ROW,
    "amended_items": _AMENDED_ITEM_ROW,
    "new_offers": _OFFER_ROW,
    "changed_offers": _CHANGED_OFFER_ROW,
    "new_statuses": _STATUS_ROW,
    "changed_statuses": _CHANGED_STATUS_ROW,
    "new_logs": _LOG_ROW,
    "ended_logs": _ENDED_LOG_ROW,
}
# The full rows the decision log keeps, by kind (`decisions.py`).
ROW_FIELDS = {
    "item": _ITEM_ROW[0]._fields,
    "offer": _OFFER_ROW[0]._fields,
    "status": _STATUS_ROW[0]._fields,
    "log": _LOG_ROW[0]._fields,
}
_KIND_OF = {ItemState: "item", OfferState: "offer", AgentState: "status", PresenceRow: "log"}
_FULL_ROW = {
    ItemState: _ITEM_ROW[1],
    OfferState: _OFFER_ROW[1],
    AgentState: _STATUS_ROW[1],
    PresenceRow: _LOG_ROW[1],
}


def _frozen(
    rows: Mapping[int, Any], read: Callable[[Any], tuple[Any, ...]]
) -> dict[int, tuple[Any, ...]]:
    return {key: read(row) for key, row in rows.items()}


class RouterEngine:
    def __init__(self) -> None:
        self._agents: dict[int, AgentState] = {}
        self._items: dict[int, ItemState] = {}  # queued, offered or accepted
        self._by_external_id: dict[tuple[str, str], ItemState] = {}
        self._open_logs: dict[int, PresenceRow] = {}
        self._last_agent: dict[int, int] = {}  # customer → agent who last took their work
        # Routable agents with nothing to do, in the order they became idle (longest first),
        # all and per skill; routable agents with room left, all and per skill.
        self._idle: dict[int, None] = {}
        self._idle_by_skill: dict[int, dict[int, None]] = {}
        self._partial: dict[int, None] = {}
        self._partial_by_skill: dict[int, dict[int, None]] = {}
        # Waiting items: required key → priority → [(queued_at, item id)] in order.
        self._waiting: dict[str, dict[int, list[tuple[datetime, int]]]] = {}
        # The longest service level target of any item queued so far (0: none had one).
        self._longest_target = 0
        self._key_requirements: dict[str, tuple[matching.Requirement, ...]] = {}
        self._timers: list[tuple[datetime, int, str, Any]] = []
        self._timer_seq = itertools.count()
        self._keys: dict[type[Model], deque[int]] = {}
        self._keys_taken: Counter[type[Model]] = Counter()  # since the last top-up
        self._writer: _WriterProcess | None = None
        self._flushed = threading.Condition()  # notified after every flush
        # A journal its writer process may or may not have committed, and how to tell.
        self._unsure: tuple[_Journal, tuple[Any, ...] | None] | None = None
        self._journal = _Journal()
        self._writing: _Journal | None = None  # the journal a flush is writing now
        # Operations, and a flush's swap of the journal, one at a time (see `flush`).
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._behind = False  # a writer thread flushes (`writing_behind`)
        self.flushes: list[tuple[int, float]] = []  # rows and events, seconds per flush
        # Offers made since the caller last took them (`take_new_offers`).
        self._new_offers: list[OfferState] = []
        # The router process's log of decisions (`log_decisions`), and the rows the running
        # operation changed, for it.
        self._decisions: DecisionLog | None = None
        self._touched: dict[int, Any] | None = None

    # --- Loading -------------------------------------------------------------------------

    @classmethod
    def load(cls) -> RouterEngine:
        """The state the routing tables hold now."""
        engine = cls()
        skills: dict[int, dict[int, int]] = {}
        for agent_id, skill_id, level in AgentSkill.objects.values_list(
            "agent_id", "skill_id", "proficiency"
        ):
            skills.setdefault(agent_id, {})[skill_id] = level
        statuses = sql.select(AgentStatus, "SELECT {columns} FROM routing_agentstatus t", [])
        statuses.sort(key=lambda s: (s.idle_since_at or s.presence_since_at, s.agent_id))
        after_work = max(
            (c.after_work_seconds for c in ChannelCapacity.objects.filter(sets_busy=True)),
            default=0,
        )
        for status in statuses:
            agent = _agent_state(status, skills.get(status.agent_id, {}))
            engine._agents[agent.agent_id] = agent
            engine._reindex(agent)
            if agent.presence_id == AFTER_CALL_WORK:
                agent.after_work_until = agent.presence_since_at + timedelta(seconds=after_work)
                engine._schedule(agent.after_work_until, "after_work", agent)
        for row in sql.select(PresenceLog, _OPEN_LOGS, []):
            engine._open_logs[row.agent_id] = _presence_row(row)
        active = [_QUEUED, _OFFERED, _ACCEPTED]
        for row in sql.select(WorkItem, _ACTIVE_ITEMS, active):
            item = _item_state(row)
            engine._items[item.id] = item
            if item.external_id:
                engine._by_external_id[(item.channel, item.external_id)] = item
        if engine._items:
            ids = list(engine._items)
            placeholders = ", ".join(["%s"] * len(ids))
            offers = f"SELECT {{columns}} FROM routing_offer t WHERE t.item_id IN ({placeholders})"
            for offer in sql.select(Offer, offers, ids):
                item = engine._items[offer.item_id]
                if offer.status == _PENDING:
                    item.offer = OfferState(
                        offer.pk, offer.item_id, offer.agent_id, offer.status,
                        offer.offered_at, offer.expires_at, None, offer.is_affinity,
                    )  # fmt: skip
                    engine._schedule(offer.expires_at, "expire", item.offer)
                elif offer.status in (OfferStatus.DECLINED, OfferStatus.EXPIRED):
                    item.refused.add(offer.agent_id)
        now = clock.now()
        since = now - AFFINITY_MEMORY
        for customer_id, agent_id in (
            WorkItem.objects.filter(
                accepted_at__gte=since, customer_id__isnull=False, agent_id__isnull=False
            )
            .order_by("accepted_at")
            .values_list("customer_id", "agent_id")
        ):
            engine._last_agent[customer_id] = agent_id  # the latest wins
        for item in engine._items.values():
            if item.status == _QUEUED:
                engine._enqueue(item)
                item.reroute_at = now  # look for an agent at the first run_timers()
                engine._schedule(now, "reroute", item)
        return engine

    # --- Submitting and routing ------------------------------------------------------------

    @_exclusive
    def submit(self, new: NewWorkItem, *, actor: Actor) -> ItemState:
        """Queue a work item and offer it to the best agent who qualifies now, if any. An
        `external_id` submitted before gives the item it made."""
        if new.external_id:
            known = self._by_external_id.get((new.channel, new.external_id))
            if known is None:  # finished already, perhaps not written yet
                known = self._unwritten_item(new.channel, new.external_id)
            if known is not None:
                return known
        stored_id, case_owner = self._look_up(new)
        if stored_id is not None:
            return self._get_item(stored_id)
        now = clock.now()
        planned = plan_work_item(
            new, now=now, affinity=_Affinity(self._last_agent, case_owner, self._agents)
        )
        item = ItemState(
            id=self._next_key(WorkItem),
            agent_id=None,
            offer_expires_at=None,
            plan=planned.plan,
            **planned.new_item_fields(new, now),
        )
        self._items[item.id] = item
        if item.external_id:
            self._by_external_id[(item.channel, item.external_id)] = item
        self._journal.new_items[item.id] = item
        self._touch(item)
        if item.external_id:
            self._journal.external_ids[(item.channel, item.external_id)] = item
        self._note("work_item.queued", actor, item.id, planned.queued_payload(item.id), now)
        self._route(item, planned.channel, now)
        return item

    def _untaken_item(self, item_id: int, refusal: str) -> ItemState:
        """The item, if still queued or offered; else `WorkItemNotActive` with `refusal`."""
        item = self._get_item(item_id)
        if item.status not in (_QUEUED, _OFFERED):
            raise _not_active(item, refusal)
        return item

    def _unwritten_item(self, channel: str, external_id: str) -> ItemState | None:
        unsure = self._unsure[0] if self._unsure is not None else None
        for journal in (self._journal, self._writing, unsure):
            if journal is not None and (channel, external_id) in journal.external_ids:
                return journal.external_ids[(channel, external_id)]
        return None

    def _look_up(self, new: NewWorkItem) -> tuple[int | None, int | None]:
        """What a new item needs from the tables, in one round trip: the item a channel
        submitted before under this id, and the owner of the customer's open case where
        affinity may ask for it (the customer's last agent is known here)."""
        customer_id = new.customer_id
        asks_owner = (
            new.affinity
            and new.preferred_agent_id is None
            and new.case_id is None
            and customer_id is not None
            and customer_id not in self._last_agent
            and new.open_case_owner is NOT_LOOKED_UP
        )
        asks_item = bool(new.external_id) and not new.first_submission
        if not asks_item and not asks_owner:
            return None, None
        row = sql.fetch_one_prepared(
            _LOOK_UP,
            [
                new.channel,
                new.external_id if asks_item else "",
                customer_id if asks_owner else None,
                *OPEN_STATUS_VALUES,
            ],
        )
        assert row is not None  # a SELECT of two subqueries has its row
        return row[0], row[1]

    def _route(self, item: ItemState, channel: ChannelCapacity, now: datetime) -> None:
        """Offer a waiting item to the best qualified agent; if none qualifies now, it
        waits, and is looked at again when its needs relax."""
        needs = matching.needs_at(item.plan, (now - item.queued_at).total_seconds())
        agent = self._find_agent(item, needs)
        if agent is not None:
            self._offer(item, agent, channel, now, is_affinity=needs.only_agent_id is not None)
            return
        self._enqueue(item)
        if needs.changes_after is not None:
            at = item.queued_at + timedelta(seconds=needs.changes_after)
            if at != item.reroute_at:
                item.reroute_at = at
                self._schedule(at, "reroute", item)

    def _find_agent(self, item: ItemState, needs: matching.Needs) -> AgentState | None:
        """The qualified agent with room for the item: least occupied, then longest idle."""
        units, refused, skills = item.units, item.refused, needs.skills
        if needs.only_agent_id is not None:
            agent = self._agents.get(needs.only_agent_id)
            if (
                agent is not None
                and agent.slot
                and agent.used_units + units <= agent.capacity_units
                and agent.agent_id not in refused
                and _meets(agent.skills, skills)
            ):
                return agent
            return None
        agents = self._agents
        idle = (
            min((self._idle_by_skill.get(s, _NO_AGENTS) for s, _l in skills), key=len)
            if skills
            else self._idle
        )
        for agent_id in idle:
            agent = agents[agent_id]
            if (
                units <= agent.capacity_units
                and agent_id not in refused
                and _meets(agent.skills, skills)
            ):
                return agent
        partial = (
            min((self._partial_by_skill.get(s, _NO_AGENTS) for s, _l in skills), key=len)
            if skills
            else self._partial
        )
        best: AgentState | None = None
        for agent_id in partial:
            agent = agents[agent_id]
            if (
                agent.used_units + units <= agent.capacity_units
                and agent_id not in refused
                and _meets(agent.skills, skills)
                and (best is None or _occupancy_order(agent) < _occupancy_order(best))
            ):
                best = agent
        return best

    def _offer(
        self,
        item: ItemState,
        agent: AgentState,
        channel: ChannelCapacity,
        now: datetime,
        *,
        is_affinity: bool,
    ) -> OfferState:
        self._dequeue(item)
        expires_at = now + timedelta(seconds=channel.offer_timeout_seconds)
        item.status, item.agent_id, item.offer_expires_at = _OFFERED, agent.agent_id, expires_at
        self._item_changed(item)
        agent.used_units += item.units
        self._status_changed(agent)
        self._reindex(agent)
        offer = OfferState(
            self._next_key(Offer), item.id, agent.agent_id, _PENDING, now, expires_at,
            None, is_affinity,
        )  # fmt: skip
        item.offer = offer
        self._journal.new_offers[offer.id] = offer
        self._touch(offer)
        self._new_offers.append(offer)
        self._schedule(expires_at, "expire", offer)
        self._journal.signals.append(
            (agent.agent_id, {"kind": "offer", "item": item.id, "channel": item.channel})
        )
        payload = {
            "offer_id": offer.id,
            "agent_id": agent.agent_id,
            "expires_at": expires_at,
            "is_affinity": is_affinity,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
        }
        self._note("work_item.offered", SYSTEM, item.id, payload, now)
        return offer

    def _offer_waiting_work(self, agent: AgentState, now: datetime) -> OfferState | None:
        """The waiting item that ranks first (`matching.rank`) among those the agent
        qualifies for and has room for, offered to them."""
        if not agent.is_routable or not self._waiting:
            return None
        free = agent.capacity_units - agent.used_units
        if free <= 0:
            return None
        target_cutoff = (now - timedelta(seconds=self._longest_target), _LAST_ID)
        best: tuple[_RankKey, ItemState, matching.Needs] | None = None
        for key, by_priority in self._waiting.items():
            if not _meets(agent.skills, self._requirements_of(key)):
                continue
            for entries in by_priority.values():
                # In queue order, the first that qualifies is the most urgent of its kind;
                # and the first still within its target, which ranks above all that missed it.
                scans = [(0, False)]
                if self._longest_target:
                    scans.append((bisect_right(entries, target_cutoff), True))
                for start, within_target in scans:
                    found = self._first_qualifying(
                        entries, start, agent, free, now, within_target=within_target
                    )
                    if found is None:
                        continue
                    item, needs, key = found
                    if best is None or key < best[0]:
                        best = (key, item, needs)
        if best is None:
            return None
        _key, item, needs = best
        return self._offer(
            item, agent, get_channel(item.channel), now, is_affinity=needs.only_agent_id is not None
        )

    def _first_qualifying(
        self,
        entries: list[tuple[datetime, int]],
        start: int,
        agent: AgentState,
        free: int,
        now: datetime,
        *,
        within_target: bool,
    ) -> tuple[ItemState, matching.Needs, _RankKey] | None:
        """From `start` on, the first waiting item the agent may take (if `within_target`,
        the first that can still make its service level target), with its sort key: rank
        first, then the longest waiting."""
        for queued_at, item_id in entries[start : start + _SCAN_LIMIT]:
            item = self._items[item_id]
            if item.units > free or agent.agent_id in item.refused:
                continue
            waited = (now - queued_at).total_seconds()
            if within_target and not matching.within_target(item.plan, waited):
                continue
            needs = matching.needs_at(item.plan, waited)
            if not matching.qualifies(agent.agent_id, agent.skills, needs):
                continue
            in_target, urgency = matching.rank(item.priority, waited, item.plan)
            return item, needs, (not in_target, -urgency, queued_at)
        return None

    # --- Answering an offer ----------------------------------------------------------------

    @_exclusive
    def accept(self, item_id: int, *, actor: Actor) -> ItemState:
        """The agent the item is offered to takes it. An offer past its time has expired
        even if its timer has not run yet: it expires here (the item is routed on) and
        `OfferExpired` is raised."""
        return self._accept(item_id, actor)

    def _accept(self, item_id: int, actor: Actor) -> ItemState:
        agent_id = _acting_agent(actor)
        item = self._get_item(item_id)
        offer = _pending_offer(item, agent_id)
        now = clock.now()
        if offer.expires_at <= now:
            # Too late, but the agent is at the desk: they stay available.
            self._end_offer(item, offer, OfferStatus.EXPIRED, now, agent_is_present=True)
            raise OfferExpired(
                _("the offer of work item %(item_id)s expired at %(expired_at)s")
                % {
                    "item_id": item_id,
                    "expired_at": clock.localtime(offer.expires_at).strftime("%H:%M:%S"),
                },
                item_id=item_id,
            )
        offer.status, offer.answered_at = OfferStatus.ACCEPTED.value, now
        self._offer_changed(offer)
        item.status, item.accepted_at, item.offer_expires_at, item.offer = (
            _ACCEPTED,
            now,
            None,
            None,
        )
        self._item_changed(item)
        if item.customer_id is not None:
            self._last_agent[item.customer_id] = agent_id
        agent = self._agents[agent_id]
        if get_channel(item.channel).sets_busy and agent.is_routable:
            self._change_presence(agent, BUSY, SYSTEM, now)
        payload = {
            "offer_id": offer.id,
            "agent_id": agent_id,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
        }
        self._note("work_item.accepted", actor, item.id, payload, now)
        return item

    @_exclusive
    def take(self, item_id: int, *, agent_id: int, actor: Actor) -> ItemState:
        """Someone took the work without its offer (the telephone system connected the call
        to another line, a colleague picked it up): it is theirs now. A pending offer to
        another agent is withdrawn; the taker's occupancy takes as much of the item's units
        as they have room for (they are working it either way)."""
        item = self._untaken_item(
            item_id, _("work item %(item_id)s is %(status)s and can no longer be taken")
        )
        now = clock.now()
        offer, released = item.offer, None
        if offer is not None:
            if offer.agent_id == agent_id:
                return self._accept(item_id, actor)
            offer.status, offer.answered_at = OfferStatus.WITHDRAWN.value, now
            self._offer_changed(offer)
            released = self._agents[offer.agent_id]
            self._release(released, item, now)
        self._dequeue(item)
        agent = self._agent(agent_id)
        item.units = min(item.units, max(0, agent.capacity_units - agent.used_units))
        agent.used_units += item.units
        self._status_changed(agent)
        self._reindex(agent)
        item.status, item.agent_id, item.offer_expires_at, item.accepted_at, item.offer = (
            _ACCEPTED,
            agent_id,
            None,
            now,
            None,
        )
        self._item_changed(item)
        if item.customer_id is not None:
            self._last_agent[item.customer_id] = agent_id
        if get_channel(item.channel).sets_busy and agent.is_routable:
            self._change_presence(agent, BUSY, SYSTEM, now)
        payload = {
            "offer_id": None,
            "agent_id": agent_id,
            "waited_seconds": round((now - item.queued_at).total_seconds(), 3),
            "taken_without_offer": True,
        }
        self._note("work_item.accepted", actor, item.id, payload, now)
        if released is not None:
            self._offer_waiting_work(released, now)
        return item

    @_exclusive
    def decline(self, item_id: int, *, actor: Actor) -> ItemState:
        """The agent turns the offer down; the item goes to the next agent (never back)."""
        agent_id = _acting_agent(actor)
        item = self._get_item(item_id)
        offer = _pending_offer(item, agent_id)
        self._end_offer(item, offer, OfferStatus.DECLINED, clock.now(), actor=actor)
        return item

    def _expire(self, offer: OfferState, now: datetime) -> None:
        item = self._items.get(offer.item_id)
        if offer.status != _PENDING or item is None:
            return
        self._end_offer(item, offer, OfferStatus.EXPIRED, now)

    def _end_offer(
        self,
        item: ItemState,
        offer: OfferState,
        outcome: OfferStatus,
        now: datetime,
        *,
        actor: Actor = SYSTEM,
        agent_is_present: bool = False,
    ) -> None:
        offer.status, offer.answered_at = outcome.value, now
        self._offer_changed(offer)
        item.status, item.agent_id, item.offer_expires_at, item.offer = _QUEUED, None, None, None
        item.refused.add(offer.agent_id)
        self._item_changed(item)
        agent = self._agents[offer.agent_id]
        self._release(agent, item, now)
        if outcome == OfferStatus.EXPIRED and agent.is_routable and not agent_is_present:
            self._change_presence(agent, NOT_RESPONDING, SYSTEM, now)
        declined = outcome == OfferStatus.DECLINED
        code = "work_item.declined" if declined else "work_item.offer_expired"
        self._note(code, actor, item.id, {"offer_id": offer.id, "agent_id": offer.agent_id}, now)
        self._route(item, get_channel(item.channel), now)
        if declined:
            self._offer_waiting_work(agent, now)

    # --- Ending work -----------------------------------------------------------------------

    @_exclusive
    def complete(self, item_id: int, *, actor: Actor) -> ItemState:
        """The agent has finished the item: the capacity is free again; a call starts the
        channel's after-call work, otherwise the agent is offered the next waiting item."""
        item = self._get_item(item_id)
        if item.status != _ACCEPTED:
            raise _not_active(item, _("work item %(item_id)s is %(status)s, not being worked"))
        now = clock.now()
        item.status, item.ended_at = WorkItemStatus.COMPLETED.value, now
        self._item_changed(item)
        self._forget(item)
        assert item.agent_id is not None  # an accepted item has its agent
        agent = self._agents[item.agent_id]
        self._release(agent, item, now)
        agent.last_completed = (item.id, now)
        payload = {
            "agent_id": item.agent_id,
            "handled_seconds": round((now - (item.accepted_at or now)).total_seconds(), 3),
        }
        self._note("work_item.completed", actor, item.id, payload, now)
        channel = get_channel(item.channel)
        if channel.sets_busy and agent.presence_id == BUSY and agent.used_units == 0:
            if channel.after_work_seconds:
                self._change_presence(agent, AFTER_CALL_WORK, SYSTEM, now)
                agent.after_work_until = now + timedelta(seconds=channel.after_work_seconds)
                self._schedule(agent.after_work_until, "after_work", agent)
                return item
            self._change_presence(agent, AVAILABLE, SYSTEM, now)
        self._offer_waiting_work(agent, now)
        return item

    @_exclusive
    def end_after_work(self, agent_id: int) -> None:
        """The agent wrapped up before the after-call work timer ran out: available now,
        unless they chose another state meanwhile (the timer then finds nothing to do)."""
        agent = self._agents.get(agent_id)
        if agent is None or agent.presence_id != AFTER_CALL_WORK:
            return
        now = clock.now()
        self._change_presence(agent, AVAILABLE, SYSTEM, now)
        self._offer_waiting_work(agent, now)

    def _end_after_work(self, agent: AgentState, at: datetime, now: datetime) -> None:
        if agent.presence_id != AFTER_CALL_WORK or agent.after_work_until != at:
            return  # the agent chose another state meanwhile, or a later call's timer runs
        self._change_presence(agent, AVAILABLE, SYSTEM, now)
        self._offer_waiting_work(agent, now)

    @_exclusive
    def withdraw(self, item_id: int, *, actor: Actor, reason: str = "") -> ItemState:
        """The customer hung up or left before an agent took the item: a pending offer is
        withdrawn and its capacity freed."""
        item = self._untaken_item(
            item_id, _("work item %(item_id)s is %(status)s and can no longer be withdrawn")
        )
        now = clock.now()
        offer, agent = item.offer, None
        if offer is not None:
            offer.status, offer.answered_at = OfferStatus.WITHDRAWN.value, now
            self._offer_changed(offer)
            agent = self._agents[offer.agent_id]
            self._release(agent, item, now)
        self._dequeue(item)
        item.status, item.ended_at, item.offer_expires_at, item.offer = (
            WorkItemStatus.WITHDRAWN.value,
            now,
            None,
            None,
        )
        self._item_changed(item)
        self._forget(item)
        waited = round((now - item.queued_at).total_seconds(), 3)
        payload = {"reason": reason, "waited_seconds": waited}
        self._note("work_item.withdrawn", actor, item.id, payload, now)
        if agent is not None:
            self._offer_waiting_work(agent, now)
        return item

    def _reroute(self, item: ItemState, at: datetime, now: datetime) -> None:
        if item.status != _QUEUED or item.reroute_at != at or item.id not in self._items:
            return
        waited = (now - item.queued_at).total_seconds()
        required_key = matching.requirement_key(matching.hard_requirements(item.plan, waited))
        if required_key != item.required_key:  # overflowed to the next tier
            self._dequeue(item)
            item.required_key = required_key
            self._item_changed(item)
        self._route(item, get_channel(item.channel), now)

    @_exclusive
    def amend(
        self,
        item_id: int,
        *,
        customer_id: int | None = None,
        case_id: int | None = None,
        min_priority: int | None = None,
    ) -> ItemState:
        """Facts a channel learnt after submitting: the customer (only for an item that had
        none: the caller was identified during the call), the case it moved to, a priority
        it must have at least while it waits (a callback whose window ended)."""
        item = self._get_item(item_id)
        if customer_id is not None and item.customer_id is None:
            item.customer_id = customer_id
        if case_id is not None:
            item.case_id = case_id
        if (
            min_priority is not None
            and item.priority < min_priority
            and item.status in (_QUEUED, _OFFERED)
        ):
            waiting = self._dequeue(item)
            item.priority = min_priority
            if waiting:
                self._enqueue(item)
        self._touch(item)
        if item.id not in self._journal.new_items:
            self._journal.amended_items[item.id] = item
        return item

    @_exclusive
    def item(self, item_id: int) -> ItemState | None:
        """The item as the router knows it now (also one finished and not written yet);
        `None` for an id it never gave."""
        try:
            return self._get_item(item_id)
        except UnknownWorkItem:
            return None

    # --- Presence --------------------------------------------------------------------------

    @_exclusive
    def set_presence(self, agent_id: int, state: str, *, actor: Actor) -> AgentState:
        """An agent (or their supervisor, or the system) sets the agent's presence. Becoming
        available hands the agent the most urgent waiting work they qualify for."""
        presence = allowed_presence(agent_id, state, actor)
        agent = self._agent(agent_id)
        now = clock.now()
        self._change_presence(agent, presence.code, actor, now)
        if agent.is_routable:
            self._offer_waiting_work(agent, now)
        return agent

    def _agent(self, agent_id: int) -> AgentState:
        """The agent's state: read from the tables if the agent came after the engine
        loaded; an agent who has never had a status starts offline."""
        agent = self._agents.get(agent_id)
        if agent is not None:
            return agent
        if not Agent.objects.filter(pk=agent_id, user__is_active=True).exists():
            raise UnknownAgent(
                _("agent %(agent_id)s not found") % {"agent_id": agent_id}, agent_id=agent_id
            )
        skills = dict(
            AgentSkill.objects.filter(agent_id=agent_id).values_list("skill_id", "proficiency")
        )
        stored = sql.select(AgentStatus, _STATUS, [agent_id])
        if stored:
            agent = _agent_state(stored[0], skills)
            self._agents[agent_id] = agent
            self._reindex(agent)
            for row in sql.select(PresenceLog, _OPEN_LOGS + " AND t.agent_id = %s", [agent_id]):
                self._open_logs[agent_id] = _presence_row(row)
            return agent
        now = clock.now()
        agent = AgentState(agent_id, skills, 100, 0, OFFLINE, now, False, now)
        self._agents[agent_id] = agent
        self._journal.new_statuses[agent_id] = agent
        self._touch(agent)
        self._open_log(agent, OFFLINE, "system:routing", now)
        return agent

    @_exclusive
    def refresh_agent(self, agent_id: int) -> None:
        """Read an agent's skills and capacity again (after an administrator changed
        them)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return
        stored = sql.select(AgentStatus, _STATUS, [agent_id])
        skills = dict(
            AgentSkill.objects.filter(agent_id=agent_id).values_list("skill_id", "proficiency")
        )
        slot = agent.slot
        agent.is_routable = False  # out of every index under the old skills
        self._reindex(agent)
        agent.skills = skills
        if stored:
            agent.capacity_units = stored[0].capacity_units
        agent.is_routable = get_presence_state(agent.presence_id).is_routable
        self._reindex(agent, moved=bool(slot))

    def _change_presence(self, agent: AgentState, code: str, actor: Actor, now: datetime) -> None:
        previous = agent.presence_id
        if previous == code:
            return
        presence = get_presence_state(code)
        log = self._open_logs.get(agent.agent_id)
        if log is not None:
            log.ended_at = now
            self._touch(log)
            if log.id not in self._journal.new_logs:
                self._journal.ended_logs[log.id] = log
        self._open_log(agent, code, actor.label, now)
        became_routable = presence.is_routable and not agent.is_routable
        agent.presence_id, agent.presence_since_at = code, now
        agent.is_routable = presence.is_routable
        if became_routable:
            agent.idle_since_at = now
        self._status_changed(agent)
        self._reindex(agent, moved=became_routable)
        if records_presence_change(previous, code, actor):
            payload = {"before": {"presence": previous}, "after": {"presence": code}}
            self._note("presence.changed", actor, agent.agent_id, payload, now, object_type="agent")
        if previous == AFTER_CALL_WORK:
            self._wrapped_up(agent, actor, now)

    def _open_log(self, agent: AgentState, code: str, set_by: str, now: datetime) -> None:
        log = PresenceRow(self._next_key(PresenceLog), agent.agent_id, code, now, None, set_by)
        self._open_logs[agent.agent_id] = log
        self._journal.new_logs[log.id] = log
        self._touch(log)

    def _wrapped_up(self, agent: AgentState, actor: Actor, now: datetime) -> None:
        """After-call work ended: it belongs to the agent's last completed item."""
        last = agent.last_completed
        if last is None:  # completed before the engine loaded
            last = (
                WorkItem.objects.filter(agent_id=agent.agent_id, status=WorkItemStatus.COMPLETED)
                .order_by("-ended_at")
                .values_list("pk", "ended_at")
                .first()
            )
            if last is None or last[1] is None:
                return
        item_id, ended_at = last
        payload = {
            "agent_id": agent.agent_id,
            "after_work_seconds": round(max((now - ended_at).total_seconds(), 0), 3),
        }
        self._note("work_item.wrapped_up", actor, item_id, payload, now)

    @_exclusive
    def agent_state(self, agent_id: int) -> AgentState | None:
        """The agent as the router sees them now (for reading only)."""
        return self._agents.get(agent_id)

    # --- Timers ----------------------------------------------------------------------------

    @_exclusive
    def next_timer_at(self) -> datetime | None:
        return self._timers[0][0] if self._timers else None

    @_exclusive
    def run_timers(self) -> int:
        """Run the timers due by now (offer expiry, relaxation, end of after-call work)."""
        now = clock.now()
        ran = 0
        while self._timers and self._timers[0][0] <= now:
            at, _seq, kind, target = heapq.heappop(self._timers)
            ran += 1
            if kind == "expire":
                self._expire(target, now)
            elif kind == "reroute":
                self._reroute(target, at, now)
            else:
                self._end_after_work(target, at, now)
        return ran

    def _schedule(self, at: datetime, kind: str, target: Any) -> None:
        heapq.heappush(self._timers, (at, next(self._timer_seq), kind, target))

    # --- Writing behind --------------------------------------------------------------------

    @property
    def unflushed(self) -> int:
        """Rows and events noted since the last flush."""
        return len(self._journal)

    @_exclusive
    def take_new_offers(self) -> list[OfferState]:
        """The offers made since the last call (for a caller that connects them)."""
        offers, self._new_offers = self._new_offers, []
        return offers

    def flush(self) -> int:
        """Write everything noted since the last flush in one transaction; returns how
        many rows and events that was. If it fails, nothing is written and the notes stay
        for the next flush. Under `writing_behind()` it runs in the writer thread: the rows
        are copied as they are at its start, and the operations wait only for that."""
        with self._flushing:
            began = time.perf_counter()
            if self._unsure is not None:
                self._settle_unsure()
            with self._lock:
                journal = self._journal
                size = len(journal)
                if not size:
                    return 0
                self._journal, self._writing = _Journal(), journal
                # Copies only where operations may run meanwhile (the writer thread).
                snapshot = journal.snapshot() if self._behind else journal
            wanted = self._keys_wanted()
            try:
                if self._writer is not None:
                    reserved = self._writer.write(snapshot, wanted)
                else:
                    reserved = write_journal(snapshot, wanted)
            except WriterLost:
                # Written or not: the next flush asks the tables before it writes it again.
                with self._lock:
                    self._unsure, self._writing = (journal, _probe(snapshot)), None
                raise
            except BaseException:
                with self._lock:
                    self._journal, self._writing = _merge(journal, self._journal), None
                raise
            with self._lock:
                self._writing = None
                for model, keys in reserved.items():
                    self._keys.setdefault(model, deque()).extend(keys)
            if self._decisions is not None and journal.decided_through:
                self._decisions.forget_through(journal.decided_through)
            self.flushes.append((size, time.perf_counter() - began))
            with self._flushed:
                self._flushed.notify_all()
            return size

    def _wait_for_writer(self) -> None:
        """Back-pressure: wait (a while at most) for a flush to take the journal on."""
        with self._flushed:
            self._flushed.wait(timeout=_WAIT_FOR_WRITER_SECONDS)

    def _settle_unsure(self) -> None:
        """The journal of a flush whose writer died before it answered: forgotten if the
        tables have its first new row (or event), else merged into the notes to write now
        (one that only updates rows is simply written again)."""
        assert self._unsure is not None
        journal, probe = self._unsure
        written = probe is not None and (
            self._writer.was_written(probe) if self._writer else was_written(probe)
        )
        with self._lock:
            if not written:
                self._journal = _merge(journal, self._journal)
            self._unsure = None

    @contextmanager
    def writing_behind(self, interval: float, *, in_process: bool = False) -> Iterator[None]:
        """While the block runs, a thread of its own (with its own database connection)
        flushes every `interval` seconds; the last flush when the block ends. A flush that
        fails is logged and its notes are written by the next.

        `in_process`: the thread hands each flush's rows to a writer process (forked here:
        enter the block before starting threads that hold locks) that writes them, leaving
        this process's interpreter to the decisions. If the writer dies, the next flush
        starts another, and first asks the tables whether the unanswered flush was
        written."""
        if in_process:
            self._writer = _WriterProcess()
            self._writer.start()
        try:
            with self._writing_thread(interval):
                yield
        finally:
            if self._writer is not None:
                self._writer.stop()
                self._writer = None

    @contextmanager
    def _writing_thread(self, interval: float) -> Iterator[None]:
        stop = threading.Event()

        def write() -> None:
            try:
                wait = interval
                while not stop.wait(wait):
                    began = time.monotonic()
                    try:
                        self.flush()
                    except Exception:
                        logger.exception("routing changes not written yet; trying again")
                        wait = interval
                    else:
                        # A flush starts every `interval`, or at once after a longer one.
                        wait = max(0.0, interval - (time.monotonic() - began))
            finally:
                connections.close_all()  # this thread's own

        writer = threading.Thread(target=write, name="router-write-behind", daemon=True)
        self._behind = True
        writer.start()
        try:
            yield
        finally:
            stop.set()
            writer.join()
            self._behind = False
            self._last_flush()

    def _last_flush(self) -> None:
        """The flush at the end of writing behind; a writer process that died during it is
        replaced (once), as the writer thread would have done."""
        try:
            self.flush()
        except WriterLost:
            logger.exception("routing changes not written yet; trying again")
            self.flush()

    # --- Bookkeeping -----------------------------------------------------------------------

    def _next_key(self, model: type[Model]) -> int:
        keys = self._keys.get(model)
        if not keys:  # the flushes' top-up ran short
            keys = self._keys[model] = deque(sql.reserve_keys(model, _KEY_BLOCK))
        self._keys_taken[model] += 1
        return keys.popleft()

    def log_decisions(self, log: DecisionLog) -> None:
        """From now on every operation's changes go to `log` before it answers; a flush
        forgets what it wrote (the router process: docs/routing-process.md)."""
        with self._lock:
            self._decisions = log

    def reserve_keys(self) -> None:
        """Fill the reserve of keys now (a router process, before it answers): its first
        operations then write nothing, and never wait for a caller's transaction."""
        wanted = self._keys_wanted()
        with transaction.atomic():
            reserved = {model: sql.reserve_keys(model, count) for model, count in wanted.items()}
        with self._lock:
            for model, keys in reserved.items():
                self._keys.setdefault(model, deque()).extend(keys)

    def _keys_wanted(self) -> dict[type[Model], int]:
        """How many keys a flush reserves for each table whose reserve runs low, so the
        operations need not reserve any themselves (on SQLite that would wait for the
        flush's write lock): enough for three times what they took since the last flush,
        as a flush may take longer than the one before. The keys join the reserve only
        once the flush has committed."""
        # Read without the operations' lock (counts may be a little off; no harm).
        wanted = {}
        for model in (WorkItem, Offer, PresenceLog):
            taken, self._keys_taken[model] = self._keys_taken[model], 0
            short = max(_KEY_BLOCK, 3 * taken) - len(self._keys.get(model, ()))
            if short > 0:
                wanted[model] = max(short, _KEY_BLOCK)
        return wanted

    def _note(
        self,
        code: str,
        actor: Actor,
        object_id: int,
        payload: dict[str, Any],
        at: datetime,
        *,
        object_type: str = "work_item",
    ) -> None:
        self._journal.events.append(Occurred(code, actor, object_type, object_id, payload, at))

    def _item_changed(self, item: ItemState) -> None:
        self._touch(item)
        if item.id not in self._journal.new_items:
            self._journal.changed_items[item.id] = item

    def _offer_changed(self, offer: OfferState) -> None:
        self._touch(offer)
        if offer.id not in self._journal.new_offers:
            self._journal.changed_offers[offer.id] = offer

    def _status_changed(self, agent: AgentState) -> None:
        self._touch(agent)
        if agent.agent_id not in self._journal.new_statuses:
            self._journal.changed_statuses[agent.agent_id] = agent

    def _touch(self, row: ItemState | OfferState | AgentState | PresenceRow) -> None:
        if self._touched is not None:
            self._touched[id(row)] = row

    def _log_decisions(self, events_before: int) -> None:
        """The running operation's changes into the decision log, before it answers."""
        touched, self._touched = self._touched or {}, None
        events = self._journal.events[events_before:]
        if not touched and not events:
            return
        rows = [(_KIND_OF[type(row)], _FULL_ROW[type(row)](row)) for row in touched.values()]
        assert self._decisions is not None
        self._journal.decided_through = self._decisions.append(rows, events)

    def _get_item(self, item_id: int) -> ItemState:
        item = self._items.get(item_id)
        if item is not None:
            return item
        unsure = self._unsure[0] if self._unsure is not None else None
        for journal in (self._journal, self._writing, unsure):
            if journal is not None:
                item = journal.changed_items.get(item_id) or journal.new_items.get(item_id)
                if item is not None:
                    return item  # finished, not written yet
        stored = sql.select(WorkItem, _ITEM, [item_id])
        if not stored:
            raise UnknownWorkItem(
                _("work item %(item_id)s not found") % {"item_id": item_id}, item_id=item_id
            )
        return _item_state(stored[0])

    def _forget(self, item: ItemState) -> None:
        """A finished item leaves memory (its row is written by the next flush)."""
        self._items.pop(item.id, None)
        if item.external_id:
            self._by_external_id.pop((item.channel, item.external_id), None)

    def _release(self, agent: AgentState, item: ItemState, now: datetime) -> None:
        agent.used_units = max(0, agent.used_units - item.units)
        moved = agent.used_units == 0
        if moved:
            agent.idle_since_at = now
        self._status_changed(agent)
        self._reindex(agent, moved=moved)

    def _reindex(self, agent: AgentState, *, moved: bool = False) -> None:
        """Keep the agent in the index that matches their state: idle agents in the order
        they became idle, agents with room left apart."""
        slot = ""
        if agent.is_routable and agent.used_units < agent.capacity_units:
            slot = "idle" if agent.used_units == 0 else "partial"
        if slot == agent.slot and not moved:
            return
        agent_id = agent.agent_id
        if agent.slot == "idle":
            self._idle.pop(agent_id, None)
            for skill in agent.skills:
                self._idle_by_skill[skill].pop(agent_id, None)
        elif agent.slot == "partial":
            self._partial.pop(agent_id, None)
            for skill in agent.skills:
                self._partial_by_skill[skill].pop(agent_id, None)
        agent.slot = slot
        if slot == "idle":
            self._idle[agent_id] = None
            for skill in agent.skills:
                self._idle_by_skill.setdefault(skill, {})[agent_id] = None
        elif slot == "partial":
            self._partial[agent_id] = None
            for skill in agent.skills:
                self._partial_by_skill.setdefault(skill, {})[agent_id] = None

    def _enqueue(self, item: ItemState) -> None:
        self._longest_target = max(self._longest_target, item.plan.service_level_seconds)
        entries = self._waiting.setdefault(item.required_key, {}).setdefault(item.priority, [])
        entry = (item.queued_at, item.id)
        index = bisect_left(entries, entry)
        if index == len(entries) or entries[index] != entry:
            insort(entries, entry)

    def _dequeue(self, item: ItemState) -> bool:
        """Take the item out of the waiting lists; False if it was not in them."""
        by_priority = self._waiting.get(item.required_key)
        if by_priority is None:
            return False
        entries = by_priority.get(item.priority)
        if not entries:
            return False
        entry = (item.queued_at, item.id)
        index = bisect_left(entries, entry)
        if index < len(entries) and entries[index] == entry:
            del entries[index]
            if not entries:
                del by_priority[item.priority]
                if not by_priority:
                    del self._waiting[item.required_key]
            return True
        return False

    def _requirements_of(self, key: str) -> tuple[matching.Requirement, ...]:
        requirements = self._key_requirements.get(key)
        if requirements is None:
            requirements = self._key_requirements[key] = matching.parse_requirement_key(key)
        return requirements


# Both parts use their indexes (the first, the partial unique index: see router.py).
_LOOK_UP = (
    "SELECT (SELECT id FROM routing_workitem WHERE channel = %s AND external_id = %s"
    f" AND NOT (external_id = '')), ({OPEN_CASE_OWNER})"
)
_STATUS = "SELECT {columns} FROM routing_agentstatus t WHERE t.agent_id = %s"
_OPEN_LOGS = "SELECT {columns} FROM routing_presencelog t WHERE t.ended_at IS NULL"
_ITEM = "SELECT {columns} FROM routing_workitem t WHERE t.id = %s"
_ACTIVE_ITEMS = "SELECT {columns} FROM routing_workitem t WHERE t.status IN (%s, %s, %s)"


@dataclass(frozen=True, slots=True)
class _Affinity:
    """Affinity's facts as the engine has them: who last served whom from memory, the open
    case's owner as looked up with the item."""

    last_agents: Mapping[int, int]
    case_owner: int | None
    agents: Mapping[int, AgentState]

    def last_agent(self, customer_id: int) -> int | None:
        return self.last_agents.get(customer_id)

    def open_case_owner(self, customer_id: int) -> int | None:
        return self.case_owner

    def free_soon(self, agent_id: int, units: int) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None:
            return False
        return agent.presence_id == AFTER_CALL_WORK or (
            agent.is_routable and agent.used_units + units <= agent.capacity_units
        )


def _agent_state(status: AgentStatus, skills: dict[int, int]) -> AgentState:
    return AgentState(
        agent_id=status.agent_id,
        skills=skills,
        capacity_units=status.capacity_units,
        used_units=status.used_units,
        presence_id=status.presence_id,
        presence_since_at=status.presence_since_at,
        is_routable=status.is_routable,
        idle_since_at=status.idle_since_at,
    )


def _presence_row(row: PresenceLog) -> PresenceRow:
    return PresenceRow(row.pk, row.agent_id, row.presence_id, row.started_at, None, row.set_by)


def _item_state(row: WorkItem) -> ItemState:
    return ItemState(
        **{name: getattr(row, name) for name in _ITEM_ATTRIBUTES},
        plan=matching.RoutingPlan.from_json(row.requirements),
    )


def write_journal(
    journal: _Journal, wanted_keys: Mapping[type[Model], int]
) -> dict[type[Model], list[int]]:
    """One flush's transaction: the journal's rows and events, and the keys wanted."""
    with recording_transaction():
        _write(journal)
        return {model: sql.reserve_keys(model, count) for model, count in wanted_keys.items()}


class _WriterProcess:
    """A child process that writes the flushes' journals (the rows go through a pipe,
    pickled; the keys it reserves come back). Forked, so it shares the configuration."""

    def __init__(self) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None

    def write(
        self, journal: _Journal, wanted_keys: Mapping[type[Model], int]
    ) -> dict[type[Model], list[int]]:
        wanted = {model._meta.label: count for model, count in wanted_keys.items()}
        answer = self._ask("write", journal, wanted)
        return {apps.get_model(label): keys for label, keys in answer.items()}

    def was_written(self, probe: tuple[Any, ...]) -> bool:
        return self._ask("was_written", probe)

    def _ask(self, *request: Any) -> Any:
        if self._process is None or not self._process.is_alive():
            self.start()  # again: the one before died
        assert self._pipe is not None
        try:
            self._pipe.send(request)
            ok, answer = self._pipe.recv()
        except (EOFError, OSError) as died:
            self._process = None
            raise WriterLost("the router's writer process died") from died
        if not ok:
            raise RuntimeError(f"the router's writer process failed: {answer}")
        return answer

    def start(self) -> None:
        connections.close_all()  # the child must not share this thread's connections
        context = multiprocessing.get_context("fork")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_write_from_pipe,
            args=(child_end, self._pipe),
            name="router-writer",
            daemon=True,
        )
        self._process.start()
        child_end.close()

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            assert self._pipe is not None
            self._pipe.send(None)
            self._process.join(timeout=30)
        self._process = None


def _write_from_pipe(pipe: Connection, parent_end: Connection) -> None:
    """The writer process: write each journal that comes and answer with the keys
    reserved, or say whether a probe's row is stored; or the error. It ends when asked to,
    or when its parent is gone (killed: the pipe ends)."""
    parent_end.close()  # else the pipe never ends while this process lives
    while (request := _next_request(pipe)) is not None:
        try:
            if request[0] == "write":
                _, journal, wanted = request
                models = {apps.get_model(label): count for label, count in wanted.items()}
                reserved = write_journal(journal, models)
                answer: Any = {model._meta.label: keys for model, keys in reserved.items()}
            else:
                answer = was_written(request[1])
        except Exception as failed:
            logger.exception("routing changes not written")
            pipe.send((False, repr(failed)))
        else:
            pipe.send((True, answer))
    connections.close_all()


def _next_request(pipe: Connection) -> Any:
    try:
        return pipe.recv()
    except EOFError:
        return None


class WriterLost(RuntimeError):
    """The writer process died during a flush: its transaction may or may not have
    committed."""


def _probe(journal: _Journal) -> tuple[Any, ...] | None:
    """How to tell later whether this journal was written: a new row's key (reserved for
    it alone), else its first event; None if it only updates rows (writing it twice is
    harmless)."""
    for rows, model in (
        (journal.new_offers, Offer),
        (journal.new_items, WorkItem),
        (journal.new_logs, PresenceLog),
        (journal.new_statuses, AgentStatus),
    ):
        for key in rows:
            return ("row", model._meta.label, key)
    for event in journal.events:
        return ("event", event.object_type, event.object_id, event.code, event.at)
    return None


def was_written(probe: tuple[Any, ...]) -> bool:
    """Whether the tables hold what `_probe()` described."""
    if probe[0] == "row":
        _, label, key = probe
        return apps.get_model(label)._default_manager.filter(pk=key).exists()
    _, object_type, object_id, code, at = probe
    return Event.objects.filter(
        object_type=object_type, object_id=object_id, code=code, occurred_at=at
    ).exists()


def _write(journal: _Journal) -> None:
    """The journal's rows and events, inside the caller's transaction."""
    sql.insert_many(journal.rows("new_statuses"), model=AgentStatus, with_pk=True)
    sql.update_many(AgentStatus, _STATUS_FIELDS, journal.rows("changed_statuses"))
    sql.insert_many(journal.rows("new_items"), model=WorkItem, with_pk=True)
    sql.update_many(WorkItem, _ITEM_FIELDS, journal.rows("changed_items"))
    sql.update_many(WorkItem, _AMENDED_FIELDS, journal.rows("amended_items"))
    # Offers that ended first: an item has one pending offer at a time (a unique index).
    sql.update_many(Offer, _OFFER_FIELDS, journal.rows("changed_offers"))
    sql.insert_many(journal.rows("new_offers"), model=Offer, with_pk=True)
    sql.insert_many(journal.rows("new_logs"), model=PresenceLog, with_pk=True)
    sql.update_many(PresenceLog, ("ended_at",), journal.rows("ended_logs"))
    record_all(journal.events)
    if journal.decided_through:
        RouterLease.objects.filter(pk=1).update(decided_through=journal.decided_through)
    if journal.signals:
        realtime.publish_many(
            [(realtime.agent_group(agent_id), payload) for agent_id, payload in journal.signals]
        )


def _merge(earlier: _Journal, later: _Journal) -> _Journal:
    """A failed flush's notes with those made since, as one journal (rows are live
    objects: the later state wins; a row new in either is new)."""
    merged = _Journal()
    for name in (
        "new_items", "changed_items", "amended_items", "new_offers", "changed_offers",
        "new_statuses", "changed_statuses", "new_logs", "ended_logs",
    ):  # fmt: skip
        getattr(merged, name).update(getattr(earlier, name))
        getattr(merged, name).update(getattr(later, name))
    for new, changed in (
        (merged.new_items, merged.changed_items),
        (merged.new_items, merged.amended_items),
        (merged.new_offers, merged.changed_offers),
        (merged.new_statuses, merged.changed_statuses),
        (merged.new_logs, merged.ended_logs),
    ):
        for key in new:
            changed.pop(key, None)
    merged.external_ids = {**earlier.external_ids, **later.external_ids}
    merged.events = [*earlier.events, *later.events]
    merged.signals = [*earlier.signals, *later.signals]
    merged.decided_through = max(earlier.decided_through, later.decided_through)
    return merged


def _meets(skills: Mapping[int, int], requirements: Sequence[matching.Requirement]) -> bool:
    # A plain loop: twice as fast as all() over a generator, and this runs per candidate.
    for skill, level in requirements:  # noqa: SIM110
        if skills.get(skill, -1) < level:
            return False
    return True


def _occupancy_order(agent: AgentState) -> tuple[int, datetime | None, int]:
    return (agent.used_units, agent.idle_since_at, agent.agent_id)


def _pending_offer(item: ItemState, agent_id: int) -> OfferState:
    offer = item.offer
    if offer is None or offer.agent_id != agent_id or offer.status != _PENDING:
        raise NoPendingOffer(
            _("work item %(item_id)s is not offered to you") % {"item_id": item.id},
            item_id=item.id,
            status=item.status,
        )
    return offer


def _not_active(item: ItemState, message: str) -> WorkItemNotActive:
    return WorkItemNotActive(
        message % {"item_id": item.id, "status": WorkItemStatus(item.status).label},
        item_id=item.id,
        status=item.status,
    )


def _acting_agent(actor: Actor) -> int:
    if actor.kind != ActorKind.AGENT or actor.id is None:
        raise PermissionDenied(_("only an agent can answer an offer"))
    return actor.id

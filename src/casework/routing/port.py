"""The router as the channels see it (docs/adr/0013-router-process.md).

The channels, the desk and the admin ask the router through `get_router()` and get plain
values back (`RoutedItem`), never the router's rows: the router may be the transactional
one in this process (`EmbeddedRouter`, the default and the reference) or the in-memory
engine, in this process (`EngineRouter`) or in the router process (`remote.RemoteRouter`),
whose rows are written behind its answers. Every operation is safe to repeat after its
answer was lost: `submit` gives the item an external id made before, and the others raise
a domain error (`WorkItemNotActive`, `NoPendingOffer`) the caller can read the item's state
from (`item`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction

from casework.kernel.actors import Actor
from casework.routing import lease, presence, router
from casework.routing.engine import ItemState, RouterEngine
from casework.routing.errors import RouterUnavailable
from casework.routing.models import WorkItem, WorkItemStatus
from casework.routing.router import NewWorkItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutedItem:
    """A work item as the router answered about it."""

    id: int
    channel: str
    external_id: str
    status: str
    agent_id: int | None
    queue_id: int
    case_id: int | None
    customer_id: int | None

    @classmethod
    def of(cls, item: WorkItem | ItemState) -> RoutedItem:
        """From a row or the engine's state of one."""
        return cls(
            id=item.id,
            channel=item.channel,
            external_id=item.external_id,
            status=item.status,
            agent_id=item.agent_id,
            queue_id=item.queue_id,
            case_id=item.case_id,
            customer_id=item.customer_id,
        )

    @property
    def is_waiting(self) -> bool:
        """Queued or offered: nobody works it yet, it can still be withdrawn or taken."""
        return self.status in (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED)


class Router(Protocol):
    """The operations channels use. Each runs as one step of the router's: callers commit
    what they know first, so an answer lost in between is asked for again (ADR 13)."""

    def submit(self, new: NewWorkItem, *, actor: Actor) -> RoutedItem: ...

    def accept(self, item_id: int, *, actor: Actor) -> RoutedItem: ...

    def take(self, item_id: int, *, agent_id: int, actor: Actor) -> RoutedItem: ...

    def decline(self, item_id: int, *, actor: Actor) -> RoutedItem: ...

    def complete(self, item_id: int, *, actor: Actor) -> RoutedItem: ...

    def withdraw(self, item_id: int, *, actor: Actor, reason: str = "") -> RoutedItem: ...

    def amend(
        self,
        item_id: int,
        *,
        customer_id: int | None = None,
        case_id: int | None = None,
        min_priority: int | None = None,
    ) -> RoutedItem:
        """Facts learnt after submitting: the customer of an item that had none, the case
        it moved to, a priority it must have at least while it waits."""
        ...

    def set_presence(self, agent_id: int, state: str, *, actor: Actor) -> None: ...

    def end_after_work(self, agent_id: int) -> None: ...

    def refresh_agent(self, agent_id: int) -> None:
        """Read the agent's skills and capacity again (an administrator changed them)."""
        ...

    def item(self, item_id: int) -> RoutedItem | None:
        """The item as the router knows it now; `None` for an id it never gave."""
        ...


class EmbeddedRouter:
    """The transactional router in this process: every operation is a transaction of its
    own (or joins the caller's). It refuses to write while a router process owns the
    tables (`routing.lease`)."""

    def submit(self, new: NewWorkItem, *, actor: Actor) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.submit_work_item(new, actor=actor))

    def accept(self, item_id: int, *, actor: Actor) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.accept_offer(item_id, actor=actor))

    def take(self, item_id: int, *, agent_id: int, actor: Actor) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.take_work_item(item_id, agent_id=agent_id, actor=actor))

    def decline(self, item_id: int, *, actor: Actor) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.decline_offer(item_id, actor=actor))

    def complete(self, item_id: int, *, actor: Actor) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.complete_work_item(item_id, actor=actor))

    def withdraw(self, item_id: int, *, actor: Actor, reason: str = "") -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(router.withdraw_work_item(item_id, actor=actor, reason=reason))

    def amend(
        self,
        item_id: int,
        *,
        customer_id: int | None = None,
        case_id: int | None = None,
        min_priority: int | None = None,
    ) -> RoutedItem:
        lease.refuse_if_held_elsewhere()
        return RoutedItem.of(
            router.amend_work_item(
                item_id, customer_id=customer_id, case_id=case_id, min_priority=min_priority
            )
        )

    def set_presence(self, agent_id: int, state: str, *, actor: Actor) -> None:
        lease.refuse_if_held_elsewhere()
        presence.set_presence(agent_id, state, actor=actor)

    def end_after_work(self, agent_id: int) -> None:
        lease.refuse_if_held_elsewhere()
        router.end_after_work(agent_id)

    def refresh_agent(self, agent_id: int) -> None:
        pass  # the transactional router reads the rows every time

    def item(self, item_id: int) -> RoutedItem | None:
        row = WorkItem.objects.filter(pk=item_id).first()
        return RoutedItem.of(row) if row is not None else None


class EngineRouter:
    """The in-memory engine (ADR 12) in this process: it answers at once and writes its
    rows behind (`RouterEngine.writing_behind`); `item` knows what is not written yet."""

    def __init__(self, engine: RouterEngine) -> None:
        self.engine = engine

    def submit(self, new: NewWorkItem, *, actor: Actor) -> RoutedItem:
        return RoutedItem.of(self.engine.submit(new, actor=actor))

    def accept(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return RoutedItem.of(self.engine.accept(item_id, actor=actor))

    def take(self, item_id: int, *, agent_id: int, actor: Actor) -> RoutedItem:
        return RoutedItem.of(self.engine.take(item_id, agent_id=agent_id, actor=actor))

    def decline(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return RoutedItem.of(self.engine.decline(item_id, actor=actor))

    def complete(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return RoutedItem.of(self.engine.complete(item_id, actor=actor))

    def withdraw(self, item_id: int, *, actor: Actor, reason: str = "") -> RoutedItem:
        return RoutedItem.of(self.engine.withdraw(item_id, actor=actor, reason=reason))

    def amend(
        self,
        item_id: int,
        *,
        customer_id: int | None = None,
        case_id: int | None = None,
        min_priority: int | None = None,
    ) -> RoutedItem:
        return RoutedItem.of(
            self.engine.amend(
                item_id, customer_id=customer_id, case_id=case_id, min_priority=min_priority
            )
        )

    def set_presence(self, agent_id: int, state: str, *, actor: Actor) -> None:
        self.engine.set_presence(agent_id, state, actor=actor)

    def end_after_work(self, agent_id: int) -> None:
        self.engine.end_after_work(agent_id)

    def refresh_agent(self, agent_id: int) -> None:
        self.engine.refresh_agent(agent_id)

    def item(self, item_id: int) -> RoutedItem | None:
        state = self.engine.item(item_id)
        return RoutedItem.of(state) if state is not None else None


def agent_changed(agent_id: int) -> None:
    """An administrator changed the agent's skills or capacity: once that is committed, the
    router reads them again (a router process that does not answer reads them when it
    starts)."""

    def refresh() -> None:
        try:
            get_router().refresh_agent(agent_id)
        except RouterUnavailable:
            logger.warning("agent %s changed while the router process does not answer", agent_id)

    transaction.on_commit(refresh)


_routers: dict[str, Router] = {}


def get_router() -> Router:
    """The router this process asks: `CASEWORK_ROUTER` = `embedded` (the transactional
    router, here) or `process` (the router process, `casework router`)."""
    kind = settings.CASEWORK_ROUTER
    router_for_kind = _routers.get(kind)
    if router_for_kind is None:
        if kind == "process":
            from casework.routing.remote import RemoteRouter  # it imports this module

            router_for_kind = RemoteRouter()
        else:
            router_for_kind = EmbeddedRouter()
        _routers[kind] = router_for_kind
    return router_for_kind

"""The router's domain errors: stable codes the API, the desktop and CTI adapters map."""

from __future__ import annotations

from casework.kernel.errors import Conflict, DomainError, InvalidInput, NotFound


class UnknownAgent(NotFound):
    code = "unknown_agent"


class UnknownWorkItem(NotFound):
    code = "unknown_work_item"


class UnknownPresenceState(InvalidInput):
    code = "unknown_presence_state"


class PresenceNotSelectable(InvalidInput):
    code = "presence_not_selectable"


class UnknownChannel(InvalidInput):
    code = "unknown_channel"


class NoRoute(InvalidInput):
    code = "no_route"


class NoPendingOffer(Conflict):
    """The agent has no pending offer of this item (never had one, or already answered)."""

    code = "no_pending_offer"


class OfferExpired(Conflict):
    code = "offer_expired"


class WorkItemNotActive(Conflict):
    code = "work_item_not_active"


class AtCapacity(Conflict):
    code = "at_capacity"


class RouterUnavailable(DomainError):
    """The router process does not answer (not started, stopped, or restarting)."""

    code = "router_unavailable"
    status = 503

"""Agents' presence: what they are doing, since when, and the history for reports.

An agent sets a selectable state (available, break, training, offline) with one click; the
router sets the others (busy while on a call, after-call work for the channel's time, not
responding after an offer expired). Each change closes the open `PresenceLog` row, opens a
new one and records `presence.changed` (but for the switch to busy and back that every call
makes: `config.records_presence_change`)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils.translation import gettext as _

from casework.events.services import record, recording_transaction
from casework.kernel import clock, sql
from casework.kernel.actors import Actor, ActorKind
from casework.kernel.errors import PermissionDenied
from casework.routing.config import (
    AFTER_CALL_WORK,
    OFFLINE,
    get_presence_state,
    records_presence_change,
)
from casework.routing.errors import PresenceNotSelectable, UnknownAgent
from casework.routing.models import (
    Agent,
    AgentStatus,
    PresenceLog,
    PresenceState,
    WorkItem,
    WorkItemStatus,
)


def lock_agent_status(agent_id: int) -> AgentStatus:
    """The agent's status row, locked for the rest of the transaction; created (offline)
    on first use. `UnknownAgent` if there is no such active agent."""
    found = sql.select_locked(AgentStatus, _STATUS, [agent_id])
    if found:
        return found[0]
    if not Agent.objects.filter(pk=agent_id, user__is_active=True).exists():
        raise UnknownAgent(
            _("agent %(agent_id)s not found") % {"agent_id": agent_id}, agent_id=agent_id
        )
    now = clock.now()
    offline = get_presence_state(OFFLINE)
    status, _created = AgentStatus.objects.get_or_create(
        agent_id=agent_id,
        defaults={
            "presence": offline,
            "presence_since_at": now,
            "is_routable": offline.is_routable,
            "idle_since_at": now,
        },
    )
    if _created:
        PresenceLog.objects.create(
            agent_id=agent_id, presence=offline, started_at=now, set_by="system:routing"
        )
    return sql.select_locked(AgentStatus, _STATUS, [agent_id])[0]


_STATUS = "SELECT {columns} FROM routing_agentstatus t WHERE t.agent_id = %s"


@recording_transaction()
def set_presence(agent_id: int, state: str, *, actor: Actor) -> AgentStatus:
    """An agent (or their supervisor, or the system) sets the agent's presence. Becoming
    available hands the agent the most urgent waiting work they qualify for."""
    status = lock_agent_status(agent_id)
    presence = allowed_presence(agent_id, state, actor)
    change_presence(status, presence, actor=actor, at=clock.now())
    if status.is_routable:
        # Imported here: the router sets presence too (busy, after-call work).
        from casework.routing.router import offer_waiting_work

        offer_waiting_work(status, actor=actor)
    return status


def allowed_presence(agent_id: int, state: str, actor: Actor) -> PresenceState:
    """The presence state `actor` may set for the agent: an agent sets their own, a
    supervisor anyone's, and only the states agents may choose; the system sets any."""
    presence = get_presence_state(state)
    if actor.kind == ActorKind.AGENT:
        if actor.id != agent_id and not actor.is_supervisor:
            raise PermissionDenied(_("only a supervisor may set another agent's presence"))
        if not presence.is_selectable:
            raise PresenceNotSelectable(
                _("the presence state “%(state)s” is set by the system only") % {"state": state},
                field="state",
            )
    return presence


def change_presence(
    status: AgentStatus, presence: PresenceState, *, actor: Actor, at: datetime
) -> bool:
    """In the caller's transaction, with `status` locked. Returns whether it changed."""
    previous = status.presence_id
    if previous == presence.code:
        return False
    sql.execute(_END_LOG, [_LOG_ENDED_AT.get_db_prep_save(at, connection), status.agent_id])
    sql.create(
        PresenceLog, agent_id=status.agent_id, presence=presence, started_at=at, set_by=actor.label
    )
    became_routable = presence.is_routable and not status.is_routable
    status.presence_id, status.presence_since_at = presence.code, at
    status.is_routable = presence.is_routable
    fields = ["presence", "presence_since_at", "is_routable"]
    if became_routable:
        status.idle_since_at = at
        fields.append("idle_since_at")
    sql.update(status, fields)
    if records_presence_change(previous, presence.code, actor):
        record(
            "presence.changed",
            actor=actor,
            object_type="agent",
            object_id=status.agent_id,
            payload={"before": {"presence": previous}, "after": {"presence": presence.code}},
        )
    if previous == AFTER_CALL_WORK:
        _wrapped_up(status.agent_id, actor=actor, at=at)
    return True


_END_LOG = "UPDATE routing_presencelog SET ended_at = %s WHERE agent_id = %s AND ended_at IS NULL"
_LOG_ENDED_AT = PresenceLog._meta.get_field("ended_at")


def _wrapped_up(agent_id: int, *, actor: Actor, at: datetime) -> None:
    """After-call work ended: it belongs to the agent's last completed item (handling time
    is talk, hold and after-call work)."""
    item = (
        WorkItem.objects.filter(agent_id=agent_id, status=WorkItemStatus.COMPLETED)
        .order_by("-ended_at")
        .values("pk", "ended_at")
        .first()
    )
    if item is None or item["ended_at"] is None:
        return
    record(
        "work_item.wrapped_up",
        actor=actor,
        object_type="work_item",
        object_id=item["pk"],
        payload={
            "agent_id": agent_id,
            "after_work_seconds": round(max((at - item["ended_at"]).total_seconds(), 0), 3),
        },
    )

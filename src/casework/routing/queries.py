"""Reads about agents, teams and queues."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q
from django.utils.translation import gettext as _

from casework.kernel.actors import Actor, ActorKind, Role
from casework.kernel.errors import NotFound
from casework.routing.models import (
    Agent,
    AgentStatus,
    Offer,
    OfferStatus,
    PresenceLog,
    Queue,
    WorkItem,
    WorkItemStatus,
)


def actor_for_user(user: AbstractBaseUser | AnonymousUser) -> Actor | None:
    """The actor a signed-in user acts as, or None if the user is not an agent."""
    if not user.is_authenticated:
        return None
    agent = Agent.objects.filter(user=user).select_related("user").prefetch_related("teams").first()
    if agent is None:
        if user.is_superuser:
            return Actor(
                kind=ActorKind.AGENT, id=None, label=f"user:{user.get_username()}", role=Role.ADMIN
            )
        return None
    return actor_for_agent(agent)


def actor_for_agent(agent: Agent) -> Actor:
    role = Role.ADMIN if agent.user.is_superuser else Role(agent.role)
    return Actor(
        kind=ActorKind.AGENT,
        id=agent.pk,
        label=f"agent:{agent.user.username}",
        role=role,
        team_ids=frozenset(team.pk for team in agent.teams.all()),
    )


def list_queues_for(actor: Actor) -> list[Queue]:
    queues = Queue.objects.select_related("team").order_by("code")
    if not actor.is_admin:
        queues = queues.filter(team_id__in=actor.team_ids)
    return list(queues)


def list_all_queues() -> list[Queue]:
    """Every queue: work can be handed to any department, not only one's own."""
    return list(Queue.objects.select_related("team").order_by("team__tier", "code"))


def access_queue(actor: Actor, code: str) -> Queue:
    """A queue the actor may see, or `NotFound` for missing and forbidden alike."""
    queue = Queue.objects.select_related("team").filter(code=code).first()
    if queue is None or not (actor.is_admin or queue.team_id in actor.team_ids):
        raise NotFound(_("queue %(queue)s not found") % {"queue": code}, queue=code)
    return queue


def list_assignable_agents(actor: Actor) -> list[Agent]:
    agents = Agent.objects.select_related("user").filter(user__is_active=True)
    if not actor.is_admin:
        agents = agents.filter(teams__in=actor.team_ids).distinct()
    return list(agents.order_by("user__last_name", "user__username"))


def get_agent(agent_id: int) -> Agent:
    agent = Agent.objects.select_related("user").filter(pk=agent_id, user__is_active=True).first()
    if agent is None:
        raise NotFound(_("agent %(agent_id)s not found") % {"agent_id": agent_id}, field="owner_id")
    return agent


def find_agent_status(agent_id: int) -> AgentStatus | None:
    """The agent's presence and occupancy, or None before the router has seen them."""
    return AgentStatus.objects.select_related("presence").filter(agent_id=agent_id).first()


def list_presence_log(agent_id: int, *, start: datetime, end: datetime) -> list[PresenceLog]:
    """The agent's presence stretches that overlap [start, end), oldest first."""
    return list(
        PresenceLog.objects.filter(agent_id=agent_id, started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("started_at", "pk")
    )


def presence_seconds(agent_id: int, *, start: datetime, end: datetime) -> dict[str, float]:
    """Seconds the agent spent in each presence state within [start, end) (for reports)."""
    totals: dict[str, float] = {}
    for entry in list_presence_log(agent_id, start=start, end=end):
        began = max(entry.started_at, start)
        ended = min(entry.ended_at or end, end)
        if ended > began:
            totals[entry.presence_id] = (
                totals.get(entry.presence_id, 0.0) + (ended - began).total_seconds()
            )
    return totals


def list_offers_for(agent_id: int) -> list[Offer]:
    """The agent's pending offers (the desktop shows them with accept and decline)."""
    return list(
        Offer.objects.select_related("item")
        .filter(agent_id=agent_id, status=OfferStatus.PENDING)
        .order_by("offered_at")
    )


def list_waiting_items(*, queue_code: str | None = None) -> list[WorkItem]:
    """Work items waiting for an agent, the longest waiting first (supervisor views)."""
    items = WorkItem.objects.select_related("queue").filter(status=WorkItemStatus.QUEUED)
    if queue_code is not None:
        items = items.filter(queue__code=queue_code)
    return list(items.order_by("queued_at"))

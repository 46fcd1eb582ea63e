"""The demo's chat: the bot's intent model (from the shipped examples) and agents who are
available for chats when the demo starts, so a chat handed over reaches a person."""

from __future__ import annotations

from casework.chat.intents import ensure_intents
from casework.kernel.actors import Actor
from casework.routing.models import Agent, AgentStatus
from casework.routing.presence import set_presence

DEMO_ACTOR = Actor.system("demo")
# Both speak German and English and know tariffs: Lisa's questions reach them.
CHAT_AGENTS = ("anna", "carla")


def load_chat() -> bool:
    """Idempotent. Returns whether the intent model was trained now."""
    trained = ensure_intents(actor=DEMO_ACTOR)
    for agent in Agent.objects.filter(user__username__in=CHAT_AGENTS):
        status = AgentStatus.objects.filter(agent=agent).first()
        if status is None or status.presence_id != "available":
            set_presence(agent.pk, "available", actor=DEMO_ACTOR)
    return trained

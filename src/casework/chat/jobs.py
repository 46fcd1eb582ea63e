"""The chat's timers."""

from __future__ import annotations

from typing import Any

from casework.chat import services
from casework.kernel.jobs import handles


@handles("chat.no_agent")
def no_agent(payload: dict[str, Any]) -> None:
    services.no_agent_in_time(payload["conversation_id"])

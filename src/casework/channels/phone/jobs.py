"""The phone channel's timers."""

from __future__ import annotations

from typing import Any

from casework.channels.phone import services
from casework.kernel.jobs import handles


@handles("phone.lost_call")
def lost_call(payload: dict[str, Any]) -> None:
    services.end_lost_call(payload["call_id"])

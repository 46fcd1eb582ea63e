"""The phone channel's timers."""

from __future__ import annotations

from typing import Any

from casework.channels.phone import callbacks, services
from casework.kernel.jobs import handles


@handles("phone.lost_call")
def lost_call(payload: dict[str, Any]) -> None:
    services.end_lost_call(payload["call_id"])


@handles(callbacks.DUE_JOB)
def callback_due(payload: dict[str, Any]) -> None:
    callbacks.route_due(payload["callback_id"])


@handles(callbacks.ENDED_JOB)
def callback_window_ended(payload: dict[str, Any]) -> None:
    callbacks.window_ended(payload["callback_id"])

"""The router's timers, run by `casework worker`: offers that expire, after-call work that
ends, waiting items whose needs relax. While a router process owns the tables, it runs its
own timers and these jobs leave the work to it."""

from __future__ import annotations

from typing import Any

from casework.kernel.jobs import handles
from casework.routing import lease, router


@handles("routing.offer_expired")
def offer_expired(payload: dict[str, Any]) -> None:
    if not lease.held_elsewhere():
        router.expire_offer(int(payload["offer_id"]))


@handles("routing.after_work_ended")
def after_work_ended(payload: dict[str, Any]) -> None:
    if not lease.held_elsewhere():
        router.end_after_work(int(payload["agent_id"]))


@handles("routing.reroute")
def reroute(payload: dict[str, Any]) -> None:
    if not lease.held_elsewhere():
        router.reroute(int(payload["item_id"]))

"""API: Next-best-offer on the agent desktop."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["offers"])

"""API: Campaigns, response links and retention responses on the desktop and for customers."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["retention"])

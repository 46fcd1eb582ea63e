"""The answer to a message accepted for queued intake (`Prefer: respond-async`), shared by
the API's operation and its express lane (`api.express`)."""

from __future__ import annotations

from typing import Any

from casework.api.schemas import inbound_status_url
from casework.intake.queue import Accepted


def prefers_async(prefer: str) -> bool:
    """Whether a Prefer header (RFC 7240) asks for `respond-async`, among other
    preferences and their parameters ("respond-async, wait=10")."""
    for preference in prefer.split(","):
        name = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
        if name == "respond-async":
            return True
    return False


def accepted_status(accepted: Accepted) -> int:
    """202 for a message stored now; 200 for a repeated external_id (the first entry)."""
    return 202 if accepted.is_new else 200


def queued_answer(accepted: Accepted) -> dict[str, Any]:
    entry = accepted.entry
    return {"id": entry.pk, "status": entry.status, "status_url": inbound_status_url(entry.pk)}


def queued_headers(accepted: Accepted) -> dict[str, str]:
    return {
        "Preference-Applied": "respond-async",
        "Location": inbound_status_url(accepted.entry.pk),
    }

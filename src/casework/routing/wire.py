"""What the router process and its clients send each other (docs/routing-process.md).

A TCP connection on loopback carries one JSON object per line each way. The client's first
line is `{"secret": …}` (read from the data directory's `router.json`), answered by
`{"answer": {}}`, or by an error and the end of the connection. Then each request is
`{"op": …, "args": {…}, "language": …}` and its answer `{"answer": {…}}` or
`{"error": {"code", "message", "details"}}`; domain errors come out on the client's side as
the same exception class. (Lines, not HTTP: parsing HTTP heads cost more than the
router's decision.)"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from casework.kernel import errors as kernel_errors
from casework.kernel.actors import Actor, ActorKind, Role
from casework.kernel.errors import DomainError
from casework.routing import errors as routing_errors
from casework.routing.port import RoutedItem

# The longest line either side accepts: a work item's JSON is well under a kilobyte.
MAX_LINE_BYTES = 64 * 1024

OPERATIONS = (
    "submit",
    "accept",
    "take",
    "decline",
    "complete",
    "withdraw",
    "amend",
    "set_presence",
    "end_after_work",
    "refresh_agent",
    "item",
)


def connection_file() -> Path:
    """Where the running router process leaves its address and secret for the others."""
    return Path(settings.CASEWORK_DATA_DIR) / "router.json"


def encode(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def actor_to_json(actor: Actor) -> dict[str, Any]:
    return {
        "kind": actor.kind.value,
        "id": actor.id,
        "label": actor.label,
        "role": actor.role.value if actor.role else None,
        "team_ids": sorted(actor.team_ids),
    }


def actor_from_json(data: dict[str, Any]) -> Actor:
    return Actor(
        kind=ActorKind(data["kind"]),
        id=data["id"],
        label=data["label"],
        role=Role(data["role"]) if data.get("role") else None,
        team_ids=frozenset(data.get("team_ids") or ()),
    )


def item_to_json(item: RoutedItem | None) -> dict[str, Any] | None:
    return asdict(item) if item is not None else None


def item_from_json(data: dict[str, Any] | None) -> RoutedItem | None:
    return RoutedItem(**data) if data is not None else None


def error_to_json(error: DomainError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "details": error.details}


def error_from_json(data: dict[str, Any]) -> DomainError:
    """The same exception class as was raised in the router process, where it is one of
    the kernel's or the router's; else a `DomainError` with its code."""
    code = str(data.get("code", DomainError.code))
    error = _ERROR_CLASSES.get(code, DomainError)(
        str(data.get("message", "")), **(data.get("details") or {})
    )
    error.code = code
    return error


def _domain_errors() -> dict[str, type[DomainError]]:
    classes: dict[str, type[DomainError]] = {}
    for module in (kernel_errors, routing_errors):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, DomainError):
                classes.setdefault(value.code, value)
    return classes


_ERROR_CLASSES = _domain_errors()

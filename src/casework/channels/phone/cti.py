"""Reading call events from telephone systems (no database): Casework's own JSON format,
sipgate.io's push API and Zammad-compatible generic CTI, all into one `CtiEvent`; checking
that a request really comes from the telephone system; and answering in each format.

The generic format (docs/phone.md):

    POST /api/v1/cti/<connection>/events
    Casework-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>
    {"event": "new_call", "call_id": "…", "direction": "inbound", "caller": "+4930…",
     "called": "+49800…", "agent": "<extension>", "to_queue": "…", "cause": "…",
     "event_id": "…", "occurred_at": "2026-11-26T10:00:00+01:00", "language": "de",
     "topic": "<skill code>"}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from casework.kernel.errors import DomainError, InvalidInput


class EventKind(StrEnum):
    NEW_CALL = "new_call"
    RINGING = "ringing"
    ANSWERED = "answered"
    HOLD = "hold"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"
    HANGUP = "hangup"
    # The caller chose a callback in the phone menu (instead of waiting).
    CALLBACK_REQUESTED = "callback_requested"
    # Events a provider sends that change nothing here (sipgate's key presses): kept, ignored.
    OTHER = "other"


class WebhookUnauthenticated(DomainError):
    code = "unauthenticated"
    status = 401


# What telephone systems send for a number they cannot or may not tell.
WITHHELD_NUMBERS = frozenset({"", "anonymous", "unknown", "restricted", "withheld", "private"})

# Hang-up causes of the provider formats, in the generic spelling.
_CAUSES = {
    "normalclearing": "normal",
    "busy": "busy",
    "cancel": "cancel",
    "noanswer": "no_answer",
    "congestion": "congestion",
    "notfound": "not_found",
    "forwarded": "forwarded",
}


@dataclass(frozen=True)
class CtiEvent:
    """One call event, whatever format it came in. `remote` is the customer's side (the
    caller of an inbound call, the number dialled for an outbound one), `local` ours;
    `agent` is the telephone system's name for the agent's line (ringing, answering,
    transfer target, the dialling agent of an outbound call)."""

    kind: EventKind
    call_id: str
    direction: str = ""
    remote: str = ""
    local: str = ""
    agent: str = ""
    to_queue: str = ""
    cause: str = ""
    event_id: str = ""
    occurred_at: datetime | None = None
    language: str = ""
    topic: str = ""
    # sipgate.io reports a transferred call as a new call naming the one it continues.
    original_call_id: str = ""
    # callback_requested: the number to call (default: the caller's) and the time window.
    callback_number: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """Same key, same event: a repeated delivery changes nothing. Without an event id,
        an event is identified by its call, kind, agent and time (when it says one)."""
        if self.event_id:
            return f"id:{self.event_id}"[:400]
        at = self.occurred_at.isoformat() if self.occurred_at else ""
        parts = [self.call_id, self.kind.value, self.agent, self.to_queue, at]
        return ":".join(parts)[:400]


# --- Authentication ---


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None) -> None:
    """`Casework-Signature: t=<unix>,v1=<hex>` — the same scheme as our outgoing webhooks.
    Too old (or from the future) counts as a replay."""
    if not header:
        raise WebhookUnauthenticated(_("the request is not signed (Casework-Signature missing)"))
    parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise WebhookUnauthenticated(_("the signature has no valid time (t=)")) from None
    given = parts.get("v1", "")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(given, expected):
        raise WebhookUnauthenticated(_("the signature does not match"))
    tolerance = settings.CASEWORK_CTI_SIGNATURE_TOLERANCE_SECONDS
    age = abs((now if now is not None else time.time()) - timestamp)
    if age > tolerance:
        raise WebhookUnauthenticated(
            _("the signature is %(seconds)s seconds old (at most %(tolerance)s): a replay?")
            % {"seconds": int(age), "tolerance": tolerance}
        )


def check_token(secret: str, token: str) -> None:
    """The provider formats cannot sign: the secret is the last part of their URL."""
    if not token or not hmac.compare_digest(secret.encode(), token.encode()):
        raise WebhookUnauthenticated(_("unknown connection or wrong token"))


# --- The generic format ---

_GENERIC_KINDS = {kind.value for kind in EventKind if kind != EventKind.OTHER}
_TEXT_FIELDS = (
    "call_id",
    "direction",
    "caller",
    "called",
    "agent",
    "to_queue",
    "cause",
    "event_id",
    "language",
    "topic",
    "callback_number",
)


def parse_generic(body: bytes) -> CtiEvent:
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("the body is not JSON"), field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput(_("the body must be a JSON object"), field="body")
    kind = data.get("event")
    if kind not in _GENERIC_KINDS:
        raise InvalidInput(
            _("unknown event “%(event)s” (known: %(known)s)")
            % {"event": kind, "known": ", ".join(sorted(_GENERIC_KINDS))},
            field="event",
        )
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str | int):
            raise InvalidInput(_("“%(field)s” must be text") % {"field": name}, field=name)
    text = {name: str(data.get(name) or "").strip() for name in _TEXT_FIELDS}
    direction = text["direction"] or "inbound"
    if direction not in ("inbound", "outbound"):
        raise InvalidInput(
            _("direction must be “inbound” or “outbound”, not “%(direction)s”")
            % {"direction": direction},
            field="direction",
        )
    if kind == EventKind.TRANSFERRED and not (text["agent"] or text["to_queue"]):
        raise InvalidInput(
            _("a transfer names the agent (“agent”) or the queue (“to_queue”) it goes to"),
            field="agent",
        )
    inbound = direction == "inbound"
    return _event(
        kind=EventKind(kind),
        call_id=text["call_id"],
        direction=direction,
        remote=text["caller"] if inbound else text["called"],
        local=text["called"] if inbound else text["caller"],
        agent=text["agent"],
        to_queue=text["to_queue"],
        cause=text["cause"],
        event_id=text["event_id"],
        occurred_at=_parse_time(data.get("occurred_at"), field="occurred_at"),
        language=text["language"],
        topic=text["topic"],
        callback_number=text["callback_number"],
        window_start=_parse_time(data.get("window_start"), field="window_start"),
        window_end=_parse_time(data.get("window_end"), field="window_end"),
        raw=data,
    )


# --- sipgate.io and Zammad's generic CTI (form fields, the same names) ---

_PROVIDER_KINDS = {
    "newcall": EventKind.NEW_CALL,
    "answer": EventKind.ANSWERED,
    "hangup": EventKind.HANGUP,
}


def parse_provider(fields: Mapping[str, list[str]]) -> CtiEvent:
    """sipgate.io push events and Zammad generic CTI events (form-encoded, or JSON for
    Zammad): `event` newCall|answer|hangup, `from`, `to`, `direction` in|out, `callId`,
    `user[]`/`userId[]` (the agents concerned), `answeringNumber`, `cause`; sipgate's
    `origCallId` on a new call that continues another one (a transfer)."""

    def first(*names: str) -> str:
        for name in names:
            values = fields.get(name) or []
            for value in values:
                if str(value).strip():
                    return str(value).strip()
        return ""

    raw_kind = first("event")
    kind = _PROVIDER_KINDS.get(raw_kind.lower(), EventKind.OTHER if raw_kind else None)
    if kind is None:
        raise InvalidInput(_("the event is missing"), field="event")
    direction = {"in": "inbound", "out": "outbound"}.get(first("direction").lower())
    if direction is None and kind == EventKind.NEW_CALL:
        raise InvalidInput(_("direction must be “in” or “out”"), field="direction")
    inbound = direction != "outbound"
    agent = first("answeringNumber") if kind == EventKind.ANSWERED else ""
    if not agent and (kind == EventKind.ANSWERED or not inbound):
        agent = first("userId[]", "userId", "user[]", "user")
    cause = first("cause")
    call_id, original = first("callId"), first("origCallId")
    if kind == EventKind.NEW_CALL and original and original != call_id:
        # A transfer: the colleague it goes to, if sipgate names one.
        agent = first("userId[]", "userId", "user[]", "user")
    return _event(
        kind=kind,
        call_id=call_id,
        original_call_id=original if original != call_id else "",
        direction=direction or "",
        remote=first("from") if inbound else first("to"),
        local=first("to") if inbound else first("from"),
        agent=agent,
        cause=_CAUSES.get(cause.lower(), cause.lower()),
        raw={name: values if len(values) != 1 else values[0] for name, values in fields.items()},
    )


def _event(**values: Any) -> CtiEvent:
    call_id = values["call_id"]
    if not call_id:
        raise InvalidInput(_("the call id is missing"), field="call_id")
    if len(call_id) > 250 or len(values.get("original_call_id", "")) > 250:
        raise InvalidInput(_("the call id is longer than 250 characters"), field="call_id")
    for name in (
        "remote",
        "local",
        "agent",
        "to_queue",
        "cause",
        "language",
        "topic",
        "callback_number",
    ):
        if len(values.get(name, "")) > 100:
            raise InvalidInput(
                _("“%(field)s” is longer than 100 characters") % {"field": name}, field=name
            )
    return CtiEvent(**values)


def _parse_time(value: Any, *, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            _("%(field)s must be an ISO 8601 time with its offset, e.g. %(example)s")
            % {"field": field, "example": "2026-11-26T10:15:00+01:00"},
            field=field,
        )
    return parsed


# --- Answers ---


def sipgate_response(target_extension: str, callback_url: str) -> str:
    """The XML sipgate.io reads: connect the call to the agent's line when we chose one,
    and send us the call's answer and hang-up."""
    url = quoteattr(callback_url)
    dial = (
        f"<Dial><Number>{_xml_text(target_extension)}</Number></Dial>" if target_extension else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response onAnswer={url} onHangup={url}>{dial}</Response>"
    )


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

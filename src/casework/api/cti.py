"""Call events from telephone systems (CTI). Not bearer-token endpoints: a telephone system
authenticates with its connection's secret — an HMAC signature in Casework's own format,
the token in the URL for sipgate.io and Zammad-compatible systems, which cannot sign.

- `POST /cti/generic/{connection}/events` — one event as JSON (signed); the answer says
  where the call goes (`action`: connect to `agent.extension`, or queue).
- `GET /cti/generic/{connection}/calls/{call_id}` — where a queued call goes now (signed,
  the signature over an empty body).
- `POST /cti/sipgate/{connection}/{token}` — sipgate.io push events; answers sipgate's XML.
- `POST /cti/zammad/{connection}/{token}` — Zammad generic CTI events (form or JSON).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from casework.api.schemas import ErrorOut
from casework.channels.phone import cti, services
from casework.channels.phone.models import ConnectionKind, CtiConnection
from casework.kernel import secrets
from casework.kernel.errors import InvalidInput

router = Router(tags=["phone (CTI)"], auth=None)
ERRORS = {401: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class CtiEventIn(Schema):
    """An event of Casework's own CTI format (the request body; documented here, read by
    `channels.phone.cti.parse_generic`)."""

    event: Literal[
        "new_call",
        "ringing",
        "answered",
        "hold",
        "resumed",
        "transferred",
        "hangup",
        "callback_requested",
    ]
    call_id: str = Field(max_length=250, description="the telephone system's id of the call")
    direction: Literal["inbound", "outbound"] = "inbound"
    caller: str = Field("", description="the calling number; `anonymous` when withheld")
    called: str = Field("", description="the number dialled")
    agent: str = Field(
        "",
        description="the agent's line (extension, or user name): where it rings, who "
        "answered, the transfer's target, who dials an outbound call",
    )
    to_queue: str = Field("", description="transfer to a queue (its code)")
    cause: str = Field("", description="hang-up cause: normal, busy, no_answer, cancel, …")
    event_id: str = Field("", description="unique per event; a repeat changes nothing")
    occurred_at: str = Field("", description="ISO 8601 with offset; default: received")
    language: str = Field("", description="the caller's language (an IVR choice)")
    topic: str = Field("", description="a skill code the IVR chose, preferred while waiting")
    callback_number: str = Field(
        "", description="callback_requested: the number to call back (default: the caller's)"
    )
    window_start: str = Field("", description="callback_requested: from (ISO 8601); now")
    window_end: str = Field(
        "", description="callback_requested: until (ISO 8601); default: 2 hours after the start"
    )


class AgentOut(Schema):
    id: int
    username: str
    name: str
    extension: str


class CallCustomerOut(Schema):
    id: int
    customer_number: str


class CallRouteOut(Schema):
    call: int | None
    call_id: str = ""
    state: str = ""
    action: Literal["connect", "queue", "none"]
    agent: AgentOut | None = None
    customer: CallCustomerOut | None = None
    warning: str = ""
    repeated: bool = False


_GENERIC_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CtiEventIn.model_json_schema()}},
    }
}


@router.post(
    "/cti/generic/{code}/events",
    response={200: CallRouteOut, **ERRORS},
    openapi_extra=_GENERIC_BODY,
    summary="A call event in Casework's format (HMAC-signed)",
)
def generic_event(request: HttpRequest, code: str) -> dict[str, Any]:
    connection = _connection(code, ConnectionKind.GENERIC)
    cti.verify_signature(
        secrets.decrypt(connection.secret),
        request.headers.get("Casework-Signature", ""),
        request.body,
    )
    return services.receive(connection, cti.parse_generic(request.body))


@router.get(
    "/cti/generic/{code}/calls/{call_id}",
    response={200: CallRouteOut, **ERRORS},
    summary="Where a call goes now (for a call that was queued)",
)
def generic_call(request: HttpRequest, code: str, call_id: str) -> dict[str, Any]:
    connection = _connection(code, ConnectionKind.GENERIC)
    cti.verify_signature(
        secrets.decrypt(connection.secret), request.headers.get("Casework-Signature", ""), b""
    )
    return services.current_answer(connection, call_id)


@router.post(
    "/cti/sipgate/{code}/{token}",
    response={200: None, **ERRORS},
    summary="sipgate.io push API events (form-encoded); answers sipgate's XML",
)
def sipgate_event(request: HttpRequest, code: str, token: str) -> HttpResponse:
    connection = _connection(code, ConnectionKind.SIPGATE, token=token)
    answer = services.receive(connection, cti.parse_provider(_fields(request)))
    extension = (
        (answer.get("agent") or {}).get("extension", "")
        if answer.get("action") == "connect"
        else ""
    )
    xml = cti.sipgate_response(extension, request.build_absolute_uri())
    return HttpResponse(xml, content_type="application/xml")


@router.post(
    "/cti/zammad/{code}/{token}",
    response={200: CallRouteOut, **ERRORS},
    summary="Zammad-compatible generic CTI events (form-encoded or JSON)",
)
def zammad_event(request: HttpRequest, code: str, token: str) -> dict[str, Any]:
    connection = _connection(code, ConnectionKind.ZAMMAD, token=token)
    return services.receive(connection, cti.parse_provider(_fields(request)))


def _connection(code: str, kind: ConnectionKind, *, token: str | None = None) -> CtiConnection:
    connection = CtiConnection.objects.filter(code=code, kind=kind, is_active=True).first()
    if connection is None:
        raise cti.WebhookUnauthenticated(_("unknown connection or wrong token"))
    if token is not None:
        cti.check_token(secrets.decrypt(connection.secret), token)
    return connection


def _fields(request: HttpRequest) -> dict[str, list[str]]:
    """Form fields as lists (`user[]` repeats); a JSON object's values alike."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(_("the body is not JSON"), field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput(_("the body must be a JSON object"), field="body")
        fields: dict[str, list[str]] = {}
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            fields[name] = [str(v) for v in values if v is not None]
            if isinstance(value, list) and not name.endswith("[]"):
                fields[f"{name}[]"] = fields[name]
        return fields
    return {name: request.POST.getlist(name) for name in request.POST}

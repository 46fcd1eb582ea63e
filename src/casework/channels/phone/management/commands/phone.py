"""`casework phone …`: play the telephone system — post signed call events to a running
Casework over HTTP, exactly as a telephone system connected in Casework's format does.
For trying the phone channel (the demo) and for checking an installation's connection.

    casework phone call "030 2345 6789"          # a new inbound call; prints where it goes
    casework phone answer <call id> [--agent 201]
    casework phone hold|resume <call id>
    casework phone transfer <call id> --agent 202 | --queue service
    casework phone hangup <call id> [--cause normal]
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.channels.phone.models import ConnectionKind, CtiConnection
from casework.events.webhooks import sign
from casework.kernel import secrets


class Command(BaseCommand):
    help = "Post call events to a running Casework, as the telephone system would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Casework's address")
        parser.add_argument(
            "--connection", default="", help="the CTI connection's code (default: the first)"
        )
        sub = parser.add_subparsers(dest="action", required=True)
        call = sub.add_parser("call", help="a new inbound call")
        call.add_argument("caller", help="the calling number, or anonymous")
        call.add_argument("--to", default="", help="the number dialled (a hotline)")
        call.add_argument("--call-id", default="", help="default: a new random id")
        dial = sub.add_parser("dial", help="an agent calls a customer (outbound)")
        dial.add_argument("number")
        dial.add_argument("--agent", required=True, help="the dialling agent's line")
        dial.add_argument("--call-id", default="")
        for name in ("answer", "hold", "resume", "hangup", "transfer", "status"):
            action = sub.add_parser(name)
            action.add_argument("call_id")
            action.add_argument("--agent", default="", help="the agent's line (extension)")
            action.add_argument("--queue", default="", help="transfer: to this queue")
            action.add_argument("--cause", default="normal", help="hangup: the cause")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = self._connection(options["connection"])
        action = options["action"]
        base = f"{options['url'].rstrip('/')}/api/v1/cti/generic/{connection.code}"
        secret = secrets.decrypt(connection.secret)
        if action == "status":
            answer = _request(f"{base}/calls/{options['call_id']}", secret, None)
        else:
            answer = _request(f"{base}/events", secret, _event(action, options))
        self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))

    def _connection(self, code: str) -> CtiConnection:
        connections = CtiConnection.objects.filter(kind=ConnectionKind.GENERIC, is_active=True)
        connection = (connections.filter(code=code) if code else connections).first()
        if connection is None:
            raise CommandError(
                "no active CTI connection in Casework's format"
                + (f" with code {code!r}" if code else "")
                + " (admin → Phone → telephone systems)"
            )
        return connection


def _event(action: str, options: dict[str, Any]) -> dict[str, Any]:
    if action == "call":
        return {
            "event": "new_call",
            "call_id": options["call_id"] or uuid.uuid4().hex[:12],
            "caller": options["caller"],
            "called": options["to"],
        }
    if action == "dial":
        return {
            "event": "new_call",
            "direction": "outbound",
            "call_id": options["call_id"] or uuid.uuid4().hex[:12],
            "called": options["number"],
            "agent": options["agent"],
        }
    kind = {"answer": "answered", "resume": "resumed", "transfer": "transferred"}.get(
        action, action
    )
    event: dict[str, Any] = {"event": kind, "call_id": options["call_id"]}
    if options["agent"]:
        event["agent"] = options["agent"]
    if kind == "transferred" and options["queue"]:
        event["to_queue"] = options["queue"]
    if kind == "hangup":
        event["cause"] = options["cause"]
    return event


def _request(url: str, secret: str, event: dict[str, Any] | None) -> Any:
    body = json.dumps(event).encode() if event is not None else b""
    timestamp = int(time.time())
    request = urllib.request.Request(
        url,
        data=body if event is not None else None,
        method="POST" if event is not None else "GET",
        headers={
            "Content-Type": "application/json",
            "Casework-Signature": f"t={timestamp},v1={sign(secret, timestamp, body)}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (operator's URL)
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise CommandError(f"{error.code}: {error.read().decode(errors='replace')}") from None
    except urllib.error.URLError as error:
        raise CommandError(f"Casework is not reachable at {url}: {error.reason}") from None

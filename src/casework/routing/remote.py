"""The router port's client of the router process (docs/adr/0013): every operation is one
request line on a loopback connection kept per thread (`wire.py`)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from casework.kernel.actors import Actor
from casework.routing.errors import RouterUnavailable
from casework.routing.port import RoutedItem
from casework.routing.router import NewWorkItem
from casework.routing.wire import (
    MAX_LINE_BYTES,
    actor_to_json,
    connection_file,
    encode,
    error_from_json,
    item_from_json,
)

# A router answers in well under a millisecond; this only bounds a process that hangs.
_TIMEOUT_SECONDS = 10.0


class RemoteRouter:
    """Asks the router process named in the data directory's `router.json`."""

    def __init__(self) -> None:
        self._local = threading.local()

    def submit(self, new: NewWorkItem, *, actor: Actor) -> RoutedItem:
        return self._item("submit", item=new.to_json(), actor=actor_to_json(actor))

    def accept(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return self._item("accept", item_id=item_id, actor=actor_to_json(actor))

    def take(self, item_id: int, *, agent_id: int, actor: Actor) -> RoutedItem:
        return self._item("take", item_id=item_id, agent_id=agent_id, actor=actor_to_json(actor))

    def decline(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return self._item("decline", item_id=item_id, actor=actor_to_json(actor))

    def complete(self, item_id: int, *, actor: Actor) -> RoutedItem:
        return self._item("complete", item_id=item_id, actor=actor_to_json(actor))

    def withdraw(self, item_id: int, *, actor: Actor, reason: str = "") -> RoutedItem:
        return self._item("withdraw", item_id=item_id, actor=actor_to_json(actor), reason=reason)

    def amend(
        self,
        item_id: int,
        *,
        customer_id: int | None = None,
        case_id: int | None = None,
        min_priority: int | None = None,
    ) -> RoutedItem:
        return self._item(
            "amend",
            item_id=item_id,
            customer_id=customer_id,
            case_id=case_id,
            min_priority=min_priority,
        )

    def set_presence(self, agent_id: int, state: str, *, actor: Actor) -> None:
        self._call("set_presence", agent_id=agent_id, state=state, actor=actor_to_json(actor))

    def end_after_work(self, agent_id: int) -> None:
        self._call("end_after_work", agent_id=agent_id)

    def refresh_agent(self, agent_id: int) -> None:
        self._call("refresh_agent", agent_id=agent_id)

    def item(self, item_id: int) -> RoutedItem | None:
        return item_from_json(self._call("item", item_id=item_id).get("item"))

    # --- The wire ---------------------------------------------------------------------------

    def _item(self, operation: str, **arguments: Any) -> RoutedItem:
        item = item_from_json(self._call(operation, **arguments).get("item"))
        assert item is not None  # every operation but `item` answers with one or an error
        return item

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        line = encode({"op": operation, "args": arguments, "language": translation.get_language()})
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.sock.sendall(line + b"\n")
                message = connection.read()
            except TimeoutError:
                # The process may still carry the operation out: not sent again.
                self._forget()
                raise self._unavailable() from None
            except OSError:
                message = None
            if message is None:
                self._forget()
                if connection.answered and attempt == 1:
                    # A kept connection the process had closed (it restarted): once more
                    # on a new one. Every operation is safe to repeat (docs/adr/0013).
                    continue
                raise self._unavailable()
            connection.answered = True
            if "answer" in message:
                return message["answer"]
            raise error_from_json(message.get("error") or {})
        raise self._unavailable()

    def _connection(self) -> _Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Connection.open()
        return connection

    def _forget(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    @staticmethod
    def _unavailable() -> RouterUnavailable:
        return RouterUnavailable(_("the router process does not answer; try again shortly"))


class _Connection:
    """A connection to the router process, its secret given."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lines = sock.makefile("rb")
        self.answered = False  # has answered a request (so it may have gone stale since)

    @classmethod
    def open(cls) -> _Connection:
        unavailable = RemoteRouter._unavailable
        try:
            named = json.loads(connection_file().read_text())
            sock = socket.create_connection((named["host"], named["port"]), _TIMEOUT_SECONDS)
        except (OSError, ValueError, KeyError):
            raise unavailable() from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(sock)
        try:
            sock.sendall(encode({"secret": named["secret"]}) + b"\n")
            greeting = connection.read()
        except OSError:
            greeting = None
        if greeting is None or "answer" not in greeting:
            connection.close()
            raise unavailable()
        return connection

    def read(self) -> dict[str, Any] | None:
        """The next answer; None if the process closed the connection."""
        line = self.lines.readline(MAX_LINE_BYTES + 1)
        return json.loads(line) if line.endswith(b"\n") else None

    def close(self) -> None:
        self.lines.close()
        self.sock.close()

"""The router port's client of the router process (docs/adr/0013): every operation is one
HTTP request on loopback over a kept-alive connection per thread."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from casework.kernel.actors import Actor
from casework.routing.port import RoutedItem
from casework.routing.router import NewWorkItem
from casework.routing.wire import (
    RouterUnavailable,
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

    def item(self, item_id: int) -> RoutedItem | None:
        return item_from_json(self._call("item", item_id=item_id).get("item"))

    # --- The wire ---------------------------------------------------------------------------

    def _item(self, operation: str, **arguments: Any) -> RoutedItem:
        item = item_from_json(self._call(operation, **arguments).get("item"))
        assert item is not None  # every operation but `item` answers with one or an error
        return item

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        body = encode(arguments)
        for attempt in (1, 2):
            connection, secret = self._connection()
            reused = self._local.answered
            try:
                connection.request(
                    "POST",
                    f"/v1/{operation}",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {secret}",
                        "Accept-Language": translation.get_language() or "en",
                    },
                )
                response = connection.getresponse()
                answer = json.loads(response.read() or b"{}")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._forget()
                if not reused or attempt == 2:
                    raise self._unavailable() from None
                # A kept-alive connection the process had closed (it restarted): once more
                # on a new one.
                continue
            except OSError:
                self._forget()
                raise self._unavailable() from None
            self._local.answered = True
            if response.status == 200:
                return answer
            if response.status == 401:
                self._forget()  # a new process with a new secret: read it again
                if attempt == 1:
                    continue
            error = answer.get("error") or {"message": f"HTTP {response.status}"}
            raise error_from_json(error)
        raise self._unavailable()

    def _connection(self) -> tuple[http.client.HTTPConnection, str]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                named = json.loads(connection_file().read_text())
            except (OSError, ValueError):
                raise self._unavailable() from None
            connection = http.client.HTTPConnection(
                named["host"], named["port"], timeout=_TIMEOUT_SECONDS
            )
            self._local.connection, self._local.secret = connection, named["secret"]
            self._local.answered = False
        return connection, self._local.secret

    def _forget(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    @staticmethod
    def _unavailable() -> RouterUnavailable:
        return RouterUnavailable(_("the router process does not answer; try again shortly"))

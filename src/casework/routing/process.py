"""The router process (docs/adr/0013, docs/routing-process.md): the in-memory engine owns
the routing tables and the other processes ask it over loopback.

It takes the lease, waits until no other process can still be writing the tables, writes
what a killed predecessor logged, loads the engine, writes behind it, runs its timers, and
answers one request per operation (`routing.wire`), every connection from one thread that
also runs the engine's timers between requests. Nothing in that thread writes to the
database (a caller may hold SQLite's write lock while it waits): the rows are written
behind by the engine's writer, the lease is renewed by a thread of its own.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import translation

from casework.kernel.errors import DomainError
from casework.routing import decisions, lease
from casework.routing.engine import RouterEngine
from casework.routing.port import EngineRouter
from casework.routing.router import NewWorkItem
from casework.routing.wire import (
    MAX_LINE_BYTES,
    OPERATIONS,
    actor_from_json,
    connection_file,
    encode,
    error_to_json,
    item_to_json,
)

logger = logging.getLogger(__name__)


def dispatch(router: EngineRouter, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One operation of the port, its arguments as the client sent them (a missing or
    wrong one raises KeyError, TypeError or ValueError)."""
    if operation == "submit":
        new = NewWorkItem.from_json(arguments["item"])
        return {"item": item_to_json(router.submit(new, actor=actor_from_json(arguments["actor"])))}
    if operation == "set_presence":
        agent_id, state = int(arguments["agent_id"]), str(arguments["state"])
        router.set_presence(agent_id, state, actor=actor_from_json(arguments["actor"]))
        return {}
    if operation == "end_after_work":
        router.end_after_work(int(arguments["agent_id"]))
        return {}
    if operation == "refresh_agent":
        router.refresh_agent(int(arguments["agent_id"]))
        return {}
    item_id = int(arguments["item_id"])
    if operation == "item":
        return {"item": item_to_json(router.item(item_id))}
    if operation == "amend":
        amended = router.amend(
            item_id,
            customer_id=_optional_int(arguments.get("customer_id")),
            case_id=_optional_int(arguments.get("case_id")),
            min_priority=_optional_int(arguments.get("min_priority")),
        )
        return {"item": item_to_json(amended)}
    actor = actor_from_json(arguments["actor"])
    if operation == "take":
        answer = router.take(item_id, agent_id=int(arguments["agent_id"]), actor=actor)
    elif operation == "withdraw":
        answer = router.withdraw(item_id, actor=actor, reason=str(arguments.get("reason") or ""))
    else:
        answer = {"accept": router.accept, "decline": router.decline, "complete": router.complete}[
            operation
        ](item_id, actor=actor)
    return {"item": item_to_json(answer)}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


# How long a connection being ended for a bad request waits for the client to close its side.
ENDING_SECONDS = 2.0


class _Client:
    """One connection: bytes read and not yet a whole line, and whether it gave the secret."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""
        self.trusted = False
        # Once the connection is being ended (`_Server._end`): when to stop waiting for the
        # client to close its side.
        self.ending_until: float | None = None


class _Server:
    """Every connection in one thread (a selector): the engine runs one operation at a time
    anyway, and a thread per connection paid a thread switch for every request. The loop
    also runs the engine's timers between requests."""

    def __init__(self, address: tuple[str, int], secret: str) -> None:
        self.listener = socket.create_server(address)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.secret = secret.encode()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.known_languages = {code for code, _name in settings.LANGUAGES}
        self.ending: list[_Client] = []

    def serve(self, router: EngineRouter, idle: Callable[[], bool]) -> None:
        """Answer until `idle()` (called every 50 ms at least) says to stop."""
        while idle():
            for key, _events in self.selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._read(key.data, router)
            if self.ending:
                self._drop_ended(time.monotonic())

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()

    def _accept(self) -> None:
        try:
            sock, _address = self.listener.accept()
        except BlockingIOError:
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.selector.register(sock, selectors.EVENT_READ, _Client(sock))

    def _read(self, client: _Client, router: EngineRouter) -> None:
        try:
            data = client.sock.recv(MAX_LINE_BYTES)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        if client.ending_until is not None:
            return  # what the client sends after its connection was ended is not read
        client.pending += data
        answers: list[bytes] = []
        keep = True
        while keep and b"\n" in client.pending:
            line, client.pending = client.pending.split(b"\n", 1)
            answer, keep = self._answer(client, line, router)
            answers.append(encode(answer) + b"\n")
        if keep and len(client.pending) > MAX_LINE_BYTES:
            answers.append(encode(_invalid("the request is too long")) + b"\n")
            keep = False
        try:
            client.sock.sendall(b"".join(answers))  # small: the socket's buffer takes them
        except OSError:
            self._drop(client)
            return
        if not keep:
            self._end(client)

    def _answer(
        self, client: _Client, line: bytes, router: EngineRouter
    ) -> tuple[dict[str, Any], bool]:
        """The answer to one line, and whether the connection goes on."""
        try:
            request = json.loads(line)
        except ValueError as error:
            return _invalid(f"the request is not JSON: {error}"), False
        if not client.trusted:
            given = str(request.get("secret", "")) if isinstance(request, dict) else ""
            if not hmac.compare_digest(given.encode(), self.secret):
                return {"error": {"code": "unauthorized", "message": "wrong secret"}}, False
            client.trusted = True
            return {"answer": {}}, True
        if not isinstance(request, dict) or not isinstance(request.get("args"), dict):
            return _invalid("a request is a JSON object with “op” and “args”"), True
        operation = request.get("op")
        if operation not in OPERATIONS:
            return {"error": {"code": "not_found", "message": "no such operation"}}, True
        language = request.get("language")
        if language not in self.known_languages:
            language = settings.LANGUAGE_CODE
        try:
            with translation.override(language):
                return {"answer": dispatch(router, operation, request["args"])}, True
        except DomainError as error:
            return {"error": error_to_json(error)}, True
        except (KeyError, TypeError, ValueError) as error:
            return _invalid(f"{operation}: missing or wrong argument {error}"), True
        except Exception:
            logger.exception("router operation %s failed", operation)
            return {"error": {"code": "router_error", "message": "internal error"}}, True

    def _end(self, client: _Client) -> None:
        """End the connection after the answers sent: the client gets them and then the end
        of the stream. Closed at once, a socket with requests still unread would reset
        the connection, and the client could lose the answers it had not read yet (the
        refusal, say); so what it still sends is read and dropped until it closes its side,
        for `ENDING_SECONDS` at most."""
        try:
            client.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(client)
            return
        client.ending_until = time.monotonic() + ENDING_SECONDS
        self.ending.append(client)

    def _drop_ended(self, now: float) -> None:
        for client in [c for c in self.ending if c.ending_until <= now]:  # type: ignore[operator]
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        self.selector.unregister(client.sock)
        client.sock.close()
        if client.ending_until is not None:
            self.ending.remove(client)


def _invalid(message: str) -> dict[str, Any]:
    return {"error": {"code": "invalid_input", "message": message}}


class RouterProcess:
    """`casework router`: `run()` until `stop()`; `ready` is set once it answers."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        flush_interval: float = 0.25,
        *,
        writer_process: bool = True,
    ) -> None:
        self.host, self.port, self.flush_interval = host, port, flush_interval
        # The rows written by a process of their own: the decisions keep this one's CPU.
        self.writer_process = writer_process
        self.owner = lease.owner_here()
        self.ready = threading.Event()
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self, *, on_ready: Callable[[RouterProcess], None] | None = None) -> None:
        secret = secrets.token_urlsafe(32)
        server = _Server((self.host, self.port), secret)
        self.port = server.port
        try:
            lease.take(self.owner, f"{self.host}:{self.port}")
        except BaseException:
            server.close()
            raise
        try:
            # Writes the transactional router began before the lease was taken end first.
            time.sleep(lease.CHECK_SECONDS + 0.5)
            directory = decisions_directory()
            replayed, through = decisions.replay(directory)
            if replayed:
                logger.warning("wrote %s decisions a stopped router process had logged", replayed)
            engine = RouterEngine.load()
            engine.reserve_keys()
            decision_log = decisions.DecisionLog(directory, first=through + 1)
            engine.log_decisions(decision_log)
            renewing = threading.Thread(target=self._renew_lease, name="router-lease", daemon=True)
            renewing.start()
            with engine.writing_behind(self.flush_interval, in_process=self.writer_process):
                _write_connection_file(self.host, self.port, secret)
                self.ready.set()
                if on_ready is not None:
                    on_ready(self)
                server.serve(EngineRouter(engine), self._between_requests(engine))
            decision_log.close()
            self._stopping.set()
            renewing.join()
        finally:
            server.close()
            _remove_connection_file(secret)
            lease.release(self.owner)
            connections.close_all()

    def _between_requests(self, engine: RouterEngine) -> Callable[[], bool]:
        """What the serving loop does between requests: the engine's timers, at most every
        50 ms; False when the process is to stop. Nothing here writes to the database: on
        SQLite a write would wait for the write lock of a caller that waits for an answer."""
        timers_at = 0.0

        def idle() -> bool:
            nonlocal timers_at
            if self._stopping.is_set():
                return False
            now = time.monotonic()
            if now >= timers_at:
                timers_at = now + 0.05
                try:
                    engine.run_timers()
                except Exception:  # a bug in one timer must not stop the router
                    logger.exception("router timers failed")
            return True

        return idle

    def _renew_lease(self) -> None:
        """Every second, in a thread of its own (it may wait for a caller's transaction)."""
        try:
            while not self._stopping.wait(lease.RENEW_SECONDS):
                try:
                    renewed = lease.renew(self.owner)
                except Exception:  # the database away for a moment: try again
                    logger.exception("the router lease was not renewed")
                    continue
                if not renewed:
                    logger.error("the router lease was taken over; this router process stops")
                    self._stopping.set()
        finally:
            connections.close_all()  # this thread's own


def decisions_directory() -> Path:
    return Path(settings.CASEWORK_DATA_DIR) / "router-decisions"


def _write_connection_file(host: str, port: int, secret: str) -> None:
    path = connection_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"host": host, "port": port, "secret": secret, "pid": os.getpid()}, file)
    os.replace(partial, path)


def _remove_connection_file(secret: str) -> None:
    """Only the file this process wrote (a successor may have written its own)."""
    path: Path = connection_file()
    try:
        if json.loads(path.read_text()).get("secret") == secret:
            path.unlink()
    except (OSError, ValueError):
        pass

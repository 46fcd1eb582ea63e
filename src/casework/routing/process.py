"""The router process (docs/adr/0013, docs/routing-process.md): the in-memory engine owns
the routing tables and the other processes ask it over loopback.

It takes the lease, waits until no other process can still be writing the tables, writes
what a killed predecessor logged, loads the engine, writes behind it, runs its timers, and
answers one request per operation (`routing.wire`). Operations run one at a time (the
engine's lock); each connection has a thread of its own so that one process's connection
never blocks another's.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import socket
import socketserver
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


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: its secret first, then one request per line (`wire.py`)."""

    # Each answer leaves in one segment when flushed (and Nagle's algorithm is off).
    wbufsize = 64 * 1024
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        greeting = self._read()
        given = str(greeting.get("secret", "")) if isinstance(greeting, dict) else ""
        if not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            self._send({"error": {"code": "unauthorized", "message": "wrong secret"}})
            return
        self._send({"answer": {}})
        known = {code for code, _name in settings.LANGUAGES}
        while True:
            request = self._read()
            if request is None:
                return  # the client closed the connection
            if not isinstance(request, dict) or not isinstance(request.get("args"), dict):
                self._send(_invalid("a request is a JSON object with “op” and “args”"))
                continue
            operation = request.get("op")
            if operation not in OPERATIONS:
                self._send({"error": {"code": "not_found", "message": "no such operation"}})
                continue
            language = request.get("language")
            try:
                with translation.override(
                    language if language in known else settings.LANGUAGE_CODE
                ):
                    answer = dispatch(self.server.router, operation, request["args"])
            except DomainError as error:
                self._send({"error": error_to_json(error)})
            except (KeyError, TypeError, ValueError) as error:
                self._send(_invalid(f"{operation}: missing or wrong argument {error}"))
            except Exception:
                logger.exception("router operation %s failed", operation)
                self._send({"error": {"code": "router_error", "message": "internal error"}})
            else:
                self._send({"answer": answer})

    def _read(self) -> Any:
        """The next request; None when the connection ends. A line that is too long or
        not JSON ends the connection (after saying why)."""
        line = self.rfile.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        if len(line) > MAX_LINE_BYTES or not line.endswith(b"\n"):
            self._send(_invalid("the request is too long"))
            return None
        try:
            return json.loads(line)
        except ValueError as error:
            self._send(_invalid(f"the request is not JSON: {error}"))
            return None

    def _send(self, message: dict[str, Any]) -> None:
        self.wfile.write(encode(message) + b"\n")
        self.wfile.flush()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            connections.close_all()  # the connection's thread ends: its database connection too


def _invalid(message: str) -> dict[str, Any]:
    return {"error": {"code": "invalid_input", "message": message}}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], router: EngineRouter, secret: str) -> None:
        super().__init__(address, _Handler)
        self.router, self.secret = router, secret


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
        server = _Server((self.host, self.port), EngineRouter(RouterEngine()), secret)
        self.port = server.server_address[1]
        lease.take(self.owner, f"{self.host}:{self.port}")
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
            server.router = EngineRouter(engine)
            with engine.writing_behind(self.flush_interval, in_process=self.writer_process):
                serving = threading.Thread(target=server.serve_forever, daemon=True)
                serving.start()
                _write_connection_file(self.host, self.port, secret)
                self.ready.set()
                if on_ready is not None:
                    on_ready(self)
                try:
                    self._run_timers(engine)
                finally:
                    server.shutdown()
                    server.server_close()
            decision_log.close()
        finally:
            _remove_connection_file(secret)
            lease.release(self.owner)
            connections.close_all()

    def _run_timers(self, engine: RouterEngine) -> None:
        renew_at = time.monotonic() + lease.RENEW_SECONDS
        while not self._stopping.is_set():
            try:
                engine.run_timers()
            except Exception:  # a bug in one timer must not stop the router
                logger.exception("router timers failed")
            if time.monotonic() >= renew_at:
                if not lease.renew(self.owner):
                    logger.error("the router lease was taken over; this router process stops")
                    return
                renew_at = time.monotonic() + lease.RENEW_SECONDS
            self._stopping.wait(0.05)


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

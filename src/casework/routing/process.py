"""The router process (docs/adr/0013, docs/routing-process.md): the in-memory engine owns
the routing tables and the other processes ask it over loopback.

It takes the lease, waits until no other process can still be writing the tables, loads
the engine, writes behind it, runs its timers, and answers one HTTP request per operation
(`routing.wire`). Operations run one at a time (the engine's lock); each connection has a
thread of its own so that a web process's kept-alive connection never blocks another's.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    OPERATIONS,
    actor_from_json,
    connection_file,
    encode,
    error_to_json,
    item_to_json,
)

logger = logging.getLogger(__name__)

# The longest a request body may be: a work item's JSON is well under a kilobyte.
_MAX_BODY_BYTES = 64 * 1024


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (the http.server convention)
        operation = self.path.removeprefix("/v1/")
        if not self.path.startswith("/v1/") or operation not in OPERATIONS:
            self._answer(404, {"error": {"code": "not_found", "message": "no such operation"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY_BYTES:
            self._answer(413, {"error": {"code": "invalid_input", "message": "too large"}})
            self.close_connection = True
            return
        body = self.rfile.read(length)
        given = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            self._answer(401, {"error": {"code": "unauthorized", "message": "wrong secret"}})
            return
        try:
            arguments = json.loads(body)
            if not isinstance(arguments, dict):
                raise ValueError("not an object")
        except ValueError as error:
            self._answer(400, _invalid(f"the body is not a JSON object: {error}"))
            return
        language = self.headers.get("Accept-Language", "")
        known = {code for code, _name in settings.LANGUAGES}
        try:
            with translation.override(language if language in known else settings.LANGUAGE_CODE):
                answer = dispatch(self.server.router, operation, arguments)
        except DomainError as error:
            self._answer(error.status, {"error": error_to_json(error)})
            return
        except (KeyError, TypeError, ValueError) as error:
            self._answer(400, _invalid(f"{operation}: missing or wrong argument {error}"))
            return
        except Exception:
            logger.exception("router operation %s failed", operation)
            self._answer(500, {"error": {"code": "router_error", "message": "internal error"}})
            return
        self._answer(200, answer)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = encode(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def finish(self) -> None:
        super().finish()
        connections.close_all()  # this connection's thread ends: its database connection too

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("router %s: " + format, self.client_address[0], *args)


def _invalid(message: str) -> dict[str, Any]:
    return {"error": {"code": "invalid_input", "message": message}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], router: EngineRouter, secret: str) -> None:
        super().__init__(address, _Handler)
        self.router, self.secret = router, secret


class RouterProcess:
    """`casework router`: `run()` until `stop()`; `ready` is set once it answers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, flush_interval: float = 0.25):
        self.host, self.port, self.flush_interval = host, port, flush_interval
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
            with engine.writing_behind(self.flush_interval):
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

"""Chat fixtures: an installation where chats open cases, the bot's intent model trained
from the shipped examples, an agent available for chats, a clock the test moves."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.chat.intents import train_intents
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.routing.models import Agent
from casework.routing.presence import set_presence
from casework.routing.queries import actor_for_agent
from tests.factories import AgentFactory, ChannelDefaultFactory, ResolutionCodeFactory
from tests.routing.conftest import router_process_down  # noqa: F401  (fixture)

SYSTEM = Actor.system("test")


class MovingClock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # Monday, 10:00 in Berlin

    def advance(self, seconds: float) -> dt.datetime:
        self.at += dt.timedelta(seconds=seconds)
        return self.at


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> MovingClock:
    moving = MovingClock()
    monkeypatch.setattr(clock, "now", lambda: moving.at)
    return moving


@pytest.fixture
def chat_intake(db):  # noqa: ANN001, ANN201
    ResolutionCodeFactory()
    return ChannelDefaultFactory(channel="chat")


@pytest.fixture
def intents(db) -> None:  # noqa: ANN001
    train_intents(actor=SYSTEM, trained_by="test")


@pytest.fixture
def chat_agent(chat_intake, moving_clock) -> Agent:  # noqa: ANN001
    agent = AgentFactory(teams=[chat_intake.case_type.default_queue.team])
    set_presence(agent.pk, "available", actor=SYSTEM)
    return agent


@pytest.fixture
def chat_agent_actor(chat_agent: Agent) -> Actor:
    return actor_for_agent(chat_agent)


class AsgiServer:
    """The ASGI application (pages and WebSockets) on a real uvicorn server on loopback, in
    a thread of the test process, on the test database."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        import threading
        import time

        import uvicorn

        from casework.config.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return
            time.sleep(0.05)
        raise RuntimeError("the ASGI server did not start")

    def stop(self) -> None:
        import gc

        from asgiref.sync import SyncToAsync
        from django.db import connections

        self.server.should_exit = True
        self.thread.join(timeout=10)
        # The server's database work ran in threads of its own (asgiref's executors): their
        # connections must go, or PostgreSQL refuses to drop the test database at the end.
        # The shared executor's are closed there; those of finished request threads are
        # closed when their connection objects are collected.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
        gc.collect()


@pytest.fixture
def asgi_server(transactional_db):  # noqa: ANN001, ANN201
    server = AsgiServer()
    server.start()
    yield server
    server.stop()

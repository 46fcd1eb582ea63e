"""Routing fixtures: a clock the test moves, agents with skills and a presence, jobs run
when their time has come."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from casework.kernel import clock, jobs
from casework.kernel.actors import Actor
from casework.routing import lease, port
from casework.routing.models import Agent, Queue, Skill
from casework.routing.presence import set_presence
from casework.routing.queries import actor_for_agent
from casework.routing.router import NewWorkItem, submit_work_item
from tests.factories import AgentFactory, AgentSkillFactory, QueueFactory

SYSTEM = Actor.system("test")


class TestClock:
    def __init__(self) -> None:
        self.at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Berlin

    def advance(self, seconds: float) -> dt.datetime:
        self.at += dt.timedelta(seconds=seconds)
        return self.at


@pytest.fixture
def test_clock(monkeypatch: pytest.MonkeyPatch) -> TestClock:
    moving = TestClock()
    monkeypatch.setattr(clock, "now", lambda: moving.at)
    return moving


@pytest.fixture
def run_jobs(test_clock: TestClock) -> Callable[[], int]:
    """Run the jobs that are due at the test clock's time (as the worker would)."""
    return lambda: jobs.run_due(limit=500)


@pytest.fixture
def queue(db) -> Queue:  # noqa: ANN001
    return QueueFactory(code="service")


AgentMaker = Callable[..., Agent]


@pytest.fixture
def make_agent(db, test_clock: TestClock) -> AgentMaker:  # noqa: ANN001
    """An agent with skills ({skill: level}), in a presence state, one second after the one
    made before (so the first made has been idle longest)."""

    def make(
        skills: Mapping[Skill, int] | None = None,
        *,
        presence: str = "available",
        username: str | None = None,
    ) -> Agent:
        agent = AgentFactory(**({"user__username": username} if username else {}))
        for skill, level in (skills or {}).items():
            AgentSkillFactory(agent=agent, skill=skill, proficiency=level)
        set_presence(agent.pk, presence, actor=SYSTEM)
        test_clock.advance(1)
        return agent

    return make


def as_agent(agent: Agent) -> Actor:
    return actor_for_agent(agent)


def call(queue: Queue | None = None, **fields: object) -> NewWorkItem:
    values: dict[str, object] = {"channel": "phone"}
    if queue is not None:
        values["queue"] = queue.code
    values.update(fields)
    return NewWorkItem(**values)  # type: ignore[arg-type]


def submit(new: NewWorkItem):  # noqa: ANN201
    return submit_work_item(new, actor=SYSTEM)


# --- A router process (`casework router`) against the test database ---


def eventually(condition: Callable[[], bool], *, seconds: float = 10.0) -> bool:
    """Whether `condition` holds within `seconds` (a router process writes behind)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _database_url() -> str:
    """The test database, as the router process is told of it."""
    named = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{named['NAME']}"
    user = quote(named["USER"] or "")
    password = f":{quote(named['PASSWORD'])}" if named["PASSWORD"] else ""
    host, port_number = named["HOST"] or "127.0.0.1", named["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port_number}/{named['NAME']}"


class RouterChild:
    """A `casework router` child process against the test database."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.child: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self, *, expect_ready: bool = True) -> subprocess.Popen[str]:
        environment = {
            **os.environ,
            "CASEWORK_DATA_DIR": str(self.data_dir),
            "CASEWORK_DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "casework.config.settings.demo",
            "CASEWORK_LANGUAGE": "en",  # its messages in the tests' language
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "casework.cli", "router", "--port", "0",
             "--flush-interval", "0.05"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=(self.data_dir / "router.log").open("a"),
            text=True,
        )  # fmt: skip
        if not expect_ready:
            return child
        self.child = child
        assert child.stdout is not None
        line = child.stdout.readline()  # blocks until it answers (or exits)
        assert line.startswith("router answering on"), self.log()
        self.port = int(line.rsplit(":", 1)[1])
        return child

    def log(self) -> str:
        """What the process wrote to its standard error."""
        return (self.data_dir / "router.log").read_text()

    def kill(self) -> None:
        assert self.child is not None
        self.child.kill()
        self.child.wait(timeout=10)

    def stop(self) -> int:
        assert self.child is not None
        self.child.send_signal(signal.SIGTERM)
        return self.child.wait(timeout=20)


@pytest.fixture
def router_process(tmp_path: Path, settings: Any) -> Iterator[RouterChild]:
    settings.CASEWORK_DATA_DIR = tmp_path
    settings.CASEWORK_ROUTER = "process"
    port._routers.clear()
    lease.forget_check()
    process = RouterChild(tmp_path)
    yield process
    if process.child is not None and process.child.poll() is None:
        process.stop()
    port._routers.clear()
    lease.forget_check()


@pytest.fixture
def router_process_down(tmp_path: Path, settings: Any) -> Iterator[Callable[[], None]]:
    """The channels ask a router process that does not run (no `router.json`: the real
    client finds nobody); the function it yields brings the embedded router back."""
    settings.CASEWORK_DATA_DIR = tmp_path
    settings.CASEWORK_ROUTER = "process"
    port._routers.clear()

    def back() -> None:
        settings.CASEWORK_ROUTER = "embedded"
        port._routers.clear()

    yield back
    port._routers.clear()

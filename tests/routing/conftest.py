"""Routing fixtures: a clock the test moves, agents with skills and a presence, jobs run
when their time has come."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import pytest

from casework.kernel import clock, jobs
from casework.kernel.actors import Actor
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

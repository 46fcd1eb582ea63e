"""Pull: "get next" gives the most urgent task the agent may do, within their capacity."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.cases.models import CaseSla, TaskStatus
from casework.cases.services import get_next_task
from casework.routing.errors import AtCapacity
from tests.factories import (
    AgentSkillFactory,
    CaseFactory,
    CaseTypeFactory,
    QueueFactory,
    SkillFactory,
    TaskFactory,
)
from tests.routing.conftest import as_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_queue(agent):  # noqa: ANN001, ANN201
    return QueueFactory(code="back-office", team=agent.teams.first())


def task_in(queue, **fields):  # noqa: ANN001, ANN003, ANN201
    case = CaseFactory(case_type=CaseTypeFactory(default_queue=queue))
    return TaskFactory(case=case, queue=queue, **fields)


def test_get_next_skips_queues_whose_skills_the_agent_lacks(agent, team_queue):
    pension = SkillFactory(code="pension")
    expert_queue = QueueFactory(code="pension-experts", team=team_queue.team)
    expert_queue.required_skills.add(pension)
    task_in(expert_queue, priority=4)
    doable = task_in(team_queue, priority=2)

    assert get_next_task(as_agent(agent)).pk == doable.pk

    AgentSkillFactory(agent=agent, skill=pension, proficiency=6)
    assert get_next_task(as_agent(agent)).queue == expert_queue


def test_the_nearest_service_level_deadline_comes_first_at_equal_priority(
    agent, team_queue, test_clock
):
    now = test_clock.at
    older = task_in(team_queue, due_at=now + dt.timedelta(hours=1))
    urgent_sla = task_in(team_queue, due_at=now + dt.timedelta(days=3))
    CaseSla.objects.create(
        case=urgent_sla.case,
        kind="first_response",
        target_business_seconds=3600,
        started_at=now,
        due_at=now + dt.timedelta(minutes=20),
    )
    met = task_in(team_queue)
    CaseSla.objects.create(
        case=met.case,
        kind="first_response",
        target_business_seconds=60,
        started_at=now,
        due_at=now - dt.timedelta(minutes=5),
        met_at=now,
    )

    picked = [get_next_task(as_agent(agent)).pk for _ in range(3)]

    assert picked == [urgent_sla.pk, older.pk, met.pk]


def test_an_agent_at_capacity_gets_no_more_tasks(agent, team_queue):
    for _ in range(5):
        task_in(team_queue, assignee=agent, status=TaskStatus.IN_PROGRESS)
    waiting = task_in(team_queue)

    with pytest.raises(AtCapacity) as error:
        get_next_task(as_agent(agent))

    assert (error.value.code, error.value.status) == ("at_capacity", 409)
    waiting.refresh_from_db()
    assert waiting.assignee_id is None and waiting.status == TaskStatus.OPEN

"""My work, the queues, and "get next"."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casework.cases.models import Case, CaseStatus, Task, TaskStatus
from casework.events.models import Event
from casework.routing.models import Agent
from tests.factories import CaseFactory, TaskFactory
from tests.web.conftest import Helmut


def test_my_work_lists_my_tasks_my_cases_and_my_queues_with_counts(
    signed_in: Client, agent: Agent, helmut: Helmut, other_team_case: Case
):
    queue = helmut.case.queue
    mine = CaseFactory(case_type=helmut.case.case_type, owner=agent, subject="Meine Sache")
    TaskFactory(case=mine, assignee=agent, status=TaskStatus.IN_PROGRESS, title="Rückruf")

    response = signed_in.get(reverse("web:my_work"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Rückruf" in page and mine.reference in page and "Meine Sache" in page
    assert reverse("web:queue", kwargs={"code": queue.code}) in page
    # Helmut's task waits, my own is in progress: two open tasks, one waiting.
    assert '<td class="num">2</td>' in page and "<strong>1</strong>" in page
    assert other_team_case.queue.name not in page


def test_queue_page_lists_its_open_tasks_with_links_to_the_cases(signed_in: Client, helmut: Helmut):
    response = signed_in.get(reverse("web:queue", kwargs={"code": helmut.case.queue.code}))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("web:case", kwargs={"case_id": helmut.case.pk}) in page
    assert "Frage zum Tarif" in page


def test_queue_of_another_team_or_unknown_is_404(signed_in: Client, other_team_case: Case):
    other = reverse("web:queue", kwargs={"code": other_team_case.queue.code})
    assert signed_in.get(other).status_code == 404
    assert signed_in.get(reverse("web:queue", kwargs={"code": "nope"})).status_code == 404


def test_queue_list_shows_the_visible_queues(signed_in: Client, helmut: Helmut):
    response = signed_in.get(reverse("web:queues"))

    assert response.status_code == 200
    assert helmut.case.queue.name in response.content.decode()


def test_get_next_gives_the_most_urgent_waiting_task_and_opens_its_case(
    signed_in: Client, agent: Agent, helmut: Helmut
):
    urgent = CaseFactory(case_type=helmut.case.case_type, priority=4, subject="Dringend")
    TaskFactory(case=urgent, priority=4)

    response = signed_in.post(reverse("web:next_task"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:case", kwargs={"case_id": urgent.pk})
    task = Task.objects.get(case=urgent)
    assert task.assignee_id == agent.pk and task.status == TaskStatus.IN_PROGRESS
    urgent.refresh_from_db()
    assert urgent.owner_id == agent.pk and urgent.status == CaseStatus.OPEN
    assert Event.objects.filter(code="task.assigned", object_id=task.pk).exists()
    assert Event.objects.filter(code="case.assigned", object_id=urgent.pk).exists()
    page = signed_in.get(response["Location"]).content.decode()
    assert "This case is yours now" in page


def test_get_next_with_nothing_waiting_says_so(
    signed_in: Client, agent: Agent, other_team_case: Case
):
    response = signed_in.post(reverse("web:next_task"), follow=True)

    assert response.redirect_chain == [(reverse("web:my_work"), 302)]
    assert "Nothing is waiting in your queues." in response.content.decode()
    assert Task.objects.get(case=other_team_case).assignee_id is None
    assert not Event.objects.filter(code="task.assigned").exists()

"""The case's process on the case screen: the generated form, finishing work, four-eyes
approval by a colleague of another team, actions with a reason, SLA clocks, history."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case, CaseStatus, Task, TaskStatus
from casework.routing.models import Queue
from tests.engine import open_process_case, run_jobs
from tests.factories import AgentFactory, CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


def team_of(queue_code: str):  # noqa: ANN201
    return Queue.objects.get(code=queue_code).team


def open_task(case: Case, step: str) -> Task:
    return Task.objects.get(case=case, step_key=step, status=TaskStatus.OPEN)


def test_an_agent_works_a_complaint_through_its_process_on_the_case_screen(engine, client: Client):
    customer = CustomerFactory(first_name="Lisa", last_name="Schneider")
    IdentifierFactory(customer=customer, kind="email", value="lisa@example.org")
    case = open_process_case("complaint-goodwill", customer_id=customer.pk)
    run_jobs()
    agent = AgentFactory(teams=[team_of("complaints")])
    client.force_login(agent.user)
    url = reverse("web:case", kwargs={"case_id": case.pk})

    page = client.get(url).content.decode()
    assert 'id="case-process"' in page and "Intake" in page and 'aria-current="step"' in page
    form = open_task(case, "capture-complaint")
    assert f'name="t{form.pk}-complaint_reason"' in page
    assert "left (business hours)" in page
    assert "Process complaint-goodwill v1 started" in page  # the history in plain words

    task_url = reverse("web:task_complete", args=[case.pk, form.pk])
    refused = client.post(task_url, {f"t{form.pk}-description": "kaputt"}, follow=True)
    assert "complaint reason" in refused.content.decode().lower()
    assert open_task(case, "capture-complaint")
    client.post(task_url, {f"t{form.pk}-complaint_reason": "outage"})
    run_jobs()

    assess = open_task(case, "assess-complaint")
    client.post(reverse("web:task_complete", args=[case.pk, assess.pk]), {"note": "berechtigt"})
    run_jobs()
    goodwill = open_task(case, "record-goodwill")
    client.post(
        reverse("web:task_complete", args=[case.pk, goodwill.pk]),
        {f"t{goodwill.pk}-goodwill_amount": "80", f"t{goodwill.pk}-goodwill_reason": "Ausfall"},
    )
    run_jobs()
    approval = open_task(case, "approve-goodwill")
    approval_url = reverse("web:task_complete", args=[case.pk, approval.pk])

    own = client.post(approval_url, {"decision": "approve"}, follow=True)
    assert "four eyes" in own.content.decode().lower()
    supervisor = AgentFactory(teams=[team_of("complaints-supervisors")], role="supervisor")
    client.force_login(supervisor.user)
    # The supervisor's team does not own the case's queue; the open approval makes it visible.
    assert "Approve goodwill above 50 EUR" in client.get(url).content.decode()
    client.post(approval_url, {"decision": "approve"})
    run_jobs(rounds=40)

    case.refresh_from_db()
    assert case.stage in ("settlement", "resolved")


def test_escalation_needs_a_reason_and_moves_the_case_to_second_level(engine, client: Client):
    case = open_process_case("collecting-society-request", customer_id=CustomerFactory().pk)
    run_jobs()
    agent = AgentFactory(teams=[team_of("member-service")])
    client.force_login(agent.user)
    form = open_task(case, "capture-request")
    client.post(
        reverse("web:task_complete", args=[case.pk, form.pk]),
        {f"t{form.pk}-topic": "membership"},
    )
    run_jobs()
    page = client.get(reverse("web:case", kwargs={"case_id": case.pk})).content.decode()
    assert "Escalate to 2nd level" in page

    action_url = reverse("web:case_action", args=[case.pk])
    client.post(action_url, {"action": "escalate", "reason": ""})
    case.refresh_from_db()
    assert case.stage == "first-level"
    client.post(action_url, {"action": "escalate", "reason": "Rechtsfrage zum Urheberrecht"})
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "second-level" and case.status != CaseStatus.RESOLVED
    assert open_task(case, "answer-second-level").queue.code == "member-service-2nd-level"


def test_an_exception_is_decided_on_the_screen(engine, client: Client):
    customer = CustomerFactory(segment="nobody-knows")
    case = open_process_case("retention-order", customer_id=customer.pk, data={"campaign": "x"})
    run_jobs()
    exception = Task.objects.get(case=case, kind="exception", status=TaskStatus.OPEN)
    agent = AgentFactory(teams=[team_of("retention")])
    client.force_login(agent.user)

    page = client.get(reverse("web:case", kwargs={"case_id": case.pk})).content.decode()
    assert "retention-offer" in page and "Choose the outcome" in page

    client.post(
        reverse("web:task_complete", args=[case.pk, exception.pk]),
        {"option": "choose_outcome", f"o{exception.pk}-offer": "none"},
    )
    run_jobs()

    case.refresh_from_db()
    assert case.stage == "no-offer" and case.status == CaseStatus.RESOLVED

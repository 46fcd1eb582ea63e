"""KPIs and the wall-board over the REST API: supervisors see their teams' queues, admins
everything, agents nothing; bad parameters get a precise 422."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from casework.analytics import aggregation
from casework.api.tokens import create_token
from casework.kernel import clock
from casework.kernel.actors import Role
from tests.analytics.streams import _Stream
from tests.api.conftest import ApiClient
from tests.factories import AgentFactory, QueueFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures() -> None:
    """Today: a call answered in 12 s in queue "service", one abandoned in "billing"."""
    QueueFactory(code="service", team=TeamFactory(code="first-level"))
    QueueFactory(code="billing", team=TeamFactory(code="billing"))
    now = clock.now() - timedelta(minutes=5)
    stream = _Stream(None)  # type: ignore[arg-type]
    stream.add(now, "work_item.queued", "work_item", 1, {"channel": "phone", "queue": "service"})
    stream.add(now, "work_item.accepted", "work_item", 1, {"agent_id": 3, "waited_seconds": 12})
    stream.add(now, "work_item.queued", "work_item", 2, {"channel": "phone", "queue": "billing"})
    stream.add(now, "work_item.withdrawn", "work_item", 2, {"waited_seconds": 50})
    with transaction.atomic():
        aggregation.apply_events(stream.events)


def client_for(role: Role, *team_codes: str) -> ApiClient:
    teams = [TeamFactory(code=code) for code in team_codes]
    agent = AgentFactory(role=role, teams=teams)
    return ApiClient(create_token(agent.user.username))


def today() -> str:
    return clock.localtime(clock.now()).date().isoformat()


def test_a_supervisor_reads_their_teams_kpis(figures):
    supervisor = client_for(Role.SUPERVISOR, "first-level")
    response = supervisor.get(
        "/analytics/kpis",
        kpi=["answered", "service_level"],
        **{"from": today(), "to": today()},
        interval="total",
        group_by="queue",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [kpi["key"] for kpi in body["kpis"]] == ["answered", "service_level"]
    assert body["kpis"][1]["unit"] == "percent"
    assert [(row["group"], row["values"]) for row in body["rows"]] == [
        ("service", {"answered": 1, "service_level": 1.0})  # billing is another team's
    ]


def test_an_admin_reads_every_queue(figures):
    admin = client_for(Role.ADMIN)
    response = admin.get(
        "/analytics/kpis",
        kpi="abandonment_rate",
        **{"from": today(), "to": today()},
        interval="total",
    )
    assert response.json()["rows"][0]["values"] == {"abandonment_rate": 0.5}


def test_agents_get_no_figures(figures):
    agent = client_for(Role.AGENT, "first-level")
    response = agent.get("/analytics/kpis", kpi="answered", **{"from": today(), "to": today()})
    assert response.status_code == 403
    assert agent.get("/analytics/wallboard").status_code == 403


@pytest.mark.parametrize(
    "params, field",
    [
        ({"kpi": "nonsense"}, "kpi"),
        ({"kpi": "answered", "interval": "fortnight"}, "interval"),
        ({"kpi": "answered", "to": "2026-13-01"}, "to"),
        ({"kpi": "cases_opened", "group_by": "agent"}, "kpi"),
    ],
)
def test_bad_parameters_are_named(figures, params, field):
    admin = client_for(Role.ADMIN)
    response = admin.get("/analytics/kpis", **{"from": today(), "to": today(), **params})
    assert response.status_code == 422, response.content
    assert field in [error["field"] for error in response.json()["errors"]]


def test_the_wallboard(figures):
    supervisor = client_for(Role.SUPERVISOR, "first-level")
    response = supervisor.get("/analytics/wallboard")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [queue["code"] for queue in body["queues"]] == ["service"]
    assert body["queues"][0]["answered_today"] == 1
    assert body["service_level_today"] == 1.0


def test_the_schema_lists_the_endpoints(figures):
    schema = client_for(Role.ADMIN).client.get("/api/v1/openapi.json").json()
    assert "/api/v1/analytics/kpis" in schema["paths"]
    assert "/api/v1/analytics/wallboard" in schema["paths"]


def test_a_customer_created_with_a_segment_is_counted_in_it(db):
    admin = client_for(Role.ADMIN)
    created = admin.post("/customers", {"last_name": "Neu", "segment": "senior"})
    assert created.status_code == 201, created.content
    assert created.json()["segment"] == "senior"
    refused = admin.post("/customers", {"last_name": "Neu", "segment": "Nicht Gültig"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "segment"


def test_the_wallboard_lists_the_service_levels_due_within_the_hour(figures):
    from casework.cases.models import CaseSla
    from casework.routing.models import Queue
    from tests.factories import CaseFactory

    service = Queue.objects.get(code="service")
    now = clock.now()
    soon = CaseFactory(queue=service)
    later = CaseFactory(queue=service)
    elsewhere = CaseFactory(queue=Queue.objects.get(code="billing"))
    for case, minutes in ((soon, 30), (later, 90), (elsewhere, 10)):
        CaseSla.objects.create(
            case=case,
            kind="resolution",
            target_business_seconds=3600,
            started_at=now,
            due_at=now + timedelta(minutes=minutes),
        )
    body = client_for(Role.SUPERVISOR, "first-level").get("/analytics/wallboard").json()
    assert body["queues"][0]["sla_due_soon"] == 1
    assert [b["reference"] for b in body["upcoming_breaches"]] == [soon.reference]

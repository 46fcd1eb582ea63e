"""The worker's consumer keeps the figures as the product is used, and the operator
commands rebuild and verify them."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import F

from casework.analytics import aggregation, kpis
from casework.analytics.kpis import KpiQuery
from casework.analytics.models import QueueDay
from casework.cases.models import Case
from casework.cases.services import resolve_case
from casework.intake.services import ingest
from casework.kernel import clock
from casework.routing.queries import actor_for_agent
from tests.factories import (
    AgentFactory,
    ChannelDefaultFactory,
    IdentifierFactory,
    ResolutionCodeFactory,
    inbound,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity() -> Case:
    """Two mails of a known customer (one case, the second quotes its reference), one
    call of an unknown caller, and the first case resolved by an agent."""
    ChannelDefaultFactory(channel="email")
    ChannelDefaultFactory(channel="phone")
    IdentifierFactory(kind="email", value="helmut@example.de", customer__segment="private")
    now = clock.now()
    first = ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="helmut@example.de",
            received_at=now,
            subject="Tarif",
            text="Frage",
        )
    )
    ingest(
        inbound(
            "email",
            sender_kind="email",
            sender="helmut@example.de",
            received_at=now,
            subject=f"Re: Tarif [{first.case.reference}]",
            text="Noch etwas",
        )
    )
    ingest(inbound("phone", sender_kind="phone", sender="+49301234567", received_at=now))
    ResolutionCodeFactory(code="answered")
    resolve_case(first.case, resolution_code="answered", actor=actor_for_agent(AgentFactory()))
    return first.case


def today_totals(*keys: str, **extra) -> dict:  # noqa: ANN003
    today = clock.localtime(clock.now()).date()
    rows = kpis.report(KpiQuery(start=today, end=today, kpis=keys, interval="total", **extra))
    return {row.group: row.values for row in rows}


def test_the_consumer_folds_in_what_happened_and_equals_a_recomputation(activity, capsys):
    call_command("analytics", "catch-up")
    assert today_totals("contacts_in", "cases_opened", "cases_resolved", "fcr_rate")[""] == {
        "contacts_in": 3,
        "cases_opened": 2,
        "cases_resolved": 1,
        "fcr_rate": 0.0,  # the customer wrote twice before it was resolved
    }
    assert today_totals("cases_opened", group_by="segment") == {
        "private": {"cases_opened": 1},
        "": {"cases_opened": 1},  # the unknown caller's new customer has no segment
    }
    assert aggregation.run_once() == 0  # nothing new
    call_command("analytics", "verify")
    assert "equal a recomputation" in capsys.readouterr().out


def test_verify_names_a_changed_row_and_rebuild_repairs_it(activity, capsys):
    aggregation.catch_up()
    QueueDay.objects.filter(cases_opened__gt=0).update(cases_opened=F("cases_opened") + 1)
    with pytest.raises(SystemExit):
        call_command("analytics", "verify")
    assert "rows differ from a recomputation" in capsys.readouterr().err

    call_command("analytics", "rebuild")
    call_command("analytics", "verify")
    assert today_totals("cases_opened")[""] == {"cases_opened": 2}


@pytest.mark.django_db(databases="__all__")  # the worker also looks at the intake queue
def test_the_worker_runs_the_consumer(activity):
    from django.conf import settings

    assert "casework.analytics.aggregation.run_once" in settings.CASEWORK_BACKGROUND_JOBS
    call_command("worker", "--once")
    assert today_totals("contacts_in")[""]["contacts_in"] == 3

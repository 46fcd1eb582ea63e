"""The case engine in tests: every shipped case type published with the queues it routes
to, and the worker's passes run in the test."""

from __future__ import annotations

from typing import Any

import pytest

from casework.cases import process
from casework.cases.models import Case
from casework.cases.services import NewCase, get_case_type, open_case_atomically
from casework.channels.email.models import Mailbox
from casework.kernel import clock, jobs
from casework.kernel.actors import Actor
from casework.kernel.models import Job
from casework.offers.models import Offer
from tests.factories import QueueFactory, TeamFactory

QUEUES = [
    ("retention", 1),
    ("complaints", 1),
    ("complaints-supervisors", 2),
    ("member-service", 1),
    ("member-service-2nd-level", 2),
    ("licensing", 3),
    ("distribution", 3),
    ("telecom-contracts", 1),
    ("telecom-back-office", 2),
]
ADMIN = Actor.system("test")


@pytest.fixture
def engine(db, settings):  # noqa: ANN001, ANN201
    """Every shipped case type published, with the queues they route to."""
    settings.CASEWORK_FEDERAL_STATE = "NW"
    for code, tier in QUEUES:
        QueueFactory(code=code, team=TeamFactory(code=f"team-{code}", tier=tier))
    process.reload_definitions()
    published = process.publish_configured(actor=ADMIN)
    assert {entry.key for entry in published} >= {"retention-order", "complaint-goodwill"}
    # The retention order changes contracts by the offers of the catalogue.
    for code, months, discount in (("discount-20", 24, 20), ("discount-10", 24, 10)):
        Offer.objects.create(
            code=code,
            name_de=f"Rabatt {discount} %",
            name_en=f"{discount} % discount",
            extend_months=months,
            discount_percent=discount,
        )
    Offer.objects.create(code="free-option", name_de="Gratisoption", name_en="Free option")
    Mailbox.objects.create(
        address="service@demo.casework.test",
        display_name="Service",
        case_type=get_case_type("retention-order"),
    )
    yield
    process.reload_definitions()


def run_jobs(rounds: int = 20) -> None:
    """The worker's passes until nothing is due (retries are made due at once): queued
    retention responses, then the jobs."""
    from casework.retention import queue

    for _ in range(rounds):
        Job.objects.filter(status="queued", next_attempt_at__gt=clock.now()).exclude(
            kind__in=["cases.sla_due", "cases.resume", "cases.wait_timeout"]
        ).update(next_attempt_at=clock.now())
        received = queue.run_once()
        if not jobs.run_due() and not received:
            return


def open_process_case(key: str, **kwargs: Any) -> Case:
    case = open_case_atomically(
        NewCase(case_type=get_case_type(key), subject=kwargs.pop("subject", key), **kwargs),
        actor=ADMIN,
    )
    return Case.objects.get(pk=case.pk)

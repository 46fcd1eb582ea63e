"""Writers in parallel: no deadlocks, no gaps, no duplicates (real database, real threads).

On PostgreSQL this is where lock order matters; on SQLite writers queue on the database
lock and the same assertions hold."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from casework.cases.models import Case
from casework.cases.services import CaseChanges, update_case
from casework.events.services import verify_chain
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import ingest
from casework.interactions.models import Interaction
from casework.kernel.actors import Actor
from tests.factories import ChannelDefaultFactory, ResolutionCodeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _message(n: int, case_reference: str = "") -> InboundMessage:
    return InboundMessage(
        channel="email",
        external_id=f"<parallel-{n}@example.de>",
        received_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        sender=(SenderIdentifier("email", f"sender{n % 7}@example.de"),),
        sender_name="Parallel Sender",
        subject=f"{case_reference} Nachricht {n}".strip(),
        text="Text",
    )


def _run_in_threads(jobs: list) -> list[BaseException]:  # noqa: ANN001
    errors: list[BaseException] = []

    def run(job) -> None:  # noqa: ANN001
        try:
            job()
        except BaseException as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_parallel_intake_and_case_updates_neither_deadlock_nor_break_the_chain():
    ResolutionCodeFactory()
    ChannelDefaultFactory(channel="email")
    first = ingest(_message(0))
    actor = Actor.system("test")

    jobs = []
    for n in range(1, 25):
        jobs.append(lambda n=n: ingest(_message(n, first.case.reference if n % 3 else "")))
        jobs.append(
            lambda n=n: update_case(
                Case.objects.get(pk=first.case.pk), CaseChanges(priority=1 + n % 4), actor=actor
            )
        )
        jobs.append(lambda n=n: ingest(_message(n)))  # the same message again: a duplicate

    errors = _run_in_threads(jobs)

    assert errors == []
    assert Interaction.objects.filter(channel="email").count() == 25
    assert verify_chain().is_intact

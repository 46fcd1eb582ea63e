"""The same delivery arriving several times at once (a telephone system retrying while the
first request is still running), real threads on the real database: one call, one
interaction, one work item, one stored event; every request gets the same answer."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from casework.channels.phone import cti, services
from casework.channels.phone.models import Call, CallEvent, ConnectionKind, CtiConnection
from casework.interactions.models import Interaction
from casework.kernel import secrets
from casework.routing.models import WorkItem
from tests.factories import CustomerFactory, IdentifierFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


def test_concurrent_duplicates_make_one_call():
    connection = CtiConnection.objects.create(
        code="pbx",
        name="PBX",
        kind=ConnectionKind.GENERIC,
        secret=secrets.encrypt("x"),
        default_queue=QueueFactory(code="phone-service"),
    )
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="phone", value="+493023456789")
    event = cti.parse_generic(
        b'{"event": "new_call", "call_id": "dup-1", "caller": "030 23456789", "event_id": "e1"}'
    )
    answers, errors = [], []
    start = threading.Barrier(THREADS)

    def deliver() -> None:
        try:
            start.wait()
            answers.append(services.receive(connection, event))
        except BaseException as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(answers) == THREADS and len({answer["call"] for answer in answers}) == 1
    assert Call.objects.count() == 1 and WorkItem.objects.count() == 1
    assert Interaction.objects.count() == 1 and CallEvent.objects.count() == 1
    assert sum(1 for answer in answers if not answer.get("repeated")) == 1


def test_two_first_events_of_one_call_at_once_start_it_once():
    """The new-call event and, lost in a retry with another id, a second one: both would
    start the call; one does, the other finds it."""
    connection = CtiConnection.objects.create(
        code="pbx",
        name="PBX",
        kind=ConnectionKind.GENERIC,
        secret=secrets.encrypt("x"),
        default_queue=QueueFactory(code="phone-service"),
    )
    events = [
        cti.parse_generic(
            b'{"event": "new_call", "call_id": "c-1", "caller": "030 23456789", "event_id": "%d"}'
            % n
        )
        for n in range(THREADS)
    ]
    answers, errors = [], []
    start = threading.Barrier(THREADS)

    def deliver(event) -> None:  # noqa: ANN001
        try:
            start.wait()
            answers.append(services.receive(connection, event))
        except BaseException as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert Call.objects.count() == 1 and WorkItem.objects.count() == 1
    assert CallEvent.objects.count() == THREADS  # each kept; all but one say "already reported"

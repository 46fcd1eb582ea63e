"""Queued intake: accepted with one insert, ingested by the worker in batches, never lost
and never twice."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import OperationalError

from casework.cases.models import Case
from casework.events.models import Event
from casework.events.services import verify_chain
from casework.intake import queue
from casework.intake.dbrouter import queue_is_separate
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.models import QueuedMessage, QueuedStatus
from casework.intake.services import ingest, ingest_batch
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.kernel.errors import InvalidInput, NotFound
from tests.factories import CaseFactory, IdentifierFactory

# The queue has a database of its own on SQLite (`intake.dbrouter`).
pytestmark = pytest.mark.django_db(databases="__all__")

RECEIVED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def mail(external_id: str, address: str = "helmut@example.de", **kwargs: Any) -> InboundMessage:
    defaults: dict[str, Any] = dict(
        channel="email",
        external_id=external_id,
        received_at=RECEIVED,
        sender=(SenderIdentifier("email", address),),
        sender_name="Helmut Berger",
        subject="Frage zu meinem Vertrag",
        text="Guten Tag, ich habe eine Frage.",
    )
    defaults.update(kwargs)
    return InboundMessage(**defaults)


def test_enqueue_stores_the_message_and_a_repeat_finds_the_first_entry(email_intake):
    first = queue.enqueue(mail("<m1@x>"))
    again = queue.enqueue(mail("<m1@x>", text="changed"))

    assert first.is_new and not again.is_new
    assert again.entry.pk == first.entry.pk
    assert QueuedMessage.objects.count() == 1
    entry = QueuedMessage.objects.get()
    assert entry.status == QueuedStatus.QUEUED and entry.attempts == 0
    assert entry.message["text"] == "Guten Tag, ich habe eine Frage."
    assert not Interaction.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    ("message", "error", "field"),
    [
        (mail("<m@x>", channel="pigeon"), InvalidInput, "channel"),
        (mail("<m@x>", sender=(SenderIdentifier("phone", "12"),)), InvalidInput, "sender.0"),
        (mail("<m@x>", received_at=dt.datetime(2026, 11, 2)), InvalidInput, "received_at"),
        (mail("<m@x>", customer_id=987654), NotFound, "customer_id"),
        (mail("<m@x>", case_id=987654), NotFound, "case_id"),
        (mail("<m@x>", case_type="no-such-type"), NotFound, None),
        (mail("<m@x>", channel="phone"), InvalidInput, "channel"),  # no case type for phone
    ],
)
def test_enqueue_refuses_what_could_not_be_ingested(email_intake, message, error, field):
    with pytest.raises(error) as raised:
        queue.enqueue(message)

    assert raised.value.details.get("field") == field
    assert not QueuedMessage.objects.exists()


def test_the_worker_ingests_queued_messages_and_records_the_outcome(email_intake):
    IdentifierFactory(kind="email", value="lisa@example.de")
    new = queue.enqueue(mail("<m1@x>")).entry
    known = queue.enqueue(mail("<m2@x>", address="lisa@example.de")).entry

    assert queue.run_once() == 2

    new.refresh_from_db()
    known.refresh_from_db()
    assert new.status == known.status == QueuedStatus.INGESTED
    interaction = Interaction.objects.get(external_id="<m1@x>")
    assert (new.case_id, new.case_reference, new.interaction_id) == (
        interaction.case_id,
        interaction.case.reference,
        interaction.pk,
    )
    assert new.attempts == 1 and new.processed_at is not None and not new.is_duplicate
    assert new.error == {}
    assert Interaction.objects.count() == 2
    assert queue.run_once() == 0
    assert verify_chain().is_intact


def test_what_can_be_worked_out_on_arrival_is_kept_with_the_entry(email_intake):
    CaseFactory(reference="CW-2026-000777")
    new = queue.enqueue(mail("<m1@x>", address=" Helmut@Example.DE ")).entry
    reply = queue.enqueue(mail("<m2@x>", subject="Re: [CW-2026-000777] Frage")).entry

    assert new.prepared["identifiers"] == [["email", "helmut@example.de"]]
    assert new.prepared["classification"]["results"]["language"]["label"] == "de"
    assert new.message["sender"] == [["email", " Helmut@Example.DE "]]  # as it came
    # A reply most likely continues its case: classified only if it opens one after all.
    assert reply.prepared == {"identifiers": [["email", "helmut@example.de"]]}


def test_the_worker_takes_the_prepared_facts_and_works_out_those_missing(email_intake):
    tampered = queue.enqueue(mail("<m1@x>")).entry
    older = queue.enqueue(mail("<m2@x>", address="lisa@example.de")).entry
    as_if_english = {"label": "en", "confidence": 0.5, "is_confident": False, "version": None}
    tampered.prepared["classification"]["results"]["language"] = as_if_english
    QueuedMessage.objects.filter(pk=tampered.pk).update(prepared=tampered.prepared)
    QueuedMessage.objects.filter(pk=older.pk).update(prepared=None)  # queued before the column

    assert queue.run_once() == 2

    stored = Interaction.objects.get(external_id="<m1@x>").payload["classification"]
    assert stored["language"] == as_if_english  # not classified again
    worked_out = Interaction.objects.get(external_id="<m2@x>")
    assert worked_out.payload["classification"]["language"]["label"] == "de"
    assert worked_out.customer.identifiers.get(kind="email").value == "lisa@example.de"


@pytest.mark.parametrize(
    "stored",
    [
        {"identifiers": [["pigeon", "x"]]},  # a kind this version does not know
        {"identifiers": "helmut@example.de"},
        {"identifiers": [["email", "helmut@example.de"]], "classification": {"results": {}}},
    ],
)
def test_prepared_facts_that_cannot_be_read_are_worked_out_again(email_intake, stored):
    entry = queue.enqueue(mail("<m1@x>")).entry
    QueuedMessage.objects.filter(pk=entry.pk).update(prepared=stored)

    assert queue.run_once() == 1

    entry.refresh_from_db()
    assert entry.status == QueuedStatus.INGESTED
    interaction = Interaction.objects.get(external_id="<m1@x>")
    assert interaction.payload["classification"]["language"]["label"] == "de"


def test_ingest_batch_wants_one_prepared_entry_per_message(email_intake):
    with pytest.raises(ValueError, match="one prepared entry per message"):
        ingest_batch([mail("<m1@x>"), mail("<m2@x>")], [None])


def test_a_message_that_cannot_be_ingested_fails_alone_and_keeps_its_reason(email_intake):
    IdentifierFactory(kind="email", value="lisa@example.de")
    foreign = CaseFactory()  # another customer's case: only ingestion can tell
    bad = queue.enqueue(mail("<bad@x>", address="lisa@example.de", case_id=foreign.pk)).entry
    good = queue.enqueue(mail("<good@x>")).entry

    assert queue.run_once() == 2

    bad.refresh_from_db()
    good.refresh_from_db()
    assert good.status == QueuedStatus.INGESTED
    assert bad.status == QueuedStatus.FAILED
    assert bad.error["code"] == "invalid_input"
    assert bad.error["errors"][0]["field"] == "case_id"
    assert bad.message["external_id"] == "<bad@x>"  # kept for whoever acts on it
    failed = Event.objects.get(code="intake.message_failed")
    assert failed.object_id == bad.pk and failed.payload["external_id"] == "<bad@x>"
    assert queue.run_once() == 0  # a permanent failure is not tried again


def test_a_message_ingested_before_it_was_queued_resolves_to_the_first_result(email_intake):
    first = ingest(mail("<m1@x>"))
    entry = queue.enqueue(mail("<m1@x>")).entry

    queue.run_once()

    entry.refresh_from_db()
    assert entry.status == QueuedStatus.INGESTED and entry.is_duplicate
    assert (entry.case_id, entry.interaction_id) == (first.case.pk, first.interaction.pk)
    assert Interaction.objects.count() == 1


def test_messages_are_taken_oldest_first_and_at_most_a_batch_at_a_time(email_intake):
    entries = [queue.enqueue(mail(f"<m{n}@x>", address=f"s{n}@example.de")).entry for n in range(5)]

    assert queue.run_once(limit=2) == 2

    ingested = set(
        QueuedMessage.objects.filter(status=QueuedStatus.INGESTED).values_list("pk", flat=True)
    )
    assert ingested == {entries[0].pk, entries[1].pk}


class Crash(BaseException):
    """Like the process dying: nothing after it runs, not even the error handling."""


def test_a_crash_after_taking_a_batch_loses_nothing_and_doubles_nothing(email_intake, monkeypatch):
    for n in range(3):
        queue.enqueue(mail(f"<m{n}@x>", address=f"s{n}@example.de"))

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(queue, "_mark", crash)
    with pytest.raises(Crash):
        queue.run_once()

    assert list(QueuedMessage.objects.values_list("status", "attempts")) == [("queued", 0)] * 3
    if queue_is_separate():
        # Ingested, not yet marked: leased to the dead worker, then taken again.
        assert Interaction.objects.count() == 3
        monkeypatch.undo()
        assert queue.run_once() == 0
        QueuedMessage.objects.update(next_attempt_at=clock.now())
    else:
        # The taking rolled back with the ingestion: all still queued, nothing ingested.
        assert not Interaction.objects.exists() and not Case.objects.exists()
        assert not Event.objects.exists()
        monkeypatch.undo()
    assert queue.run_once() == 3
    assert Interaction.objects.count() == 3
    assert set(QueuedMessage.objects.values_list("status", flat=True)) == {"ingested"}
    assert verify_chain().is_intact


def test_a_database_error_postpones_the_message_that_causes_it_and_no_other(
    email_intake, monkeypatch
):
    for n in range(3):
        queue.enqueue(mail(f"<m{n}@x>", address=f"s{n}@example.de"))
    original = queue.ingest_batch

    def fail_for_m1(messages: list[InboundMessage], prepared: list) -> list:  # noqa: ANN001
        if any(message.external_id == "<m1@x>" for message in messages):
            raise OperationalError("could not serialize access")
        return original(messages, prepared)

    monkeypatch.setattr(queue, "ingest_batch", fail_for_m1)

    assert queue.run_once() == 3  # the batch fails; one by one, two go through

    statuses = dict(QueuedMessage.objects.values_list("external_id", "status"))
    assert statuses == {"<m0@x>": "ingested", "<m1@x>": "queued", "<m2@x>": "ingested"}
    postponed = QueuedMessage.objects.get(external_id="<m1@x>")
    assert postponed.attempts == 1 and postponed.next_attempt_at > clock.now()
    assert postponed.error["code"] == "retrying"
    assert "serialize" not in postponed.error["detail"]  # database details stay in the log
    assert queue.run_once() == 0  # not due yet

    monkeypatch.undo()
    QueuedMessage.objects.filter(pk=postponed.pk).update(next_attempt_at=clock.now())
    assert queue.run_once() == 1
    postponed.refresh_from_db()
    assert postponed.status == QueuedStatus.INGESTED and postponed.attempts == 2
    assert Interaction.objects.count() == 3


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(
    email_intake, monkeypatch, settings
):
    settings.CASEWORK_INTAKE_MAX_ATTEMPTS = 2
    entry = queue.enqueue(mail("<m1@x>")).entry

    def fail(messages: list[InboundMessage]) -> list:  # noqa: ANN001
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(queue, "ingest_batch", fail)
    queue.run_once()
    QueuedMessage.objects.filter(pk=entry.pk).update(next_attempt_at=clock.now())
    queue.run_once()

    entry.refresh_from_db()
    assert entry.status == QueuedStatus.FAILED and entry.attempts == 2
    assert entry.error["code"] == "processing_failed"
    assert Event.objects.filter(code="intake.message_failed", object_id=entry.pk).exists()


def test_retry_delays_grow_and_are_capped():
    assert [queue.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert queue.retry_delay(30).total_seconds() == 3600


def test_the_worker_runs_the_queue():
    from django.conf import settings

    assert "casework.intake.queue.run_once" in settings.CASEWORK_BACKGROUND_JOBS


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_parallel_workers_ingest_every_message_exactly_once():
    from django.db import connections

    from tests.factories import ChannelDefaultFactory, ResolutionCodeFactory

    ResolutionCodeFactory()
    ChannelDefaultFactory(channel="email")
    for n in range(60):
        queue.enqueue(mail(f"<p{n}@x>", address=f"s{n % 9}@example.de"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while queue.run_once(limit=7):
                pass
        except BaseException as error:  # noqa: BLE001  (asserted on below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert set(QueuedMessage.objects.values_list("status", "attempts")) == {("ingested", 1)}
    assert Interaction.objects.count() == 60
    assert verify_chain().is_intact

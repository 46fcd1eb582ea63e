"""`ingest_batch()`: many messages in one transaction, with the answers `ingest()` gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from casework.cases.models import Case, CaseSequence, Task
from casework.customers.models import Customer, CustomerIdentifier
from casework.events.models import Event
from casework.events.services import verify_chain
from casework.intake import services
from casework.intake.messages import (
    InboundMessage,
    SenderIdentifier,
    message_from_json,
    message_to_json,
)
from casework.intake.services import IntakeResult, ingest, ingest_batch
from casework.interactions.files import StoredFile
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.kernel.errors import DomainError
from tests.factories import CaseFactory, IdentifierFactory

pytestmark = pytest.mark.django_db

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


def next_reference() -> str:
    """The reference the next case opened gets."""
    year = clock.localtime(clock.now()).year
    sequence = CaseSequence.objects.filter(year=year).first()
    return f"CW-{year}-{(sequence.last_number if sequence else 0) + 1:06d}"


def mixed_messages() -> list[InboundMessage]:
    """Every kind of message the pipeline tells apart, in one batch."""
    IdentifierFactory(kind="email", value="lisa@example.de")
    other_customer_case = CaseFactory()
    reference = next_reference()
    return [
        mail("<new@x>"),  # unknown sender: a new customer and case
        mail("<known@x>", address="Lisa@Example.DE"),  # known sender
        mail("<reply@x>", subject=f"AW: {reference} Frage"),  # reply within the batch
        mail("<new@x>"),  # the same message again, within the batch
        mail("<bad-channel@x>", channel="pigeon"),
        mail("<bad-phone@x>", sender=(SenderIdentifier("phone", "12"),)),
        mail("<no-customer@x>", customer_id=987654),
        # Writes a new customer first, then finds the case is someone else's: all undone.
        mail("<foreign@x>", address="stranger@example.de", case_id=other_customer_case.pk),
        mail("<known-2@x>", address="lisa@example.de", subject="Noch etwas"),
        mail("<known@x>", address="Lisa@Example.DE"),  # again, after other messages
    ]


def describe(outcomes: list[IntakeResult | DomainError]) -> list[tuple[Any, ...]]:
    described = []
    for outcome in outcomes:
        if isinstance(outcome, DomainError):
            described.append(("error", outcome.code, outcome.details.get("field")))
        else:
            described.append(
                (
                    outcome.case.reference,
                    outcome.interaction.external_id,
                    outcome.is_new_case,
                    outcome.is_duplicate,
                    outcome.customer_match,
                )
            )
    return described


def database_state() -> dict[str, Any]:
    return {
        "customers": sorted(Customer.objects.values_list("customer_number", flat=True)),
        "identifiers": sorted(CustomerIdentifier.objects.values_list("kind", "value")),
        "cases": sorted(Case.objects.values_list("reference", "customer__customer_number")),
        "tasks": sorted(Task.objects.values_list("case__reference", "status")),
        "interactions": sorted(
            Interaction.objects.values_list("external_id", "case__reference", "payload")
        ),
        "events": list(Event.objects.order_by("seq").values_list("code", "object_type")),
    }


def histories() -> dict[tuple[str, str], list[str]]:
    """Each object's events in the order they were recorded, by the object's natural key
    (PostgreSQL does not give ids back when a transaction rolls back)."""
    names = {
        "case": dict(Case.objects.values_list("pk", "reference")),
        "task": dict(Task.objects.values_list("pk", "case__reference")),
        "interaction": dict(Interaction.objects.values_list("pk", "external_id")),
        "customer": dict(Customer.objects.values_list("pk", "customer_number")),
    }
    found: dict[tuple[str, str], list[str]] = {}
    for object_type, object_id, code in Event.objects.order_by("seq").values_list(
        "object_type", "object_id", "code"
    ):
        # Objects made before the comparison (case types, say) keep their ids anyway.
        name = names.get(object_type, {}).get(object_id, str(object_id))
        found.setdefault((object_type, name), []).append(code)
    return found


def assert_same_data(expected_state: dict[str, Any], expected_histories: dict) -> None:
    """The database holds what one `ingest()` after another wrote. A batch writes the new
    cases of several messages with one statement per table, so the events of one message
    need not be next to each other in the chain; each object's history is the same."""
    state = database_state()
    assert sorted(state.pop("events")) == sorted(expected_state["events"])
    assert state == {k: v for k, v in expected_state.items() if k != "events"}
    assert histories() == expected_histories
    assert verify_chain().is_intact


class _RollBack(Exception):
    pass


def one_after_another(messages: list[InboundMessage]) -> tuple[list[Any], tuple[Any, Any]]:
    """What `ingest()` answers and writes for each message in turn (the data and each
    object's history), then rolled back so that the batch starts from the same state."""
    answers: list[IntakeResult | DomainError] = []
    try:
        with transaction.atomic():
            for message in messages:
                try:
                    answers.append(ingest(message))
                except DomainError as error:
                    answers.append(error)
            expected = database_state(), histories()
            raise _RollBack
    except _RollBack:
        pass
    return answers, expected


INVALID = {"<bad-channel@x>", "<bad-phone@x>"}  # refused before anything is written
FAILING = {"<no-customer@x>", "<foreign@x>"}  # fail while being ingested


@pytest.mark.parametrize(
    "leave_out",
    [
        pytest.param(set(), id="every-kind"),
        pytest.param(INVALID, id="failing-only-while-ingesting"),
        pytest.param(INVALID | FAILING, id="all-go-through"),
    ],
)
def test_a_batch_gives_the_answers_and_the_data_of_one_ingest_after_another(
    email_intake, leave_out
):
    earlier = ingest(mail("<earlier@x>", address="earlier@example.de"))
    messages = [m for m in mixed_messages() if m.external_id not in leave_out]
    messages.insert(2, mail("<earlier@x>", address="earlier@example.de"))  # a repeat
    one_by_one, expected = one_after_another(messages)
    assert list(Interaction.objects.values_list("pk", flat=True)) == [earlier.interaction.pk]

    batched = ingest_batch(messages)

    assert describe(batched) == describe(one_by_one)
    assert_same_data(*expected)
    reply = next(
        r
        for r in batched
        if isinstance(r, IntakeResult) and r.interaction.external_id == "<reply@x>"
    )
    assert not reply.is_new_case  # it continued the case opened earlier in the batch


def test_when_all_go_through_the_batch_needs_no_savepoint_per_message(email_intake):
    messages = [mail(f"<m{n}@x>", address=f"sender{n % 2}@example.de") for n in range(6)]

    with CaptureQueriesContext(connection) as queries:
        ingest_batch(messages)

    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    # The batch's own and one for the run through all of them; two new customers each
    # take theirs (customer services), the messages none.
    assert len(savepoints) <= 2 + 2 * 3


def test_the_mixed_batch_has_the_expected_outcomes(email_intake):
    reference = next_reference()

    outcomes = describe(ingest_batch(mixed_messages()))

    assert outcomes[0] == (reference, "<new@x>", True, False, "created")
    assert outcomes[1][2:] == (True, False, "matched")
    assert outcomes[2] == (reference, "<reply@x>", False, False, "matched")
    assert outcomes[3] == (reference, "<new@x>", False, True, "created")
    assert outcomes[4] == ("error", "invalid_input", "channel")
    assert outcomes[5] == ("error", "invalid_identifier", "sender.0")
    assert outcomes[6] == ("error", "not_found", "customer_id")
    assert outcomes[7] == ("error", "invalid_input", "case_id")
    assert outcomes[8][2:] == (True, False, "matched")
    assert outcomes[9] == (outcomes[1][0], "<known@x>", False, True, "matched")
    # The failed message's new customer went with its savepoint.
    assert not CustomerIdentifier.objects.filter(value="stranger@example.de").exists()


def test_a_batch_commits_once_and_appends_to_the_event_chain_once(email_intake):
    messages = [mail(f"<m{n}@x>", address=f"sender{n}@example.de") for n in range(5)]

    with CaptureQueriesContext(connection) as queries:
        results = ingest_batch(messages)

    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert len(results) == 5 and all(isinstance(r, IntakeResult) for r in results)
    # On PostgreSQL the events and the head move in one statement (`WITH … INSERT … UPDATE`).
    assert sum("UPDATE EVENTS_CHAINHEAD" in s for s in statements) == 1
    assert sum('INSERT INTO "EVENTS_EVENT"' in s for s in statements) == 1
    assert Event.objects.count() == 5 * 4  # customer, case, task, interaction per message
    assert verify_chain().is_intact


def test_a_duplicate_of_an_earlier_ingest_returns_that_first_result(email_intake):
    first = ingest(mail("<m1@x>"))

    again, other = ingest_batch([mail("<m1@x>"), mail("<m2@x>")])

    assert isinstance(again, IntakeResult) and isinstance(other, IntakeResult)
    assert again.is_duplicate and not again.is_new_case
    assert again.case.pk == first.case.pk and again.interaction.pk == first.interaction.pk
    assert Interaction.objects.filter(external_id="<m1@x>").count() == 1


def test_a_message_that_failed_earlier_in_the_batch_is_tried_again_when_repeated(email_intake):
    failing, fixed = ingest_batch([mail("<m1@x>", customer_id=987654), mail("<m1@x>")])

    assert isinstance(failing, DomainError)
    assert isinstance(fixed, IntakeResult) and fixed.is_new_case and not fixed.is_duplicate


def test_a_database_error_rolls_the_whole_batch_back(email_intake, monkeypatch):
    original = services.classify_message
    calls = []

    def fail_on_second(text: str):  # noqa: ANN202
        calls.append(text)
        if len(calls) == 2:
            raise OperationalError("disk I/O error")
        return original(text)

    monkeypatch.setattr(services, "classify_message", fail_on_second)

    with pytest.raises(OperationalError):
        ingest_batch([mail("<m1@x>"), mail("<m2@x>"), mail("<m3@x>")])

    assert not Interaction.objects.exists() and not Case.objects.exists()
    assert not Event.objects.exists()


def test_an_empty_batch_writes_nothing(email_intake):
    assert ingest_batch([]) == []
    assert not Event.objects.exists()


def test_case_types_and_queues_named_by_a_message_are_looked_up_once(email_intake):
    queue = email_intake.case_type.default_queue
    messages = [
        mail(f"<m{n}@x>", case_type=email_intake.case_type.code, queue=queue.code) for n in range(3)
    ]
    ingest_batch(messages[:1])

    with CaptureQueriesContext(connection) as queries:
        ingest_batch(messages[1:])

    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and ("cases_casetype" in q["sql"] or "routing_queue" in q["sql"])
    ]
    assert lookups == []


def test_a_message_survives_its_json_form_unchanged():
    message = InboundMessage(
        channel="email",
        external_id="<m1@x>",
        received_at=RECEIVED,
        sender=(SenderIdentifier("email", "a@example.de"), SenderIdentifier("phone", "0301234")),
        sender_name="A",
        subject="S",
        text="T",
        payload={"to": "service@example.de", "nested": {"list": [1, 2]}},
        customer_id=4,
        case_id=5,
        case_type="complaint",
        queue="billing",
        attachments=(StoredFile("a.pdf", "application/pdf", 12, "ab" * 32, True),),
        unknown_sender_queue="triage",
    )

    assert message_from_json(message_to_json(message)) == message


def test_new_cases_are_written_together_with_the_outcome_of_one_ingest_after_another(
    email_intake,
):
    known = [IdentifierFactory(kind="email", value=f"known{n}@example.de") for n in range(4)]
    stored = CaseFactory(customer=known[0].customer)
    messages = [mail(f"<k{n}@x>", address=f"known{n % 4}@example.de") for n in range(8)]
    messages.insert(3, mail("<stranger@x>", address="stranger@example.de"))  # a new customer
    messages.insert(6, mail("<stranger-2@x>", address="stranger@example.de"))  # now known
    reply = mail("<reply@x>", address="known0@example.de", subject=f"AW: [{stored.reference}]")
    messages.insert(8, reply)
    messages.append(mail("<k1@x>", address="known1@example.de"))  # a repeat, after the rest
    one_by_one, expected = one_after_another(messages)

    with CaptureQueriesContext(connection) as queries:
        batched = ingest_batch(messages)

    assert describe(batched) == describe(one_by_one)
    assert_same_data(*expected)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    # The five new cases up to the stranger's second message (which must find the customer
    # created with the first) in one go, that one alone, the five after it in one go; the
    # reply to the stored case in between at once (its task and interaction).
    counts = {
        table: sum(f'"{table}" (' in statement for statement in inserts)
        for table in ("customers_customer", "cases_case", "cases_task", "interactions_interaction")
    }
    assert counts == {
        "customers_customer": 1,
        "cases_case": 3,
        "cases_task": 4,
        "interactions_interaction": 4,
    }


def test_a_case_whose_process_starts_is_opened_alone_and_in_order(email_intake, engine):
    IdentifierFactory(kind="email", value="member@example.de")
    process_type = "collecting-society-request"
    messages = [
        mail("<a@x>", address="member@example.de"),
        mail("<b@x>", address="member@example.de", case_type=process_type),
        mail("<c@x>", address="newcomer@example.de", case_type=process_type),
        mail("<d@x>", address="member@example.de"),
    ]
    one_by_one, expected = one_after_another(messages)

    batched = ingest_batch(messages)

    assert describe(batched) == describe(one_by_one)
    assert_same_data(*expected)
    assert [r.case.process_key for r in batched] == ["", process_type, process_type, ""]

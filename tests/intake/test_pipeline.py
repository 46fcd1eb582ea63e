from __future__ import annotations

import datetime as dt

import pytest

from casework.cases.models import Case, Task
from casework.customers.identifiers import InvalidIdentifier
from casework.customers.models import Customer
from casework.events.models import Event
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import ingest
from casework.interactions.models import Interaction
from casework.kernel.errors import InvalidInput
from tests.factories import CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db

RECEIVED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def mail(external_id: str = "<m1@example.de>", address: str = "helmut@example.de", **kwargs):
    defaults = dict(
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


def test_unknown_sender_becomes_a_customer_with_a_new_case_and_task(email_intake):
    result = ingest(mail())

    assert result.is_new_case and not result.is_duplicate
    assert result.customer_match == "created"
    customer = result.case.customer
    assert (customer.first_name, customer.last_name) == ("Helmut", "Berger")
    assert customer.identifiers.filter(kind="email", value="helmut@example.de").exists()
    assert customer.is_provisional
    assert result.case.reference.startswith("CW-2026-")
    assert Task.objects.filter(case=result.case, queue=result.case.queue).count() == 1
    codes = list(Event.objects.order_by("seq").values_list("code", flat=True))
    assert codes == ["customer.created", "case.opened", "task.created", "interaction.recorded"]


def test_known_sender_is_matched_case_insensitively(email_intake):
    identifier = IdentifierFactory(kind="email", value="lisa@example.de")

    result = ingest(mail(address="Lisa@Example.DE"))

    assert result.customer_match == "matched"
    assert result.case.customer_id == identifier.customer_id


def test_same_external_id_twice_returns_the_first_result_and_adds_nothing(email_intake):
    first = ingest(mail())
    counts = (Case.objects.count(), Interaction.objects.count(), Event.objects.count())

    second = ingest(mail())

    assert second.is_duplicate and not second.is_new_case
    assert second.case.pk == first.case.pk
    assert (Case.objects.count(), Interaction.objects.count(), Event.objects.count()) == counts


def test_reference_in_subject_continues_the_open_case(email_intake):
    first = ingest(mail())

    reply = ingest(mail("<m2@example.de>", subject=f"AW: {first.case.reference} Frage"))

    assert not reply.is_new_case
    assert reply.case.pk == first.case.pk
    assert Interaction.objects.filter(case=first.case).count() == 2
    assert Task.objects.filter(case=first.case).count() == 1


def test_reference_quoted_by_another_customer_opens_a_new_case(email_intake):
    first = ingest(mail())

    other = ingest(
        mail("<m3@example.de>", address="someone@else.de", subject=f"Re: {first.case.reference}")
    )

    assert other.is_new_case
    assert other.case.customer_id != first.case.customer_id


def test_identifiers_of_two_customers_are_reported_not_guessed(email_intake):
    IdentifierFactory(kind="email", value="a@example.de")
    IdentifierFactory(kind="phone", value="+491711234567")

    result = ingest(
        mail(
            sender=(
                SenderIdentifier("email", "a@example.de"),
                SenderIdentifier("phone", "0171 1234567"),
            )
        )
    )

    assert result.customer_match == "ambiguous"
    assert result.case.customer is None
    assert len(result.interaction.payload["candidate_customer_ids"]) == 2


def test_explicit_customer_id_is_used(email_intake):
    customer = CustomerFactory()

    result = ingest(mail(customer_id=customer.pk, sender=()))

    assert result.customer_match == "given"
    assert result.case.customer_id == customer.pk


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"channel": "pigeon"}, InvalidInput, "channel"),
        ({"external_id": "  "}, InvalidInput, "external_id"),
        ({"sender": (SenderIdentifier("phone", "12"),)}, InvalidIdentifier, "sender.0"),
        ({"sender": (SenderIdentifier("email", "not-an-address"),)}, InvalidIdentifier, "sender.0"),
        ({"received_at": dt.datetime(2026, 1, 1)}, InvalidInput, "received_at"),
    ],
)
def test_bad_messages_are_refused_precisely_and_write_nothing(email_intake, changes, error, field):
    with pytest.raises(error) as raised:
        ingest(mail(**changes))

    assert raised.value.details["field"] == field
    assert (Case.objects.count(), Customer.objects.count(), Event.objects.count()) == (0, 0, 0)


def test_a_crash_mid_way_leaves_nothing_half_written(email_intake, monkeypatch):
    import casework.intake.services as pipeline

    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(pipeline, "record_interaction", explode)
    with pytest.raises(RuntimeError):
        ingest(mail())

    assert (Case.objects.count(), Customer.objects.count(), Event.objects.count()) == (0, 0, 0)
    monkeypatch.undo()
    assert ingest(mail()).is_new_case


def test_attachments_and_the_channels_queue_arrive_with_the_message(
    email_intake, settings, tmp_path
):
    from casework.interactions.files import StoredFile, read_bytes, store_bytes
    from tests.factories import QueueFactory

    settings.MEDIA_ROOT = tmp_path
    licensing = QueueFactory(code="licensing")
    digest = store_bytes(b"%PDF-1.4 Abrechnung")
    files = (
        StoredFile("Abrechnung Q3.pdf", "application/pdf", 19, digest),
        StoredFile("video.mp4", "video/mp4", 80_000_000, "0" * 64, is_stored=False),
    )

    result = ingest(mail(attachments=files, queue="licensing"))

    assert result.case.queue == licensing
    stored = list(
        result.interaction.attachments.order_by("pk").values_list(
            "filename", "size_bytes", "is_stored"
        )
    )
    assert stored == [("Abrechnung Q3.pdf", 19, True), ("video.mp4", 80_000_000, False)]
    assert read_bytes(digest) == b"%PDF-1.4 Abrechnung"
    assert store_bytes(b"%PDF-1.4 Abrechnung") == digest  # stored once

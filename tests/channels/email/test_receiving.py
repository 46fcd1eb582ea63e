"""Receiving rules of the e-mail channel: continuing a case by subject, mail without a
Message-ID delivered twice, unknown senders, and many mails in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from casework.cases.models import Case, CaseStatus
from casework.channels.email import services
from casework.channels.email.models import RawEmail, RawEmailStatus
from casework.channels.email.services import (
    content_hash,
    prepare_email,
    receive_batch,
    receive_email,
)
from casework.channels.email.threads import normalise_subject
from casework.interactions.models import Interaction
from casework.kernel import clock
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db

MAILBOX = "service@demo.casework.test"


def raw_mail(
    subject: str = "Abrechnung Q3",
    *,
    message_id: str | None = None,
    sender: str = "jana.wolff@example.net",
    body: str = "Bitte prüfen Sie meine Abrechnung.",
    trace: str = "",
) -> bytes:
    lines = [
        *([f"Received: from relay.example.net by mx; {trace}"] if trace else []),
        f"From: Jana Wolff <{sender}>",
        f"To: {MAILBOX}",
        f"Subject: {subject}",
        "Date: Wed, 25 Nov 2026 10:00:00 +0100",
        *([f"Message-ID: <{message_id}>"] if message_id is not None else []),
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def receive(raw: bytes, sender: str = "jana.wolff@example.net") -> services.ReceivedEmail:
    return receive_email(raw, envelope_from=sender, recipients=[MAILBOX])


# -- continuing a case by subject ----------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Abrechnung Q3", "abrechnung q3"),
        ("AW: Re:  Abrechnung   Q3", "abrechnung q3"),
        ("WG: [extern] Fwd: Abrechnung Q3", "abrechnung q3"),
        ("RE[2]: aw(3): Abrechnung Q3", "abrechnung q3"),
        ("[CW-2026-000001] Re: Abrechnung Q3", "abrechnung q3"),
        ("Re:", ""),
        ("Antwort auf Ihre Frage", "antwort auf ihre frage"),
    ],
)
def test_subjects_are_compared_without_reply_markers_tags_and_case(subject, expected):
    assert normalise_subject(subject) == expected


def test_the_same_subject_from_the_same_customer_continues_the_open_case(mailbox):
    first = receive(raw_mail("Abrechnung Q3", message_id="a-1@example.net"))
    second = receive(raw_mail("AW: [extern] abrechnung  q3", message_id="a-2@example.net"))

    assert second.case_reference == first.case_reference
    assert Case.objects.count() == 1
    assert Interaction.objects.filter(direction="inbound").count() == 2


def test_another_subject_or_another_sender_opens_a_new_case(mailbox):
    first = receive(raw_mail("Abrechnung Q3", message_id="b-1@example.net"))
    other_subject = receive(raw_mail("Adresse geändert", message_id="b-2@example.net"))
    other_sender = receive(
        raw_mail("Abrechnung Q3", message_id="b-3@example.net", sender="max@example.org"),
        sender="max@example.org",
    )

    references = {first.case_reference, other_subject.case_reference, other_sender.case_reference}
    assert len(references) == 3


def test_a_resolved_or_quiet_case_is_not_continued_by_subject(mailbox):
    first = receive(raw_mail("Abrechnung Q3", message_id="c-1@example.net"))
    case = Case.objects.get(reference=first.case_reference)
    Case.objects.filter(pk=case.pk).update(last_activity_at=clock.now() - timedelta(days=8))

    after_a_week = receive(raw_mail("Re: Abrechnung Q3", message_id="c-2@example.net"))
    Case.objects.filter(reference=after_a_week.case_reference).update(status=CaseStatus.RESOLVED)
    after_resolving = receive(raw_mail("Re: Abrechnung Q3", message_id="c-3@example.net"))

    assert len({first.case_reference, after_a_week.case_reference}) == 2
    assert after_resolving.case_reference not in (first.case_reference, after_a_week.case_reference)


def test_subject_threading_can_be_switched_off_per_mailbox(mailbox):
    mailbox.thread_by_subject_days = 0
    mailbox.save()

    first = receive(raw_mail("Abrechnung Q3", message_id="d-1@example.net"))
    second = receive(raw_mail("Re: Abrechnung Q3", message_id="d-2@example.net"))

    assert first.case_reference != second.case_reference


def test_a_case_reference_in_the_subject_wins_over_the_subject(mailbox):
    by_subject = receive(raw_mail("Abrechnung Q3", message_id="e-1@example.net"))
    other = receive(raw_mail("Adresse", message_id="e-2@example.net"))

    quoted = receive(
        raw_mail(f"Re: [{other.case_reference}] Abrechnung Q3", message_id="e-3@example.net")
    )

    assert quoted.case_reference == other.case_reference != by_subject.case_reference


# -- mail without a Message-ID delivered twice ---------------------------------------------


def test_mail_without_message_id_delivered_twice_is_ingested_once(mailbox):
    first = receive(raw_mail(trace="Wed, 25 Nov 2026 10:00:01 +0100"))
    # The second delivery went through another relay: other trace headers, same mail.
    second = receive(raw_mail(trace="Wed, 25 Nov 2026 10:05:42 +0100"))

    assert second.status == RawEmailStatus.DUPLICATE
    assert second.case_reference == first.case_reference
    assert Case.objects.count() == 1
    assert Interaction.objects.filter(direction="inbound").count() == 1
    rows = RawEmail.objects.order_by("pk")
    assert [row.status for row in rows] == [RawEmailStatus.INGESTED, RawEmailStatus.DUPLICATE]
    assert rows[1].interaction_id == rows[0].interaction_id
    assert bytes(rows[1].content)  # other bytes than the first: kept as they arrived


def test_a_synthetic_message_id_is_no_identity(mailbox):
    first = receive(raw_mail(message_id="1234567", trace="one"))
    second = receive(raw_mail(message_id="7654321", trace="two"))

    assert second.status == RawEmailStatus.DUPLICATE
    assert second.case_reference == first.case_reference


def test_the_same_content_after_the_window_is_a_new_message(mailbox, settings):
    settings.CASEWORK_EMAIL_DUPLICATE_WINDOW_HOURS = 24
    receive(raw_mail())
    RawEmail.objects.update(received_at=clock.now() - timedelta(hours=25))

    again = receive(raw_mail())

    assert again.status == RawEmailStatus.INGESTED
    assert Interaction.objects.filter(direction="inbound").count() == 2


def test_other_content_without_message_id_is_another_message(mailbox):
    receive(raw_mail(body="Erste Frage"))
    second = receive(raw_mail(body="Zweite Frage"))

    assert second.status == RawEmailStatus.INGESTED
    assert Interaction.objects.filter(direction="inbound").count() == 2


def test_the_content_hash_ignores_trace_headers_and_line_endings():
    one = raw_mail(trace="a")
    two = raw_mail(trace="b").replace(b"\r\n", b"\n")

    assert content_hash(one) == content_hash(two)
    assert content_hash(one) != content_hash(raw_mail(body="anders", trace="a"))


# -- unknown senders -------------------------------------------------------------------------


def test_with_an_identify_queue_an_unknown_sender_gets_no_provisional_customer(mailbox):
    mailbox.identify_queue = QueueFactory(code="identify")
    mailbox.save()

    received = receive(raw_mail(message_id="f-1@example.net"))

    case = Case.objects.get(reference=received.case_reference)
    assert case.customer_id is None
    assert case.queue.code == "identify"


def test_without_an_identify_queue_an_unknown_sender_becomes_a_customer(mailbox):
    received = receive(raw_mail(message_id="g-1@example.net"))

    case = Case.objects.get(reference=received.case_reference)
    assert case.customer.identifiers.filter(value="jana.wolff@example.net").exists()


# -- many mails in one transaction -----------------------------------------------------------


def prepared(mailbox, count: int) -> list[services.PreparedEmail]:  # noqa: ANN001
    return [
        prepare_email(
            raw_mail(f"Frage {n}", message_id=f"batch-{n}@example.net"),
            envelope_from="jana.wolff@example.net",
            mailbox=mailbox,
        )
        for n in range(count)
    ]


def test_a_batch_stores_every_mail_with_its_own_case(mailbox):
    results = receive_batch(prepared(mailbox, 5))

    assert all(r.status == RawEmailStatus.INGESTED for r in results)  # type: ignore[union-attr]
    assert Case.objects.count() == 5 and RawEmail.objects.count() == 5


def test_a_mail_the_database_refuses_leaves_nothing_and_spares_the_others(mailbox, monkeypatch):
    real_ingest = services.ingest

    def ingest_then_fail(message):  # noqa: ANN001, ANN202
        result = real_ingest(message)  # the case is written …
        if message.subject == "Frage 2":
            raise DatabaseError("disk I/O error")  # … and then the database gives up
        return result

    real_batch = services.ingest_batch

    def batch_then_fail(messages):  # noqa: ANN001, ANN202
        results = real_batch(messages)
        if any(message.subject == "Frage 2" for message in messages):
            raise DatabaseError("disk I/O error")
        return results

    monkeypatch.setattr(services, "ingest", ingest_then_fail)
    monkeypatch.setattr(services, "ingest_batch", batch_then_fail)

    results = receive_batch(prepared(mailbox, 4))

    assert isinstance(results[2], DatabaseError)
    assert [isinstance(r, services.ReceivedEmail) for r in results] == [True, True, False, True]
    assert sorted(Case.objects.values_list("subject", flat=True)) == [
        "Frage 0",
        "Frage 1",
        "Frage 3",
    ]
    assert RawEmail.objects.count() == 3


def test_a_batch_threads_a_senders_second_mail_as_one_mail_after_another_would(mailbox):
    mailbox.thread_by_subject_days = 14
    mailbox.save()

    def mail(n: int, sender: str, subject: str) -> services.PreparedEmail:
        raw = raw_mail(subject, message_id=f"run-{n}@example.net", sender=sender)
        return prepare_email(raw, envelope_from=sender, mailbox=mailbox)

    batch = [
        mail(0, "jana.wolff@example.net", "Frage zum Vertrag"),
        mail(1, "kai.berg@example.net", "Rechnung"),
        mail(2, "jana.wolff@example.net", "Re: Frage zum Vertrag"),  # the same matter
        mail(3, "lea.roth@example.net", "Kündigung"),
    ]

    with CaptureQueriesContext(connection) as queries:
        results = receive_batch(batch)

    references = [r.case_reference for r in results]  # type: ignore[union-attr]
    assert references[2] == references[0]
    assert len(set(references)) == 3 and Case.objects.count() == 3
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    # Jana's first mail and Kai's together; her second (her case, found by its subject)
    # starts the next run, with Lea's.
    assert sum('"cases_case" (' in statement for statement in inserts) == 2


def test_the_same_message_twice_in_one_batch_is_one_case(mailbox):
    batch = prepared(mailbox, 1) * 2

    results = receive_batch(batch)

    assert [r.status for r in results] == [  # type: ignore[union-attr]
        RawEmailStatus.INGESTED,
        RawEmailStatus.DUPLICATE,
    ]
    assert Case.objects.count() == 1

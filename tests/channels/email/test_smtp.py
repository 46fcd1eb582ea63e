"""A real SMTP conversation with the inbound server on loopback."""

from __future__ import annotations

import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage

import pytest
from django.db import OperationalError, connection

from casework.cases.models import Case
from casework.channels.email import smtp as smtp_module
from casework.channels.email.models import RawEmail, RawEmailStatus
from casework.channels.email.smtp import build_controller
from casework.interactions.models import Interaction
from tests.channels.email.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_port(mailbox, settings):  # noqa: ANN001, ANN201
    settings.CASEWORK_MAX_EMAIL_BYTES = 200_000
    port = free_port()
    controller = build_controller("127.0.0.1", port)
    controller.start()
    yield port
    controller.stop()


def member_mail(message_id: str = "<m-1@example.net>", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Dr. Jana Wolff <jana.wolff@example.net>"
    mail["To"] = "service@demo.casework.test"
    mail["Subject"] = "Abrechnung Q3: Aufführungen fehlen"
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name] = value
    mail.set_content("Guten Tag,\n\nin meiner Abrechnung fehlen drei Aufführungen.\n\nJana Wolff")
    return mail


def send(port: int, mail: EmailMessage, to: str = "service@demo.casework.test") -> tuple:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail("jana.wolff@example.net")
        client.rcpt(to)
        code, reply = client.data(mail.as_bytes(policy=policy.SMTP))  # CRLF, as on the wire
    if code != 250:  # smtplib returns the final answer to DATA instead of raising
        raise smtplib.SMTPDataError(code, reply)
    return code, reply


def test_a_mail_becomes_a_case_and_250_names_it(smtp_port):
    code, reply = send(smtp_port, member_mail())

    case = Case.objects.get()
    assert code == 250
    assert case.reference in reply.decode()
    assert case.queue.code == "cs-service" and case.case_type.code == "cs-support"
    assert case.customer.identifiers.filter(value="jana.wolff@example.net").exists()
    interaction = Interaction.objects.get(case=case, direction="inbound")
    assert "drei Aufführungen" in interaction.text
    raw = RawEmail.objects.get()
    assert raw.status == RawEmailStatus.INGESTED and raw.interaction == interaction
    assert b"Abrechnung" in bytes(raw.content)


def test_mail_for_an_unknown_address_is_refused_at_rcpt(smtp_port):
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("jana.wolff@example.net")
        code, reply = client.rcpt("nobody@demo.casework.test")

    assert code == 550
    assert b"no such mailbox" in reply
    assert RawEmail.objects.count() == 0


def test_an_oversized_mail_is_refused_with_552(smtp_port):
    mail = member_mail()
    mail.add_attachment(
        ("Zeile mit Text\n" * 20_000).encode(),
        maintype="text",
        subtype="plain",
        filename="big.txt",
    )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(smtp_port, mail)

    assert refused.value.smtp_code == 552
    assert RawEmail.objects.count() == 0 and Case.objects.count() == 0


def test_the_same_message_id_twice_gives_one_case(smtp_port):
    send(smtp_port, member_mail())
    code, reply = send(smtp_port, member_mail())

    assert code == 250
    assert Case.objects.count() == 1
    assert Interaction.objects.filter(direction="inbound").count() == 1
    statuses = sorted(RawEmail.objects.values_list("status", flat=True))
    assert statuses == [RawEmailStatus.DUPLICATE, RawEmailStatus.INGESTED]


def test_a_database_failure_before_commit_asks_the_sender_to_retry(smtp_port):
    table = RawEmail._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            send(smtp_port, member_mail())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")

    assert deferred.value.smtp_code == 451
    assert Case.objects.count() == 0  # nothing half-written
    code, _ = send(smtp_port, member_mail())  # the sender's retry
    assert code == 250 and Case.objects.count() == 1


def test_a_mail_that_cannot_be_processed_is_quarantined_not_lost(smtp_port, mailbox):
    mailbox.case_type.is_active = False  # the department closed its case type
    mailbox.case_type.save()

    code, _ = send(smtp_port, member_mail())

    assert code == 250
    raw = RawEmail.objects.get()
    assert raw.status == RawEmailStatus.QUARANTINED
    assert "cs-support" in raw.reason
    assert Case.objects.count() == 0


def test_concurrent_sessions_are_stored_together_and_each_answered(smtp_port):
    def deliver(n: int) -> int:
        return send(smtp_port, member_mail(f"<c-{n}@example.net>"))[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(deliver, range(8)))

    assert codes == [250] * 8
    assert Interaction.objects.filter(direction="inbound").count() == 8
    assert Case.objects.count() == 1  # same customer, same subject: one matter


def test_a_failed_commit_asks_every_sender_of_the_batch_to_retry(smtp_port, monkeypatch):
    def commit_fails(batch):  # noqa: ANN001, ANN202
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(smtp_module, "receive_batch", commit_fails)

    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(smtp_port, member_mail())

    assert deferred.value.smtp_code == 451
    assert RawEmail.objects.count() == 0


def test_a_session_that_went_away_does_not_stop_the_database_thread(mailbox):
    database = smtp_module.DatabaseThread()
    busy = threading.Event()
    blocked = database.call(busy.wait)  # keeps the thread busy while the next job queues
    abandoned = database.call(lambda: "never run")
    abandoned.cancel()  # what asyncio does when the client disconnects

    busy.set()
    answer = database.call(lambda: "still serving").result(timeout=10)
    database.close()

    assert blocked.result() is True and abandoned.cancelled()
    assert answer == "still serving"

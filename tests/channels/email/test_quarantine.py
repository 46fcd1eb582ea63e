"""Quarantined mail is listed with its reason and processed again after a fix."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from casework.channels.email.models import RawEmail, RawEmailStatus
from casework.channels.email.quarantine import NotQuarantined, reprocess
from casework.channels.email.services import receive_email
from casework.events.models import Event
from casework.kernel.actors import Actor

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("admin")


def member_mail(message_id: str = "<q-1@example.net>") -> bytes:
    return (
        "From: Jana Wolff <jana.wolff@example.net>\r\nTo: service@demo.casework.test\r\n"
        f"Subject: =?utf-8?q?Abrechnung_f=C3=BCr_Q3?=\r\nMessage-ID: {message_id}\r\n"
        "\r\nBitte prüfen.\r\n"
    ).encode()


def quarantine_one(mailbox) -> RawEmail:  # noqa: ANN001
    mailbox.case_type.is_active = False  # the department closed its case type
    mailbox.case_type.save()
    received = receive_email(member_mail(), envelope_from="", mailbox=mailbox)
    assert received.status == RawEmailStatus.QUARANTINED
    return RawEmail.objects.get(pk=received.raw_email_id)


def test_after_the_fix_the_mail_becomes_a_case_and_the_quarantined_row_points_to_it(mailbox):
    quarantined = quarantine_one(mailbox)
    mailbox.case_type.is_active = True
    mailbox.case_type.save()

    result = reprocess(quarantined.pk, actor=ADMIN)

    assert result.status == RawEmailStatus.INGESTED and result.case_reference
    quarantined.refresh_from_db()
    assert quarantined.status == RawEmailStatus.REPROCESSED
    assert quarantined.reprocessed_as_id == result.raw_email_id
    assert bytes(quarantined.content) == member_mail()  # the original stays as it arrived
    assert Case.objects.get().reference == result.case_reference
    assert Event.objects.filter(code="email.reprocessed", object_id=quarantined.pk).exists()
    with pytest.raises(NotQuarantined):
        reprocess(quarantined.pk, actor=ADMIN)
    assert Case.objects.count() == 1


def test_a_mail_that_fails_again_stays_quarantined_with_the_new_reason_and_nothing_else(mailbox):
    quarantined = quarantine_one(mailbox)

    result = reprocess(quarantined.pk, actor=ADMIN)

    assert result.status == RawEmailStatus.QUARANTINED
    quarantined.refresh_from_db()
    assert quarantined.status == RawEmailStatus.QUARANTINED
    assert "cs-support" in quarantined.reason and "tried again" in quarantined.reason
    assert RawEmail.objects.count() == 1 and Case.objects.count() == 0


def test_the_admin_lists_quarantine_shows_headers_and_reprocesses(mailbox, client: Client):
    quarantined = quarantine_one(mailbox)
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-12345678")
    client.force_login(admin)

    listing = client.get(
        reverse("admin:email_channel_rawemail_changelist"), {"status": "quarantined"}
    )
    assert "cs-support" in listing.content.decode()
    detail = client.get(reverse("admin:email_channel_rawemail_change", args=[quarantined.pk]))
    assert "Abrechnung für Q3" in detail.content.decode()
    original = client.get(reverse("admin:email_channel_rawemail_original", args=[quarantined.pk]))
    assert original.content == member_mail()

    mailbox.case_type.is_active = True
    mailbox.case_type.save()
    response = client.post(
        reverse("admin:email_channel_rawemail_changelist"),
        {"action": "reprocess_selected", "_selected_action": [quarantined.pk]},
        follow=True,
    )

    assert response.status_code == 200
    quarantined.refresh_from_db()
    assert quarantined.status == RawEmailStatus.REPROCESSED
    assert Case.objects.count() == 1

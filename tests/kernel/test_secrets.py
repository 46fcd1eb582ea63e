"""Secrets in the database are encrypted, read back in plain text, and a wrong key says so."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from casework.channels.email.models import Mailbox
from casework.kernel.secrets import UnreadableSecret, decrypt, encrypt
from tests.factories import CaseTypeFactory

pytestmark = pytest.mark.django_db


def stored_password(mailbox: Mailbox) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT imap_password FROM {Mailbox._meta.db_table} WHERE id = %s", [mailbox.pk]
        )
        return cursor.fetchone()[0]


def make_mailbox(password: str) -> Mailbox:
    return Mailbox.objects.create(
        address="extern@example.org",
        display_name="Extern",
        case_type=CaseTypeFactory(),
        imap_host="127.0.0.1",
        imap_user="extern",
        imap_password=password,
    )


def test_an_imap_password_is_stored_encrypted_and_read_in_plain_text():
    mailbox = make_mailbox("geheim-123")

    assert stored_password(mailbox).startswith("fernet:")
    assert "geheim" not in stored_password(mailbox)
    assert Mailbox.objects.get(pk=mailbox.pk).imap_password == "geheim-123"


def test_a_password_from_before_encryption_is_read_as_it_is():
    mailbox = make_mailbox("x")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Mailbox._meta.db_table} SET imap_password = %s WHERE id = %s",
            ["alt-klartext", mailbox.pk],
        )

    assert Mailbox.objects.get(pk=mailbox.pk).imap_password == "alt-klartext"


def test_another_key_cannot_read_it_and_says_why(settings):
    stored = encrypt("geheim")
    settings.CASEWORK_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(UnreadableSecret, match="current key"):
        decrypt(stored)
    assert decrypt(encrypt("neu")) == "neu"


def test_the_admin_never_shows_the_password_and_keeps_it_when_left_empty(client: Client):
    mailbox = make_mailbox("geheim-123")
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-12345678")
    client.force_login(admin)
    url = reverse("admin:email_channel_mailbox_change", args=[mailbox.pk])

    page = client.get(url).content.decode()
    assert "geheim-123" not in page and "fernet:" not in page
    form = {
        "address": mailbox.address,
        "display_name": "Extern neu",
        "is_active": "on",
        "language": "de",
        "signature": "",
        "case_type": mailbox.case_type_id,
        "queue": "",
        "identify_queue": "",
        "thread_by_subject_days": "7",
        "acknowledges": "on",
        "imap_host": "127.0.0.1",
        "imap_port": "993",
        "imap_ssl": "on",
        "imap_user": "extern",
        "imap_password": "",
        "imap_folder": "INBOX",
        "imap_poll_seconds": "60",
    }
    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox.refresh_from_db()
    assert mailbox.display_name == "Extern neu" and mailbox.imap_password == "geheim-123"

"""Polling a real IMAP server: Debian's dovecot, started on loopback with its own config."""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from casework.cases.models import Case
from casework.channels.email.imap import poll_mailbox
from casework.channels.email.models import RawEmail
from tests.channels.email.conftest import free_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("dovecot") is None, reason="dovecot-imapd is not installed"),
]

CONFIG = """
base_dir = {root}/run
state_dir = {root}/run
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 100
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


class Dovecot:
    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        (root / "mail").mkdir(parents=True)
        (root / "run").mkdir()
        (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=self.port))
        shutil.chown(root / "mail", "dovecot", "dovecot")

    def start(self) -> None:
        subprocess.run(["dovecot", "-c", str(self.root / "dovecot.conf")], check=True)
        for _ in range(100):
            try:
                imaplib.IMAP4("127.0.0.1", self.port, timeout=1).logout()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError((self.root / "dovecot.log").read_text())

    def stop(self) -> None:
        pid = int((self.root / "run" / "master.pid").read_text())
        os.kill(pid, 15)
        for _ in range(100):
            try:
                imaplib.IMAP4("127.0.0.1", self.port, timeout=1).logout()
            except imaplib.IMAP4.error:
                pass  # "* BYE Shutting down": on its way
            except OSError:
                return
            time.sleep(0.05)

    def append(self, raw: bytes, user: str = "service") -> None:
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as client:
            client.login(user, "secret")
            client.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)

    def unseen(self, user: str = "service") -> int:
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as client:
            client.login(user, "secret")
            client.select("INBOX")
            return len(client.search(None, "UNSEEN")[1][0].split())


@pytest.fixture
def dovecot():  # noqa: ANN201
    # Not pytest's tmp_path: its folders are private to root, and dovecot's mail processes
    # run as the dovecot user and must reach the maildir.
    root = Path(tempfile.mkdtemp(prefix="casework-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_mailbox(mailbox, dovecot):  # noqa: ANN001, ANN201
    mailbox.imap_host, mailbox.imap_port, mailbox.imap_ssl = "127.0.0.1", dovecot.port, False
    mailbox.imap_user, mailbox.imap_password = "service", "secret"
    mailbox.save()
    return mailbox


def mail(n: int) -> bytes:
    return (
        f"From: Mitglied {n} <member{n}@example.net>\r\nTo: service@demo.casework.test\r\n"
        f"Subject: Frage {n}\r\nMessage-ID: <imap-{n}@example.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nGrüße aus dem Postfach.\r\n"
    ).encode()


def test_unseen_mail_becomes_cases_and_is_marked_seen_only_after(imap_mailbox, dovecot):
    for n in range(3):
        dovecot.append(mail(n))

    result = poll_mailbox(imap_mailbox)

    assert result.received == 3 and result.error == ""
    assert Case.objects.count() == 3
    assert dovecot.unseen() == 0
    assert poll_mailbox(imap_mailbox).received == 0  # nothing new, nothing twice


def test_a_dropped_connection_is_reported_and_the_next_poll_resumes(imap_mailbox, dovecot):
    dovecot.append(mail(1))
    dovecot.stop()

    failed = poll_mailbox(imap_mailbox)

    assert failed.received == 0 and "Error" in failed.error
    imap_mailbox.refresh_from_db()
    assert imap_mailbox.imap_last_error
    dovecot.start()
    assert poll_mailbox(imap_mailbox).received == 1
    assert Case.objects.count() == 1


def test_a_mail_fetched_twice_is_ingested_once(imap_mailbox, dovecot):
    # As if the poller died after the commit but before flagging the mail seen.
    dovecot.append(mail(1))
    dovecot.append(mail(1))

    poll_mailbox(imap_mailbox)

    assert Case.objects.count() == 1
    assert RawEmail.objects.filter(status="duplicate").count() == 1

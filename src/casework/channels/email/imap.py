"""Polling external mailboxes over IMAP.

Each unseen message is fetched without marking it (BODY.PEEK), received (kept raw, through
the intake, committed), and only then flagged \\Seen. A dropped connection or a crash in
between leaves the message unseen, so the next poll fetches it again, and the Message-ID
(or the bytes' hash) makes that second delivery a no-op.
"""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass
from datetime import timedelta

from casework.channels.email.models import Mailbox
from casework.channels.email.services import receive_email
from casework.kernel import clock

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class PollResult:
    received: int
    error: str = ""


def poll_due() -> int:
    """One worker pass over the IMAP mailboxes whose interval has passed."""
    now = clock.now()
    done = 0
    for mailbox in Mailbox.objects.filter(is_active=True).exclude(imap_host=""):
        due_at = (mailbox.imap_polled_at or now) + timedelta(seconds=mailbox.imap_poll_seconds)
        if mailbox.imap_polled_at is None or due_at <= now:
            done += poll_mailbox(mailbox).received
    return done


def poll_mailbox(mailbox: Mailbox, *, limit: int = 200) -> PollResult:
    received = 0
    error = ""
    try:
        with _connect(mailbox) as client:
            status, data = client.select(_quote(mailbox.imap_folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"SELECT {mailbox.imap_folder} failed: {data!r}")
            status, data = client.uid("SEARCH", None, "UNSEEN")
            if status != "OK":
                raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
            for uid in data[0].split()[:limit]:
                raw = _fetch(client, uid)
                if raw is None:
                    continue
                receive_email(raw, envelope_from="", mailbox=mailbox)
                # Only now, after the commit, does the server learn we have it.
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                received += 1
    except (TimeoutError, OSError, imaplib.IMAP4.error) as failure:
        error = f"{type(failure).__name__}: {failure}"
        logger.warning("IMAP poll of %s failed: %s", mailbox.address, error)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_polled_at=clock.now(), imap_last_error=error[:2000]
    )
    return PollResult(received, error)


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    cls = imaplib.IMAP4_SSL if mailbox.imap_ssl else imaplib.IMAP4
    client = cls(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_SECONDS)
    client.login(mailbox.imap_user, mailbox.imap_password)
    return client


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for part in data:
        if isinstance(part, tuple) and len(part) == 2:
            return bytes(part[1])
    return None


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'

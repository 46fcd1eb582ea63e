"""The inbound SMTP server (aiosmtpd).

RCPT is refused (550) for addresses that are not an active mailbox; DATA above the size
limit is refused (552) by aiosmtpd itself. DATA is answered 250 only after
`receive_email` committed the raw mail and what it caused; any failure before that answers
451, so the sending server keeps the mail and retries — nothing is lost when this process
dies between DATA and commit.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, connections

from casework.channels.email.services import find_mailbox, receive_email

logger = logging.getLogger(__name__)


class CaseworkHandler:
    def __init__(self) -> None:
        # One thread does the database work: the ORM is synchronous, and writers queue on
        # the database anyway; a single thread keeps one connection warm.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-db")

    def close(self) -> None:
        """Release the database connection of the worker thread (a PostgreSQL database
        cannot be dropped, or a server restarted cleanly, while it is open)."""
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown()

    async def _in_db_thread(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            close_old_connections()
            return function(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        mailbox = await self._in_db_thread(find_mailbox, address)
        if mailbox is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        try:
            received = await self._in_db_thread(
                receive_email,
                raw,
                envelope_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
            )
        except Exception:
            logger.exception("could not store a mail from %s; asking to retry", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        detail = received.case_reference or received.status
        return f"250 2.0.0 OK {detail}"


class CaseworkController(Controller):  # type: ignore[misc]
    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        self.handler.close()


def build_controller(host: str, port: int) -> Controller:
    return CaseworkController(
        CaseworkHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.CASEWORK_MAX_EMAIL_BYTES,
        # Keep the bytes exactly as they arrived (no decoding of the DATA stream).
        decode_data=False,
        ident="Casework ESMTP",
    )

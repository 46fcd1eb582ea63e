"""Scanned response cards and letters, from an upload, an e-mail attachment or a scan
folder, become responses (`responses.receive`; the scan folder's pages are queued for the
worker, which receives them in batches: `queue.accept`, ADR 18).

The file is stored first and travels with every response it yields, so a person deciding
an exception sees the page itself. Each page is one response: its code (QR, or the typed
code by OCR), the ticked box and any handwritten remark. A page without a readable code,
with two codes, or with no (or both) boxes ticked becomes an exception for a person. The
same file delivered again yields nothing new: its pages are known by the file's hash.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from casework.interactions.files import StoredFile, store_bytes
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput
from casework.retention import queue, scanning
from casework.retention.models import PendingResponse, PendingStatus, Response, ResponseChannel
from casework.retention.responses import IncomingResponse, Problem, receive


class ScansNotReadable(DomainError):
    """The server lacks what reading scans needs: an administrator's task, not the file's."""

    code = "ocr_unavailable"
    status = 503


@dataclass(frozen=True)
class PageResult:
    page: int
    response: Response | None  # None: received before, or queued (`pending`)
    note: str = ""
    pending: PendingResponse | None = None  # queued for the worker (`queued=True`)


def receive_scan_upload(upload: UploadedFile, *, actor: Actor) -> list[PageResult]:
    if upload.size and upload.size > settings.CASEWORK_MAX_SCAN_BYTES:
        raise _too_large()
    return receive_scan(
        b"".join(upload.chunks()),
        filename=os.path.basename(upload.name or "scan"),
        content_type=upload.content_type or "",
        actor=actor,
    )


def receive_scan(
    content: bytes,
    *,
    filename: str,
    content_type: str = "",
    actor: Actor,
    source: str = "upload",
    queued: bool = False,
) -> list[PageResult]:
    """Every page of the scanned file as a response; the file is kept with them.
    `queued`: the pages wait in the queue for the worker (where no one waits for the
    outcome: a scan folder)."""

    def take(page: int, incoming: IncomingResponse, note: str = "") -> PageResult:
        if queued:
            return PageResult(page, None, note, pending=queue.accept(incoming, actor=actor).entry)
        return PageResult(page, receive(incoming, actor=actor).response, note)

    if len(content) > settings.CASEWORK_MAX_SCAN_BYTES:
        raise _too_large()
    sha256 = hashlib.sha256(content).hexdigest()
    stored = StoredFile(
        filename=filename[:255] or "scan",
        content_type=content_type
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream",
        size_bytes=len(content),
        sha256=store_bytes(content, sha256=sha256),
    )
    known_pages = set(
        Response.objects.filter(channel=ResponseChannel.LETTER, details__scan=sha256).values_list(
            "details__page", flat=True
        )
    ) | set(
        PendingResponse.objects.filter(
            channel=ResponseChannel.LETTER, details__scan=sha256, status=PendingStatus.QUEUED
        ).values_list("details__page", flat=True)
    )
    try:
        pages = scanning.read_scan(content, filename=filename)
    except scanning.OcrUnavailable as error:
        raise ScansNotReadable(
            _(
                "reading scans needs tesseract with its German data on the server "
                "(apt-get install tesseract-ocr tesseract-ocr-deu): %(error)s"
            )
            % {"error": error}
        ) from error
    except scanning.UnreadableScan as error:
        if 1 in known_pages:
            return [PageResult(1, None, _("received before"))]
        details = {"scan": sha256, "page": 1, "source": source, "read_error": str(error)}
        incoming = IncomingResponse(
            channel=ResponseChannel.LETTER,
            problem=Problem.NO_CODE,
            details=details,
            attachments=(stored,),
        )
        return [take(1, incoming, str(error))]
    results = []
    for page in pages:
        if page.number in known_pages:
            results.append(PageResult(page.number, None, _("received before")))
            continue
        results.append(take(page.number, _page_response(page, sha256, source, stored)))
    return results


def _too_large() -> InvalidInput:
    return InvalidInput(
        _("the file is larger than %(limit)d MB")
        % {"limit": settings.CASEWORK_MAX_SCAN_BYTES // 2**20},
        field="scan",
    )


def _page_response(
    page: scanning.ScannedPage, sha256: str, source: str, stored: StoredFile
) -> IncomingResponse:
    details = {"scan": sha256, "page": page.number, "source": source}
    if page.problems:
        details["read_problems"] = list(page.problems)
    if not page.cards:
        return IncomingResponse(
            channel=ResponseChannel.LETTER,
            problem=Problem.NO_CODE,
            details=details,
            attachments=(stored,),
        )
    card = page.cards[0]
    details["read_by"] = card.source
    details["ticked"] = sorted(card.ticked)
    problem = None
    if len(page.cards) > 1:
        problem = Problem.TWO_CODES
        details["codes"] = [other.text for other in page.cards]
    elif len(card.ticked) != 1:
        problem = Problem.CHOICE_UNCLEAR
    return IncomingResponse(
        channel=ResponseChannel.LETTER,
        code=card.text,
        choice="decline" if card.ticked == {"decline"} else "accept",
        remarks=card.remarks,
        problem=problem,
        details=details,
        attachments=(stored,),
    )

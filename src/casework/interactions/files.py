"""The file store for attachments: content-addressed, so a file arriving twice (a logo in
every signature, a forwarded PDF) is stored once.

Files are written before the transaction that refers to them commits. A rollback can leave
an unreferenced file behind, never a reference without its file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile


@dataclass(frozen=True)
class StoredFile:
    """A file as an interaction refers to it."""

    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    # False when the file exceeded the size limit: the record stays, the bytes were refused.
    is_stored: bool = True


def path_for(sha256: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "files" / sha256[:2] / sha256[2:4] / sha256


def store_bytes(content: bytes, *, sha256: str | None = None) -> str:
    """Store `content` once; returns its SHA-256. Safe against concurrent writers: the file
    appears atomically under its final name."""
    digest = sha256 or hashlib.sha256(content).hexdigest()
    target = path_for(digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


def read_bytes(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()


def store_upload(upload: UploadedFile) -> StoredFile:
    """A file an agent uploaded (a reply's attachment), stored like any received file."""
    content = b"".join(upload.chunks())  # bounded by the request size limit
    return StoredFile(
        filename=os.path.basename(upload.name or "") or "attachment",
        content_type=upload.content_type or "application/octet-stream",
        size_bytes=len(content),
        sha256=store_bytes(content),
    )

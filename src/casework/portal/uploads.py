"""What a customer may upload in the portal: a few documents of known types and a bounded
size. The type is read from the file's first bytes, not taken from its name or from what
the browser claims, and that is the type stored (pure)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from casework.kernel.errors import InvalidInput

# extension → the content type stored, and how the file must begin.
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "txt": ("text/plain", ()),
}


def max_upload_bytes() -> int:
    # Below the request limit, so a file that is too large gets this message, not a 413.
    return int(getattr(settings, "CASEWORK_PORTAL_MAX_UPLOAD_BYTES", 4 * 1024 * 1024))


def max_files() -> int:
    return int(getattr(settings, "CASEWORK_PORTAL_MAX_FILES", 5))


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    content_type: str
    content: bytes


def check_uploads(uploads: Sequence[Upload]) -> list[CheckedUpload]:
    """Every file checked before any is stored: one refused file refuses the submission."""
    if len(uploads) > max_files():
        raise InvalidInput(
            _("Please upload at most %(count)d files at a time.") % {"count": max_files()},
            field="files",
        )
    return [check_upload(upload) for upload in uploads]


def check_upload(upload: Upload) -> CheckedUpload:
    name = os.path.basename(upload.filename.replace("\\", "/")).strip() or "document"
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    allowed = ", ".join(sorted({ext.upper() for ext in ALLOWED_TYPES if ext != "jpeg"}))
    if extension not in ALLOWED_TYPES:
        raise InvalidInput(
            _("“%(name)s” cannot be uploaded: only these file types are accepted: %(types)s.")
            % {"name": name, "types": allowed},
            field="files",
        )
    if len(upload.content) > max_upload_bytes():
        raise InvalidInput(
            _("“%(name)s” is too large (%(size)s); a file may have at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(len(upload.content)),
                "limit": filesizeformat(max_upload_bytes()),
            },
            field="files",
        )
    if not upload.content:
        raise InvalidInput(_("“%(name)s” is empty.") % {"name": name}, field="files")
    content_type, signatures = ALLOWED_TYPES[extension]
    if not _looks_like(upload.content, signatures):
        raise InvalidInput(
            _("“%(name)s” is not a %(type)s file, although its name says so.")
            % {"name": name, "type": extension.upper()},
            field="files",
        )
    return CheckedUpload(filename=name[:255], content_type=content_type, content=upload.content)


def _looks_like(content: bytes, signatures: tuple[bytes, ...]) -> bool:
    if signatures:
        return content.startswith(signatures)
    # Plain text: UTF-8 without control bytes other than line breaks and tabs.
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(char) < 32 and char not in "\r\n\t" for char in text)

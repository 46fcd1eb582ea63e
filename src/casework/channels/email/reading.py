"""Reading a received e-mail as it arrived: the original bytes and its header block, for
the agent who wants to see more than the parsed text."""

from __future__ import annotations

from casework.channels.email.models import RawEmail, RawEmailStatus

# Header blocks of real mail are a few KiB; a hostile one is cut rather than shown whole.
MAX_HEADER_CHARACTERS = 64 * 1024


def original_message(interaction_id: int) -> bytes | None:
    """The raw bytes of the e-mail that became this interaction, or None (not an e-mail,
    or received before raw mail was kept)."""
    raw = (
        RawEmail.objects.filter(interaction_id=interaction_id, status=RawEmailStatus.INGESTED)
        .only("content")
        .order_by("pk")
        .first()
    )
    return bytes(raw.content) if raw is not None else None


def header_block(raw: bytes) -> str:
    """The header lines of a raw message, unfolded as little as possible: exactly what the
    sender's servers wrote, decoded leniently (headers should be ASCII, and often are not)."""
    end = len(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        position = raw.find(separator)
        if position != -1:
            end = min(end, position)
    block = raw[:end]
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_HEADER_CHARACTERS:
        text = text[:MAX_HEADER_CHARACTERS] + "\n…"
    return text

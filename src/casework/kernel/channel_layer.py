"""The in-process channel layer of the embedded installation.

Channels' `InMemoryChannelLayer` walks every channel and every group membership for expired
entries on each `receive()` and `group_send()`: with a thousand open sockets that is about a
millisecond per call, several calls per chat message. Here the walk runs at most once a
second; expiry is a safety net for sockets that vanished, not part of delivery."""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer


class LocalChannelLayer(InMemoryChannelLayer):
    CLEAN_EVERY_SECONDS = 1.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()

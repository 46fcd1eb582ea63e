"""The router's configuration as the database holds it: presence states and channel
weights. Migration 0003 seeds the defaults; a database emptied by a test flush gets them
again on first use, so the router never depends on rows someone may have deleted.

Every router call needs some of these rows; each process remembers them for a few seconds
(`CONFIG_TTL_SECONDS`) and forgets them at once when it changes one itself (admin)."""

from __future__ import annotations

import time
from typing import TypeVar

from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from casework.kernel.actors import Actor, ActorKind
from casework.routing.errors import UnknownChannel, UnknownPresenceState
from casework.routing.models import ChannelCapacity, PresenceState

AVAILABLE = "available"
BUSY = "busy"
AFTER_CALL_WORK = "after_call_work"
NOT_RESPONDING = "not_responding"
OFFLINE = "offline"

# The switches the router makes for every call: to busy when it is taken, back when it ends.
_CALL_SWITCHES = (frozenset({BUSY, AVAILABLE}), frozenset({BUSY, AFTER_CALL_WORK}))


def records_presence_change(previous: str, new: str, actor: Actor) -> bool:
    """Whether a presence change goes into the event log (`presence.changed`): all but the
    router's switch to busy and back for a call, which the call's own events say
    (`work_item.accepted`, `work_item.completed`). The presence log keeps every change."""
    return not (actor.kind == ActorKind.SYSTEM and frozenset({previous, new}) in _CALL_SWITCHES)


# code, German, English, routable, selectable, logged in (as in migration 0003)
DEFAULT_STATES = [
    (AVAILABLE, "Verfügbar", "Available", True, True, True),
    (BUSY, "Im Gespräch", "Busy", False, False, True),
    (AFTER_CALL_WORK, "Nachbearbeitung", "After-call work", False, False, True),
    ("break", "Pause", "Break", False, True, True),
    ("training", "Schulung", "Training", False, True, True),
    (NOT_RESPONDING, "Reagiert nicht", "Not responding", False, False, True),
    (OFFLINE, "Abgemeldet", "Offline", False, True, False),
]

# channel, units, pushed, offer timeout (s), busy while worked, after-call work (s)
DEFAULT_CHANNELS = [
    ("phone", 100, True, 20, True, 30),
    ("callback", 100, True, 30, True, 30),
    ("chat", 33, True, 30, False, 0),
    ("email", 20, False, 0, False, 0),
    ("task", 20, False, 0, False, 0),
]


def ensure_defaults() -> None:
    if not PresenceState.objects.exists():
        for order, (code, de, en, routable, selectable, logged_in) in enumerate(DEFAULT_STATES):
            PresenceState.objects.get_or_create(
                code=code,
                defaults={
                    "name_de": de,
                    "name_en": en,
                    "is_routable": routable,
                    "is_selectable": selectable,
                    "is_logged_in": logged_in,
                    "order": order * 10,
                },
            )
    if not ChannelCapacity.objects.exists():
        for channel, units, push, timeout, busy, after_work in DEFAULT_CHANNELS:
            ChannelCapacity.objects.get_or_create(
                channel=channel,
                defaults={
                    "units": units,
                    "is_push": push,
                    "offer_timeout_seconds": timeout,
                    "sets_busy": busy,
                    "after_work_seconds": after_work,
                },
            )


def get_channel(channel: str) -> ChannelCapacity:
    found = _remembered(ChannelCapacity, channel)
    if found is None:
        ensure_defaults()
        found = ChannelCapacity.objects.filter(channel=channel).first()
    if found is None:
        raise UnknownChannel(
            _("no capacity is configured for the channel “%(channel)s”") % {"channel": channel},
            field="channel",
        )
    return found


def get_presence_state(code: str) -> PresenceState:
    found = _remembered(PresenceState, code)
    if found is None:
        ensure_defaults()
        found = PresenceState.objects.filter(code=code).first()
    if found is None:
        raise UnknownPresenceState(
            _("unknown presence state “%(state)s”") % {"state": code}, field="state"
        )
    return found


CONFIG_TTL_SECONDS = 5.0

Row = TypeVar("Row", ChannelCapacity, PresenceState)
_rows: dict[type, tuple[float, dict[str, object]]] = {}


def _remembered(model: type[Row], code: str) -> Row | None:
    """The row of `model` with this code, from a copy of the table at most a few seconds old."""
    cached = _rows.get(model)
    if cached is None or time.monotonic() - cached[0] > CONFIG_TTL_SECONDS:
        key = "channel" if model is ChannelCapacity else "code"
        cached = (time.monotonic(), {getattr(row, key): row for row in model.objects.all()})
        _rows[model] = cached
    return cached[1].get(code)  # type: ignore[return-value]


def forget_cached_config(**_signal: object) -> None:
    """After changing presence states or channel capacities (admin, tests)."""
    _rows.clear()


for _model in (ChannelCapacity, PresenceState):
    post_save.connect(forget_cached_config, sender=_model, dispatch_uid=f"routing-config-{_model}")
    post_delete.connect(
        forget_cached_config, sender=_model, dispatch_uid=f"routing-config-del-{_model}"
    )

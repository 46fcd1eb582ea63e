"""The router's configuration as the database holds it: presence states and channel
weights. Migration 0003 seeds the defaults; a database emptied by a test flush gets them
again on first use, so the router never depends on rows someone may have deleted."""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.routing.errors import UnknownChannel, UnknownPresenceState
from casework.routing.models import ChannelCapacity, PresenceState

AVAILABLE = "available"
BUSY = "busy"
AFTER_CALL_WORK = "after_call_work"
NOT_RESPONDING = "not_responding"
OFFLINE = "offline"

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
    found = ChannelCapacity.objects.filter(channel=channel).first()
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
    found = PresenceState.objects.filter(code=code).first()
    if found is None:
        ensure_defaults()
        found = PresenceState.objects.filter(code=code).first()
    if found is None:
        raise UnknownPresenceState(
            _("unknown presence state “%(state)s”") % {"state": code}, field="state"
        )
    return found

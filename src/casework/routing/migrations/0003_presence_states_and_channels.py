"""The presence states and channel weights an installation starts with; administrators
change them in the admin afterwards."""

from django.db import migrations

STATES = [
    # code, German, English, routable, selectable, logged in
    ("available", "Verfügbar", "Available", True, True, True),
    ("busy", "Im Gespräch", "Busy", False, False, True),
    ("after_call_work", "Nachbearbeitung", "After-call work", False, False, True),
    ("break", "Pause", "Break", False, True, True),
    ("training", "Schulung", "Training", False, True, True),
    # Set by the router when an agent lets an offer expire: probably not at the desk.
    ("not_responding", "Reagiert nicht", "Not responding", False, False, True),
    ("offline", "Abgemeldet", "Offline", False, True, False),
]

CHANNELS = [
    # channel, units, pushed, offer timeout, busy, after-call work
    ("phone", 100, True, 20, True, 30),
    ("callback", 100, True, 30, True, 30),
    ("chat", 33, True, 30, False, 0),
    ("email", 20, False, 0, False, 0),
    ("task", 20, False, 0, False, 0),
]


def seed(apps, schema_editor):
    PresenceState = apps.get_model("routing", "PresenceState")
    ChannelCapacity = apps.get_model("routing", "ChannelCapacity")
    for order, (code, de, en, routable, selectable, logged_in) in enumerate(STATES):
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
    for channel, units, push, timeout, busy, after_work in CHANNELS:
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


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_router")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

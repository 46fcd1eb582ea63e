"""The chain head exists from the start, so the first writers lock a row like all later
ones instead of racing to create it."""

from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    ChainHead = apps.get_model("events", "ChainHead")
    ChainHead.objects.get_or_create(pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("events", "0002_subscription_start_and_outbox_cursor")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]

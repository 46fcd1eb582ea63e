"""The ledger head exists from the start (the first writers lock a row like all later ones),
and on PostgreSQL the database itself refuses to change or remove a ledger entry.

SQLite has no such trigger here: there, as everywhere, `casework ledger verify` detects an
entry changed, removed or inserted behind the application's back."""

from django.db import migrations

GENESIS_HASH = "0" * 64

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION partners_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the commission ledger is append-only: % refused on entry %',
        TG_OP, OLD.seq
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER partners_ledger_append_only
    BEFORE UPDATE OR DELETE ON partners_commissionentry
    FOR EACH ROW EXECUTE FUNCTION partners_ledger_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS partners_ledger_append_only ON partners_commissionentry;
DROP FUNCTION IF EXISTS partners_ledger_append_only();
"""


def create_head(apps, schema_editor):
    LedgerHead = apps.get_model("partners", "LedgerHead")
    LedgerHead.objects.get_or_create(pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH})


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_ledger")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]

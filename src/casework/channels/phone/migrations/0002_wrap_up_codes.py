from django.db import migrations

# What calls are about, to start with; administrators change them in the admin.
CODES = [
    ("advice", "Beratung", "advice", 10),
    ("order", "Bestellung / Vertrag", "order / contract", 20),
    ("billing", "Rechnung", "billing", 30),
    ("fault", "Störung", "fault", 40),
    ("complaint", "Beschwerde", "complaint", 50),
    ("cancellation", "Kündigung", "cancellation", 60),
    ("other", "Sonstiges", "other", 90),
]


def add_codes(apps, schema_editor):
    WrapUpCode = apps.get_model("phone", "WrapUpCode")
    for code, name_de, name_en, order in CODES:
        WrapUpCode.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("phone", "0001_initial")]

    operations = [migrations.RunPython(add_codes, migrations.RunPython.noop)]

"""Load the limits of GB 17761-2018/2024 and GB 43854-2024 (catalog/standards.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from catalog.standards import load_standards

    load_standards(apps.get_model("catalog", "Standard"))


def unload(apps, schema_editor):
    apps.get_model("catalog", "Standard").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

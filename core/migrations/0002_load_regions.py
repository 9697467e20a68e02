"""Load the GB/T 2260 region tree (core/data/regions.csv)."""

from django.db import migrations


def load(apps, schema_editor):
    from core.regions import load_regions

    load_regions(apps.get_model("core", "Region"))


def unload(apps, schema_editor):
    apps.get_model("core", "Region").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

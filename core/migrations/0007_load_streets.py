"""Load the streets and towns (GB/T 10114, level 4) of the demo cities from core/data/regions.csv into databases
whose regions were loaded before the file had them; a new database has them from 0002 already."""

import contextlib

from django.db import migrations
from django.db.models import ProtectedError


def load(apps, schema_editor):
    from core.regions import load_regions

    load_regions(apps.get_model("core", "Region"))


def unload(apps, schema_editor):
    # Only the streets nothing refers to: a street an owner or an organization is registered in stays.
    for region in apps.get_model("core", "Region").objects.filter(level=4):
        with contextlib.suppress(ProtectedError):
            region.delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0006_notices")]

    operations = [migrations.RunPython(load, unload)]

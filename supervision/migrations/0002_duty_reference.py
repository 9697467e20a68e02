"""Load the default duty checklists (日管控、周排查、月调度) and the weights of the duties' and sampling's risk signals
(supervision/duty_reference.py)."""

from django.db import migrations


def load(apps, schema_editor):
    from supervision.duty_reference import duty_reference_load

    duty_reference_load(apps.get_model("supervision", "DutyTemplate"), apps.get_model("reports", "RiskSignal"))


def unload(apps, schema_editor):
    from supervision.duty_reference import duty_reference_unload

    duty_reference_unload(apps.get_model("supervision", "DutyTemplate"), apps.get_model("reports", "RiskSignal"))


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial"), ("reports", "0002_risk_reference")]

    operations = [migrations.RunPython(load, unload)]

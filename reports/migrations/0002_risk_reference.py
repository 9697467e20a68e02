"""Load the 三分 reference data: product categories, signal weights, the risk threshold, the colour thresholds
(reports/risk_reference.py)."""

from django.db import migrations

MODELS = ("ProductCategory", "RiskSignal", "RiskSetting", "ColourThreshold")


def load(apps, schema_editor):
    from reports.risk_reference import risk_reference_load

    risk_reference_load(*(apps.get_model("reports", name) for name in MODELS))


def unload(apps, schema_editor):
    from reports.risk_reference import risk_reference_unload

    risk_reference_unload(*(apps.get_model("reports", name) for name in MODELS))


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

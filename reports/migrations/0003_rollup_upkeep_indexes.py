"""The rollups' upkeep writes fewer index entries: each unique key is also the region-prefix index (one index less
per table), EnterpriseDay's organization is indexed only by (organization, day), and the three tables keep 30% of
each page free so that adding to a row of the day is an in-place (HOT) update, without new index entries."""

import django.db.models.deletion
from django.db import migrations, models

ROLLUP_TABLES = ("reports_regionday", "reports_enterpriseday", "reports_alertday")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_notices"),
        ("reports", "0002_risk_reference"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="alertday",
            name="alert_day_once",
        ),
        migrations.RemoveConstraint(
            model_name="enterpriseday",
            name="enterprise_day_once",
        ),
        migrations.RemoveConstraint(
            model_name="regionday",
            name="region_day_once",
        ),
        migrations.RemoveIndex(
            model_name="alertday",
            name="alert_day_prefix",
        ),
        migrations.RemoveIndex(
            model_name="enterpriseday",
            name="enterprise_day_prefix",
        ),
        migrations.RemoveIndex(
            model_name="regionday",
            name="region_day_prefix",
        ),
        migrations.AlterField(
            model_name="enterpriseday",
            name="organization",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.organization"
            ),
        ),
        migrations.AddConstraint(
            model_name="alertday",
            constraint=models.UniqueConstraint(
                fields=("region_code", "day", "rule", "severity"),
                name="alert_day_once",
                opclasses=["varchar_pattern_ops", "", "", ""],
            ),
        ),
        migrations.AddConstraint(
            model_name="enterpriseday",
            constraint=models.UniqueConstraint(
                fields=("region_code", "day", "organization"),
                name="enterprise_day_once",
                opclasses=["varchar_pattern_ops", "", ""],
            ),
        ),
        migrations.AddConstraint(
            model_name="regionday",
            constraint=models.UniqueConstraint(
                fields=("region_code", "day"), name="region_day_once", opclasses=["varchar_pattern_ops", ""]
            ),
        ),
        migrations.RunSQL(
            [f"ALTER TABLE {table} SET (fillfactor = 70)" for table in ROLLUP_TABLES],
            [f"ALTER TABLE {table} RESET (fillfactor)" for table in ROLLUP_TABLES],
        ),
    ]

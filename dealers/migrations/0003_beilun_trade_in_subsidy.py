"""The demo trade-in subsidy (以旧换新) of 宁波市北仑区: an amount per kind of old bike, as data. The amounts are
illustrative (the demo's), not a published policy: a locality's administrator enters its own in the admin."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

REGION = "330206"
NOTE = "北仑区电动自行车以旧换新补贴（演示数据，金额为示例）"
AMOUNTS = {"old_standard": Decimal("500.00"), "new_standard": Decimal("200.00")}
VALID_FROM = dt.date(2025, 1, 1)


def load(apps, schema_editor):
    policy = apps.get_model("dealers", "SubsidyPolicy")
    for kind, amount in AMOUNTS.items():
        policy.objects.get_or_create(
            region_code=REGION,
            old_kind=kind,
            valid_from=VALID_FROM,
            defaults={"amount_yuan": amount, "note": NOTE},
        )


def unload(apps, schema_editor):
    apps.get_model("dealers", "SubsidyPolicy").objects.filter(
        region_code=REGION, valid_from=VALID_FROM, note=NOTE
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("dealers", "0002_more_of_the_chain")]

    operations = [migrations.RunPython(load, unload)]

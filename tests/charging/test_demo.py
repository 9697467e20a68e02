"""The demo's operators: cabinets in 德州 and 北仑, a week of swaps through the swap service, alarms that reach the
fire brigades (one escalated), an unregistered battery flagged; a second run adds nothing."""

import pytest

from alerts.models import Alert, AlertDelivery
from charging import demo
from charging.models import SwapEvent, SwapStation
from core import demo as core_demo
from vehicles import demo as chain_demo
from vehicles.ledger import chain_verify
from vehicles.models import Battery

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_two_operators_with_a_week_of_swaps_and_alarms():
    orgs = core_demo.seed()
    chain_demo.seed_catalog(orgs)

    assert "cabinets" in demo.seed(orgs)

    operators = {spec.key: orgs[spec.key] for spec in demo.OPERATORS}
    assert {s.operator_id for s in SwapStation.objects.all()} == {org.pk for org in operators.values()}
    assert SwapStation.objects.filter(region_id="330206").count() == 4
    swaps = SwapEvent.objects.count()
    assert swaps > 1000 and SwapEvent.objects.exclude(alarm="none").count() == 6
    thermal = Alert.objects.filter(rule="BATTERY_THERMAL_RISK")
    assert thermal.count() == 5 and thermal.filter(escalation_level=1).count() == 1
    fires = set(AlertDelivery.objects.filter(alert__in=thermal).values_list("organization_id", flat=True))
    assert {orgs["dz_fire"].pk, orgs["bl_fire"].pk} <= fires
    assert Alert.objects.filter(rule="PRODUCT_UNREGISTERED", battery_serial="ACXX00000001").exists()
    for battery in Battery.objects.filter(serial__startswith="AC48V")[:5]:
        assert chain_verify(battery).valid

    assert demo.seed(orgs) == "swaps already there"
    assert SwapEvent.objects.count() == swaps

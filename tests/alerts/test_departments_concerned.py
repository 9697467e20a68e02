"""A rule may name the departments it concerns: its alerts reach the department of that kind nearest above the
alert's region whether it subscribed or not (the fire brigade of a cabinet's thermal alarm, the police of a stolen
bike seen); departments elsewhere, and of other kinds, get nothing."""

import pytest

from alerts.models import Alert, AlertDelivery
from alerts.services import alert_request_record
from core.models import OrganizationKind
from tests.alerts.conftest import drain
from tests.conftest import _member, api_client

pytestmark = pytest.mark.django_db


def test_a_thermal_alarm_reaches_the_fire_brigade_and_a_stolen_bike_the_police(world):
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    other_fire = _member(OrganizationKind.FIRE, "330206", name="北仑区消防救援大队")
    for rule, serial in (("BATTERY_THERMAL_RISK", "LD48V20AH00000001"), ("STOLEN_SEEN", "")):
        alert_request_record(
            rule=rule,
            region_code="371402",
            source=f"test:{rule}",
            frame_no="" if serial else "140222600000001",
            battery_serial=serial,
            evidence={"test": True},
        )
    drain()
    thermal, stolen = Alert.objects.get(rule="BATTERY_THERMAL_RISK"), Alert.objects.get(rule="STOLEN_SEEN")

    def delivered(alert):
        return set(AlertDelivery.objects.filter(alert=alert).values_list("organization_id", "reason"))

    regulator = world.district_regulator.organization_id
    assert delivered(thermal) == {(regulator, "jurisdiction"), (fire.organization_id, "department")}
    assert delivered(stolen) == {(regulator, "jurisdiction"), (world.police.organization_id, "department")}

    def visible(user):
        return {a["id"] for a in api_client(user).get("/api/v1/alerts/").json()["results"]}

    assert visible(fire) == {thermal.pk} and visible(world.police) == {stolen.pk}
    assert visible(other_fire) == set()  # another city's brigade
    assert visible(world.other_city_regulator) == set()

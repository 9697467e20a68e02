"""What cabinets see raises alerts: a thermal alarm reaches the fire department and the regulator of the cabinet's
region (within seconds, with a real worker), not another city's; repeated alarms of one battery add to its open
alert and escalate it; an unknown, recycled or non-standard battery raises its alert as a repair would."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertDelivery
from charging.alarms import alarm_escalations_apply
from core.models import OrganizationKind
from tests.alerts.conftest import drain
from tests.conftest import _member, api_client
from tests.processes import running, wait_until
from vehicles.models import Battery, LifecycleEvent

THERMAL = "BATTERY_THERMAL_RISK"


def _inbox(user) -> dict[int, dict]:
    response = api_client(user).get("/api/v1/alerts/?page_size=100")
    assert response.status_code == 200, response.json()
    return {row["id"]: row for row in response.json()["results"]}


def _at(hours_ago: float) -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).isoformat()


@pytest.mark.django_db
def test_a_thermal_alarm_reaches_the_fire_department_of_the_region_not_another_citys(cabinets):
    a, b = cabinets.pool(2)
    alarm = cabinets.item(a, b, alarm="over_temperature", temperature_c=71.5)
    assert cabinets.send([alarm, cabinets.item(b, a)]).json()["accepted"] == 2
    drain()

    alert = Alert.objects.get(rule=THERMAL)
    assert alert.battery_serial == a.serial and alert.battery_id == a.pk and alert.severity == "high"
    assert alert.region_code == "371402" and alert.organization_id == cabinets.operator.organization_id
    assert alert.evidence["alarm"] == "over_temperature" and alert.evidence["temperature_c"] == "71.5"
    assert alert.evidence["station_code"] == cabinets.station.code
    delivered = set(AlertDelivery.objects.filter(alert=alert).values_list("organization_id", "reason"))
    assert delivered == {
        (cabinets.world.district_regulator.organization_id, "jurisdiction"),
        (cabinets.fire.organization_id, "department"),
    }
    for insider in (cabinets.fire, cabinets.world.district_regulator, cabinets.world.city_regulator, cabinets.operator):
        assert alert.pk in _inbox(insider), insider
    for outsider in (
        cabinets.other_fire,
        cabinets.world.other_city_regulator,
        cabinets.world.other_district_regulator,
        cabinets.other_operator,
        cabinets.world.police,
    ):
        assert alert.pk not in _inbox(outsider), outsider
    assert Alert.objects.filter(rule=THERMAL).count() == 1  # the swap without alarm raised nothing


@pytest.mark.django_db
def test_repeated_alarms_of_one_battery_add_to_its_alert_and_escalate_it(cabinets):
    province = _member(OrganizationKind.REGULATOR, "370000", name="山东省市场监督管理局")
    hot, spare = cabinets.pool(2)
    world = cabinets.world

    def alarm(hours_ago: float, kind: str = "over_temperature") -> Alert:
        item = cabinets.item(hot, spare, alarm=kind, occurred_at=_at(hours_ago))
        assert cabinets.send([item]).json()["accepted"] == 1
        drain()
        alarm_escalations_apply(serials=[hot.serial])
        return Alert.objects.get(rule=THERMAL)

    first = alarm(10)
    assert first.escalation_level == 0 and first.pk in _inbox(world.city_regulator)  # its jurisdiction, from above
    assert not AlertDelivery.objects.filter(alert=first, reason="escalation").exists()

    second = alarm(4, "smoke")
    assert second.pk == first.pk and second.evidence["occurrences"] == 2 and second.severity == "high"
    assert second.escalation_level == 1
    escalated = AlertDelivery.objects.filter(alert=second, reason="escalation")
    assert set(escalated.values_list("organization_id", flat=True)) == {world.city_regulator.organization_id}

    third = alarm(1)
    assert third.pk == first.pk and third.evidence["occurrences"] == 3 and third.escalation_level == 2
    assert set(escalated.values_list("organization_id", flat=True)) == {
        world.city_regulator.organization_id,
        province.organization_id,
    }
    assert third.pk in _inbox(province)
    steps = list(third.transitions.values_list("action", flat=True))
    assert steps.count("repeat") == 2 and steps.count("escalate") == 2
    # Applying again changes nothing; another city's regulator never sees it.
    assert alarm_escalations_apply(serials=[hot.serial])[0] == 0
    assert third.pk not in _inbox(world.other_city_regulator)


@pytest.mark.django_db
def test_alarms_more_than_a_day_apart_do_not_escalate(cabinets):
    hot, spare = cabinets.pool(2)
    items = [
        cabinets.item(hot, spare, alarm="over_voltage", occurred_at=_at(30)),
        cabinets.item(spare, hot, occurred_at=_at(20)),
        cabinets.item(hot, spare, alarm="over_temperature", occurred_at=_at(1)),
    ]
    assert cabinets.send(items).json()["accepted"] == 3
    drain()
    assert alarm_escalations_apply(serials=[hot.serial])[0] == 0
    alert = Alert.objects.get(rule=THERMAL)
    assert alert.evidence["occurrences"] == 2 and alert.escalation_level == 0
    assert not AlertDelivery.objects.filter(alert=alert, reason="escalation").exists()


@pytest.mark.django_db
def test_an_unknown_recycled_or_non_standard_battery_in_a_cabinet_raises_its_alert(cabinets):
    (good,) = cabinets.pool(1)
    recycled = cabinets.chain.battery(status=Battery.Status.RECYCLED)
    (pumped,) = cabinets.pool(1)
    items = [
        cabinets.item("QQ1234567890", good),  # on no maker's register
        cabinets.item(recycled, good),
        cabinets.item(good, recycled),  # seen twice in the batch: one alert request
        cabinets.item(pumped, good, voltage_v="67.20"),  # above GB 43854's 60 V output limit
    ]
    assert cabinets.send(items).json()["accepted"] == 4
    drain()

    unregistered = Alert.objects.get(rule="PRODUCT_UNREGISTERED")
    assert unregistered.battery_serial == "QQ1234567890" and unregistered.battery_id is None
    reappears = Alert.objects.get(rule="BATTERY_RECYCLED_REAPPEARS")
    assert reappears.battery_id == recycled.pk and reappears.evidence["sightings"] == 2
    nonstandard = Alert.objects.get(rule="MOD_BATTERY_NONSTANDARD")
    assert nonstandard.battery_id == pumped.pk and nonstandard.evidence["reasons"] == ["measured_voltage_exceeds"]
    for alert in (unregistered, reappears, nonstandard):
        assert alert.region_code == "371402" and alert.organization_id == cabinets.operator.organization_id
        assert alert.pk in _inbox(cabinets.world.district_regulator)
        assert alert.pk not in _inbox(cabinets.world.other_city_regulator)
    # The flags are on the recycled battery's chain, as a repair writes them in its event.
    event = LifecycleEvent.objects.filter(type="swapped", battery=recycled).order_by("seq").first()
    assert event.payload["flags"] == ["battery_recycled"]


@pytest.mark.django_db
def test_a_battery_outside_its_bikes_certified_pairs_is_non_standard(cabinets):
    from vehicles.registration import battery_fit

    vehicle, _original = cabinets.bike()
    foreign = cabinets.chain.battery(model=cabinets.chain.other_battery_model)
    from django.db import transaction

    from vehicles.models import Vehicle

    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        battery_fit(vehicle=locked, battery=foreign, organization=cabinets.world.dealer.organization, at=timezone.now())
    (spare,) = cabinets.pool(1)
    assert cabinets.send([cabinets.item(foreign, spare)]).json()["accepted"] == 1
    drain()
    alert = Alert.objects.get(rule="MOD_BATTERY_NONSTANDARD", event_id__isnull=True)  # the cabinet's, not the fit's
    assert alert.battery_serial == foreign.serial and alert.frame_no == vehicle.frame_no
    assert "not_a_certified_pair" in alert.evidence["reasons"]


@pytest.mark.integration
def test_with_a_real_worker_the_fire_department_has_the_alarm_within_seconds_and_a_repeat_escalates(
    transactional_db, cabinets, tmp_path
):
    hot, spare = cabinets.pool(2)
    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "--without-gossip"]
    with running(args, log=tmp_path / "worker.log"):
        time.sleep(1)
        sent = time.monotonic()
        item = cabinets.item(hot, spare, alarm="smoke", occurred_at=_at(2))
        assert cabinets.send([item]).json()["accepted"] == 1
        arrived = wait_until(lambda: any(a["rule"]["code"] == THERMAL for a in _inbox(cabinets.fire).values()), 30)
        elapsed = time.monotonic() - sent
        assert arrived, (tmp_path / "worker.log").read_text()
        assert elapsed < 10, elapsed  # seconds, even on a loaded test machine (bench: p99 at 50 alarms/s)
        assert not any(a["rule"]["code"] == THERMAL for a in _inbox(cabinets.other_fire).values())

        again = cabinets.item(hot, spare, alarm="over_temperature", occurred_at=_at(1))
        assert cabinets.send([again]).json()["accepted"] == 1
        assert wait_until(lambda: Alert.objects.filter(rule=THERMAL, escalation_level=1).exists(), 30), (
            tmp_path / "worker.log"
        ).read_text()
    alert = Alert.objects.get(rule=THERMAL)
    assert alert.evidence["occurrences"] == 2
    assert alert.pk in _inbox(cabinets.world.city_regulator)
    assert AlertDelivery.objects.filter(
        alert=alert, reason="escalation", organization=cabinets.world.city_regulator.organization
    ).exists()

"""The rule engine: each rule raised by a realistic scenario and by none of the clean ones; routing; dedup."""

from decimal import Decimal

import pytest

from alerts.models import Alert, AlertDelivery, WebhookDelivery
from catalog.models import BatteryModel
from tests.alerts.conftest import drain, fit, repaired
from tests.conftest import api_client
from vehicles.models import OutboxMessage


def _codes():
    return sorted(Alert.objects.values_list("rule", flat=True))


def test_a_clean_sale_raises_nothing(chain, sold):
    assert drain() > 0
    assert _codes() == []
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()


def test_battery_outside_the_certified_pairs_raises_mod_battery_nonstandard_routed_by_jurisdiction(
    chain, sold, fire, shop
):
    foreign = chain.battery(model=chain.other_battery_model)
    fit(sold, foreign, shop)
    drain()

    alert = Alert.objects.get()
    assert (alert.rule, alert.category, alert.severity, alert.status) == (
        "MOD_BATTERY_NONSTANDARD",
        "battery",
        "high",
        "dispatched",
    )
    assert alert.frame_no == sold.frame_no and alert.battery_serial == foreign.serial
    assert alert.evidence["reasons"] == ["not_a_certified_pair"]
    assert alert.regulator == chain.world.district_regulator.organization  # longest prefix: 371402
    assert alert.dispatched_at is not None and (alert.dispatched_at - alert.event_at).total_seconds() < 60
    recipients = set(AlertDelivery.objects.values_list("organization__name", "reason"))
    assert recipients == {("德城区市场监督管理局", "jurisdiction"), ("德州市消防救援支队", "subscription")}

    def visible(user):
        return [a["id"] for a in api_client(user).get("/api/v1/alerts/").json()["results"]]

    assert visible(chain.world.district_regulator) == [alert.pk]
    assert visible(chain.world.city_regulator) == [alert.pk]  # the city above it
    assert visible(fire) == [alert.pk]  # shared with the subscribed department
    assert visible(shop) == [alert.pk]  # the enterprise concerned (it fitted the battery)
    for outsider in (
        chain.world.other_district_regulator,
        chain.world.other_city_regulator,
        chain.world.other_dealer,
        chain.world.police,
    ):
        assert visible(outsider) == [], outsider
    assert api_client().get("/api/v1/alerts/").status_code == 401


def test_a_battery_above_the_bikes_voltage_or_certified_capacity_is_nonstandard(chain, sold, shop):
    bigger = BatteryModel.objects.create(
        code="LD-6030",
        name="60V",
        maker=chain.battery_maker.organization,
        chemistry="lithium_ion",
        nominal_voltage_v=Decimal("60"),
        capacity_ah=Decimal("30"),
        ccc_cert_no="C",
        ccc_valid_until="2030-01-01",
    )
    chain.model.compatible_battery_models.add(bigger)  # even when listed, 60 V exceeds the 48 V standard limit
    fit(sold, chain.battery(model=bigger), shop)
    drain()
    assert Alert.objects.get().evidence["reasons"] == ["voltage_exceeds"]


def test_redelivery_makes_no_duplicate(chain, sold, shop):
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    OutboxMessage.objects.update(published_at=None)  # as if a worker died after raising, before marking
    drain()
    assert Alert.objects.count() == 1
    assert AlertDelivery.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"kind": "speed_limiter"}, ["MOD_SPEED_UNLOCK"]),
        ({"kind": "other", "measured_max_speed_kmh": "38.5"}, ["MOD_SPEED_UNLOCK"]),
        ({"kind": "other", "measured_max_speed_kmh": "24.0"}, []),
        ({"kind": "motor_replacement", "fitted_motor_power_w": 800}, ["MOD_MOTOR_POWER"]),
        ({"kind": "motor_replacement", "fitted_motor_power_w": 400}, []),
        ({"kind": "brake_tyre", "shop_qualified": False}, ["SHOP_UNQUALIFIED"]),
        ({"kind": "brake_tyre"}, []),
        ({"kind": "battery_replacement", "battery_flags": {"X1": ["battery_fitted_elsewhere"]}}, ["BATTERY_DUPLICATE"]),
        (
            {"kind": "battery_replacement", "battery_flags": {"X2": ["battery_recycled"]}},
            ["BATTERY_RECYCLED_REAPPEARS"],
        ),
    ],
)
def test_repair_rules(chain, sold, shop, payload, expected):
    repaired(sold, shop, **payload)
    drain()
    assert _codes() == expected


def test_motor_power_thresholds_come_from_the_standards_data(chain, sold, shop):
    from catalog.models import Standard

    chain.model.motor_power_w = 1000
    chain.model.save()
    Standard.objects.filter(code="GB17761-2024").update(max_motor_power_w=1200)
    repaired(sold, shop, kind="motor_replacement", fitted_motor_power_w=800, repair=7)
    drain()
    assert _codes() == []
    Standard.objects.filter(code="GB17761-2024").update(max_motor_power_w=400)
    repaired(sold, shop, kind="motor_replacement", fitted_motor_power_w=800, repair=8)
    drain()
    assert _codes() == ["MOD_MOTOR_POWER"]
    assert Alert.objects.get().evidence["reasons"] == ["above_standard_limit"]


def test_refused_deliveries_become_product_uncertified_alerts(chain):
    old = chain.vehicle(model=chain.old_model)
    body = {"supplier": chain.maker.organization_id, "frame_nos": [old.frame_no], "battery_serials": []}
    assert api_client(chain.world.dealer).post("/api/v1/receipts/", body, format="json").status_code == 201
    drain()
    alert = Alert.objects.get()
    assert (alert.rule, alert.frame_no, alert.organization) == (
        "PRODUCT_UNCERTIFIED",
        old.frame_no,
        chain.maker.organization,
    )
    assert alert.evidence["reasons"] == ["old_standard_past_cutoff"]
    assert alert.regulator == chain.world.district_regulator.organization


def test_a_region_without_its_own_regulator_goes_to_the_one_above(chain, sold, shop):
    far_shop = shop
    far_shop.organization.region_id = "371482"  # 禹城市: no regulator of its own in this world
    far_shop.organization.save()
    repaired(sold, far_shop, kind="speed_limiter")
    drain()
    assert Alert.objects.get().regulator == chain.world.city_regulator.organization


def test_webhook_rows_for_departments_with_a_url(chain, sold, fire, shop):
    fire.organization.alert_subscriptions.update(webhook_url="http://127.0.0.1:9/hook", secret="s3cret")
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.subscription.organization == fire.organization


def test_repairs_claiming_a_battery_fitted_elsewhere_or_recycled_raise_their_rules(chain, settings, tmp_path):
    """Through the real repairs API: each flagged battery becomes its own alert, by serial."""
    from tests.repairs.conftest import Workshop, repair_shop

    settings.MEDIA_ROOT = tmp_path
    workshop = Workshop(chain=chain, shop=repair_shop("371402"), other_shop=repair_shop("371403"))
    bike, _ = workshop.bike()
    _other_bike, (elsewhere,) = workshop.bike()
    recycled = workshop.spare_battery(status="recycled")
    response = api_client(workshop.shop).post(
        "/api/v1/repairs/",
        {
            "frame_no": bike.frame_no,
            "vehicle_code": bike.code,  # the bike is at hand
            "kind": "battery_replacement",
            "fitted_battery_serials": [elsewhere.serial, recycled.serial],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    drain()
    found = sorted(Alert.objects.values_list("rule", "battery_serial"))
    assert found == sorted([("BATTERY_DUPLICATE", elsewhere.serial), ("BATTERY_RECYCLED_REAPPEARS", recycled.serial)])


def test_a_backdated_repair_keeps_its_date_but_its_deadlines_run_from_when_the_platform_learnt_of_it(sold, shop):
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from alerts.rules import CLOSURE_SLA, DISPATCH_SLA
    from vehicles.ledger import event_append
    from vehicles.models import EventType, Vehicle

    performed = timezone.now() - dt.timedelta(days=40)
    with transaction.atomic():
        event_append(
            vehicle=Vehicle.objects.select_for_update().get(pk=sold.pk),
            type=EventType.REPAIRED,
            occurred_at=performed,  # a repair of last month, uploaded today
            region_code=shop.organization.region_id,
            organization_id=shop.organization_id,
            payload={"repair": 9, "kind": "motor_replacement", "shop_qualified": True, "fitted_motor_power_w": 800},
        )
    before = timezone.now()
    drain()
    alert = Alert.objects.get(rule="MOD_MOTOR_POWER")
    assert alert.event_at == performed  # what happened when: shown as it was
    assert alert.due_at >= before + CLOSURE_SLA["high"] - dt.timedelta(seconds=5)  # not "overdue by a month"
    assert alert.dispatch_due_at >= before + DISPATCH_SLA - dt.timedelta(seconds=5)

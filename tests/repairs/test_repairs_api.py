"""POST /api/v1/repairs/: a shop uploads a repair; the battery swap and the `repaired` event go to the ledger."""

import datetime as dt

import pytest
from django.utils import timezone

from core.models import IdempotencyKey
from repairs.models import Repair
from tests.conftest import api_client
from tests.repairs.conftest import repair_shop
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Fitment, LifecycleEvent, OutboxMessage, Vehicle

URL = "/api/v1/repairs/"


def _post(user, body, **extra):
    return api_client(user).post(URL, body, format="json", **extra)


def _body(vehicle, **overrides):
    body = {
        "frame_no": vehicle.frame_no,
        "vehicle_code": vehicle.code,  # the bike is at hand: its QR code (tests/repairs/test_proof.py)
        "kind": "brake_tyre",
        "removed_battery_serials": [],
        "fitted_battery_serials": [],
        "fitted_motor_power_w": None,
        "measured_max_speed_kmh": None,
        "notes": "",
    }
    body.update(overrides)
    return body


def _types(vehicle):
    return list(vehicle.events.order_by("seq").values_list("type", flat=True))


def _chain_valid(vehicle) -> bool:
    vehicle.refresh_from_db()
    return chain_verify(vehicle).valid


def _repaired(vehicle) -> LifecycleEvent:
    return vehicle.events.filter(type="repaired").order_by("-seq").first()


# --- the happy path, kind by kind ---------------------------------------------------------------------------------


def test_battery_replacement_swaps_the_battery_and_writes_the_ledger_in_order(workshop):
    shop = workshop.shop
    vehicle, [old] = workshop.bike()
    new = workshop.spare_battery()
    performed_at = timezone.now() - dt.timedelta(hours=2)
    before = _types(vehicle)

    response = _post(
        shop,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[old.serial.lower()],  # typed in lower case: codes are upper case
            fitted_battery_serials=[new.serial],
            notes="  原电池鼓包  ",
            performed_at=performed_at.isoformat(),
        ),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["flags"] == [] and body["shop_qualified"] is True
    repair = Repair.objects.get(pk=body["id"])
    assert (repair.shop, repair.vehicle, repair.kind, repair.created_by) == (
        shop.organization,
        vehicle,
        "battery_replacement",
        shop,
    )
    assert repair.removed_battery_serials == [old.serial] and repair.fitted_battery_serials == [new.serial]
    assert repair.notes == "原电池鼓包" and repair.performed_at == performed_at

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.holder, old.vehicle) == ("removed", shop.organization, None)  # 回收首站
    assert (new.status, new.holder, new.vehicle) == ("fitted", None, vehicle)
    assert Fitment.objects.get(battery=old).removed_at == performed_at
    fitment = Fitment.objects.get(battery=new)
    assert (fitment.vehicle, fitment.removed_at, fitment.fitted_by) == (vehicle, None, shop.organization)
    assert list(vehicle.batteries.all()) == [new]

    assert _types(vehicle) == [*before, "battery_removed", "battery_fitted", "repaired"]
    removed, fitted, repaired = vehicle.events.order_by("-seq")[:3][::-1]
    assert (removed.battery, removed.organization_id, removed.payload) == (
        old,
        shop.organization_id,
        {"repair": repair.pk},
    )
    assert removed.occurred_at == performed_at and removed.region_code == "371402"
    assert fitted.battery == new and fitted.organization_id == shop.organization_id
    assert repaired.battery is None and repaired.organization_id == shop.organization_id
    assert repaired.region_code == shop.organization.region_id and repaired.occurred_at == performed_at
    assert repaired.payload == {
        "repair": repair.pk,
        "kind": "battery_replacement",
        "shop": shop.organization_id,
        "shop_qualified": True,
        "fitted_motor_power_w": None,
        "measured_max_speed_kmh": None,
        "removed_battery_serials": [old.serial],
        "fitted_battery_serials": [new.serial],
        "flags": [],
        "battery_flags": {},
    }
    assert OutboxMessage.objects.filter(event_id=repaired.pk, payload__type="repaired").exists()
    assert _chain_valid(vehicle)


@pytest.mark.parametrize(
    ("kind", "extra", "power", "speed"),
    [
        ("motor_replacement", {"fitted_motor_power_w": 800}, 800, None),
        ("controller_replacement", {"measured_max_speed_kmh": 42}, None, "42.0"),
        ("speed_limiter", {"measured_max_speed_kmh": "32.5"}, None, "32.5"),
        ("brake_tyre", {}, None, None),
        ("other", {"notes": "加装车篷", "measured_max_speed_kmh": 24.9}, None, "24.9"),
    ],
)
def test_each_kind_of_repair_is_recorded_with_one_repaired_event(workshop, kind, extra, power, speed):
    vehicle, [battery] = workshop.bike()
    before = _types(vehicle)

    response = _post(workshop.shop, _body(vehicle, kind=kind, **extra))

    assert response.status_code == 201, response.json()
    assert response.json()["measured_max_speed_kmh"] == speed
    repair = Repair.objects.get()
    assert (repair.kind, repair.fitted_motor_power_w) == (kind, power)
    assert _types(vehicle) == [*before, "repaired"]
    payload = _repaired(vehicle).payload
    assert payload["kind"] == kind and payload["repair"] == repair.pk
    assert payload["fitted_motor_power_w"] == power and payload["measured_max_speed_kmh"] == speed
    battery.refresh_from_db()
    assert battery.status == "fitted" and battery.vehicle == vehicle  # untouched
    assert _chain_valid(vehicle)


def test_a_cancelled_registration_may_still_be_repaired(workshop):
    vehicle, _ = workshop.bike()
    Vehicle.objects.filter(pk=vehicle.pk).update(status=Vehicle.Status.CANCELLED)
    assert _post(workshop.shop, _body(vehicle)).status_code == 201


def test_a_battery_taken_out_and_put_back_is_removed_then_fitted_again(workshop):
    vehicle, [battery] = workshop.bike()
    response = _post(
        workshop.shop,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[battery.serial],
            fitted_battery_serials=[battery.serial],
        ),
    )
    assert response.status_code == 201 and response.json()["flags"] == []
    battery.refresh_from_db()
    assert battery.status == "fitted" and battery.vehicle == vehicle
    assert Fitment.objects.filter(battery=battery, removed_at__isnull=True).count() == 1
    assert _types(vehicle)[-3:] == ["battery_removed", "battery_fitted", "repaired"]
    assert _chain_valid(vehicle)


def test_a_fitted_battery_already_in_this_bike_changes_nothing(workshop):
    vehicle, [battery] = workshop.bike()
    before = _types(vehicle)
    response = _post(workshop.shop, _body(vehicle, kind="other", fitted_battery_serials=[battery.serial]))
    assert response.status_code == 201 and response.json()["flags"] == []
    assert _types(vehicle) == [*before, "repaired"]


# --- the shop's qualification -------------------------------------------------------------------------------------


def test_an_unqualified_shops_repair_is_stored_and_flagged_not_dropped(workshop):
    unqualified = repair_shop("371482", name="禹城市无证维修点", qualification_no="")
    vehicle, [old] = workshop.bike()
    new = workshop.spare_battery()

    response = _post(
        unqualified,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[old.serial],
            fitted_battery_serials=[new.serial],
        ),
    )

    assert response.status_code == 201
    assert response.json()["flags"] == ["shop_unqualified"] and response.json()["shop_qualified"] is False
    repair = Repair.objects.get()
    assert repair.shop_qualified is False and repair.flags == ["shop_unqualified"]
    event = _repaired(vehicle)
    assert event.payload["shop_qualified"] is False and event.payload["flags"] == ["shop_unqualified"]
    assert event.region_code == "371482" and event.organization_id == unqualified.organization_id
    old.refresh_from_db()
    assert old.holder == unqualified.organization  # the swap is recorded all the same


def test_qualification_is_judged_on_the_repair_day(workshop):
    shop = workshop.shop
    org = shop.organization
    org.qualification_valid_until = timezone.localdate() - dt.timedelta(days=10)
    org.save()
    vehicle, _ = workshop.bike()

    late = _post(shop, _body(vehicle))
    in_time = _post(shop, _body(vehicle, performed_at=(timezone.now() - dt.timedelta(days=11)).isoformat()))

    assert late.json()["flags"] == ["shop_unqualified"] and late.json()["shop_qualified"] is False
    assert in_time.json()["flags"] == [] and in_time.json()["shop_qualified"] is True


# --- flags --------------------------------------------------------------------------------------------------------


def test_removing_a_battery_not_fitted_in_this_bike_is_flagged_and_changes_nothing(workshop):
    vehicle, [own] = workshop.bike()
    other_vehicle, [others] = workshop.bike()
    stray = workshop.spare_battery()
    before = _types(vehicle)

    response = _post(
        workshop.shop,
        _body(vehicle, kind="other", removed_battery_serials=[others.serial, stray.serial, "NOSUCHPACK01"]),
    )

    assert response.status_code == 201
    assert response.json()["flags"] == ["battery_not_fitted_here"]
    assert response.json()["flag_serials"] == {"battery_not_fitted_here": [others.serial, stray.serial, "NOSUCHPACK01"]}
    others.refresh_from_db()
    stray.refresh_from_db()
    own.refresh_from_db()
    assert (others.status, others.vehicle) == ("fitted", other_vehicle)
    assert (stray.status, stray.vehicle) == ("produced", None)
    assert own.vehicle == vehicle
    assert _types(vehicle) == [*before, "repaired"]
    assert _repaired(vehicle).payload["removed_battery_serials"] == [others.serial, stray.serial, "NOSUCHPACK01"]


def test_fitting_a_battery_that_sits_in_another_bike_is_flagged_and_not_fitted(workshop):
    vehicle, [old] = workshop.bike()
    other_vehicle, [others] = workshop.bike()
    other_before = _types(other_vehicle)

    response = _post(
        workshop.shop,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[old.serial],
            fitted_battery_serials=[others.serial],
        ),
    )

    assert response.status_code == 201
    assert response.json()["flags"] == ["battery_fitted_elsewhere"]
    others.refresh_from_db()
    assert others.vehicle == other_vehicle and Fitment.objects.filter(
        battery=others, removed_at=None
    ).get().vehicle == (other_vehicle)
    assert _types(other_vehicle) == other_before
    assert _types(vehicle)[-2:] == ["battery_removed", "repaired"]
    assert _repaired(vehicle).payload["flags"] == ["battery_fitted_elsewhere"]
    assert _repaired(vehicle).payload["fitted_battery_serials"] == [others.serial]


def test_a_recycled_battery_is_fitted_all_the_same_and_flagged(workshop):
    vehicle, [old] = workshop.bike()
    recycled = workshop.spare_battery(status=Battery.Status.RECYCLED)

    response = _post(
        workshop.shop,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[old.serial],
            fitted_battery_serials=[recycled.serial],
        ),
    )

    assert response.status_code == 201
    assert response.json()["flags"] == ["battery_recycled"]
    recycled.refresh_from_db()
    assert (recycled.status, recycled.vehicle) == ("fitted", vehicle)
    assert _types(vehicle)[-3:] == ["battery_removed", "battery_fitted", "repaired"]
    assert _chain_valid(vehicle)


def test_an_unknown_fitted_battery_is_flagged_and_named_in_the_event(workshop):
    vehicle, [old] = workshop.bike()

    response = _post(
        workshop.shop,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=[old.serial],
            fitted_battery_serials=["NB60V32AH-0001"],
        ),
    )

    assert response.status_code == 201
    assert response.json()["flags"] == ["battery_unknown"]
    assert response.json()["flag_serials"] == {"battery_unknown": ["NB60V32AH-0001"]}
    assert not Fitment.objects.filter(vehicle=vehicle, removed_at=None).exists()
    payload = _repaired(vehicle).payload
    assert payload["fitted_battery_serials"] == ["NB60V32AH-0001"] and payload["flags"] == ["battery_unknown"]


def test_several_flags_come_in_a_stable_order(workshop):
    unqualified = repair_shop("371402", qualification_no="")
    vehicle, _ = workshop.bike()
    recycled = workshop.spare_battery(status=Battery.Status.RECYCLED)
    response = _post(
        unqualified,
        _body(
            vehicle,
            kind="battery_replacement",
            removed_battery_serials=["NOSUCHPACK01"],
            fitted_battery_serials=["NOSUCHPACK02", recycled.serial],
        ),
    )
    assert response.json()["flags"] == [
        "shop_unqualified",
        "battery_not_fitted_here",
        "battery_recycled",
        "battery_unknown",
    ]


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"kind": "tuning"}, "kind", "unknown_kind"),
        ({"kind": ""}, "kind", "unknown_kind"),
        (
            {"removed_battery_serials": [f"PACK000{i}" for i in range(5)]},
            "removed_battery_serials",
            "too_many_batteries",
        ),
        ({"fitted_battery_serials": ["PACK0001", "pack0001"]}, "fitted_battery_serials", "duplicate_battery"),
        ({"fitted_battery_serials": ["电池一号"]}, "fitted_battery_serials", "invalid_battery_serial"),
        ({"fitted_battery_serials": ["A" * 49]}, "fitted_battery_serials", "invalid_battery_serial"),
        ({"kind": "battery_replacement"}, "fitted_battery_serials", "battery_required"),
        ({"kind": "motor_replacement"}, "fitted_motor_power_w", "motor_power_required"),
        ({"fitted_motor_power_w": 10001}, "fitted_motor_power_w", "out_of_range"),
        ({"fitted_motor_power_w": -1}, "fitted_motor_power_w", "out_of_range"),
        ({"fitted_motor_power_w": 400.5}, "fitted_motor_power_w", "invalid"),
        ({"fitted_motor_power_w": "much"}, "fitted_motor_power_w", "invalid"),
        ({"measured_max_speed_kmh": 150.1}, "measured_max_speed_kmh", "out_of_range"),
        ({"measured_max_speed_kmh": -0.1}, "measured_max_speed_kmh", "out_of_range"),
        ({"measured_max_speed_kmh": "32.55"}, "measured_max_speed_kmh", "out_of_range"),
        ({"measured_max_speed_kmh": "fast"}, "measured_max_speed_kmh", "invalid"),
        ({"measured_max_speed_kmh": "NaN"}, "measured_max_speed_kmh", "invalid"),
        ({"notes": "长" * 2001}, "notes", "invalid"),
        ({"performed_at": "2099-01-01T10:00:00+08:00"}, "performed_at", "performed_in_future"),
        ({"performed_at": "yesterday"}, "performed_at", "invalid"),
        ({"frame_no": "140222699999999"}, "frame_no", "unknown_vehicle"),
        ({"frame_no": "not a frame"}, "frame_no", "unknown_vehicle"),
        ({"frame_no": ["1"]}, "frame_no", "invalid"),
        ({"removed_battery_serials": "PACK0001"}, "removed_battery_serials", "invalid"),
    ],
)
def test_invalid_repairs_are_400_and_nothing_is_written(workshop, overrides, field, code):
    vehicle, [battery] = workshop.bike()
    before = _types(vehicle)

    response = _post(workshop.shop, _body(vehicle, **overrides))

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"], error
    assert not Repair.objects.exists() and _types(vehicle) == before
    battery.refresh_from_db()
    assert battery.vehicle == vehicle


def test_a_bike_not_yet_sold_is_unknown_to_the_shop_with_the_same_words(workshop):
    """A shop learns only that no registered bike has this number, never whether it sits in some stock."""
    in_stock, _ = workshop.chain.in_stock(workshop.world.dealer)
    unknown = _post(workshop.shop, _body(in_stock, frame_no="140222699999999")).json()["error"]
    stock = _post(workshop.shop, _body(in_stock)).json()["error"]
    assert stock == unknown and stock["code"] == "unknown_vehicle"


def test_a_repair_before_the_registration_or_the_battery_fitting_is_400(workshop):
    registered_at = timezone.now() - dt.timedelta(days=5)
    vehicle, [battery] = workshop.bike(registered_at=registered_at)
    early = (registered_at - dt.timedelta(days=1)).isoformat()
    response = _post(workshop.shop, _body(vehicle, performed_at=early))
    assert response.status_code == 400 and response.json()["error"]["code"] == "performed_too_early"
    assert not Repair.objects.exists()

    new = workshop.spare_battery()
    swap = _body(
        vehicle,
        kind="battery_replacement",
        removed_battery_serials=[battery.serial],
        fitted_battery_serials=[new.serial],
        performed_at=(registered_at + dt.timedelta(days=2)).isoformat(),
    )
    assert _post(workshop.shop, swap).status_code == 201
    # Taking the new battery out again "before" it went in cannot be.
    back = _body(
        vehicle,
        kind="other",
        removed_battery_serials=[new.serial],
        performed_at=(registered_at + dt.timedelta(days=1)).isoformat(),
    )
    response = _post(workshop.shop, back)
    assert response.status_code == 400 and response.json()["error"]["fields"].keys() == {"performed_at"}
    assert Repair.objects.count() == 1


@pytest.mark.parametrize("body", [b"{", b"null", b"[]", b'"text"', b"12", b"{}", b'{"frame_no": null, "kind": 5}'])
def test_malformed_bodies_are_400(workshop, body):
    response = api_client(workshop.shop).post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "fields"}


# --- who may upload -----------------------------------------------------------------------------------------------


def test_only_repair_shops_may_upload(workshop):
    vehicle, _ = workshop.bike()
    world = workshop.world
    for outsider in (world.dealer, world.district_regulator, world.police, workshop.chain.maker):
        response = _post(outsider, _body(vehicle))
        assert response.status_code == 403, outsider
        assert response.json()["error"]["code"] == "permission_denied"
    assert api_client().post(URL, _body(vehicle), format="json").status_code == 401
    assert not Repair.objects.exists()


# --- idempotency --------------------------------------------------------------------------------------------------


def test_an_upload_is_idempotent(workshop):
    vehicle, [old] = workshop.bike()
    new = workshop.spare_battery()
    body = _body(
        vehicle, kind="battery_replacement", removed_battery_serials=[old.serial], fitted_battery_serials=[new.serial]
    )
    client = api_client(workshop.shop)
    events = vehicle.events.count()

    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="repair-1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="repair-1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
    assert Repair.objects.count() == 1 and vehicle.events.count() == events + 3
    other = client.post(URL, {**body, "notes": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="repair-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert Repair.objects.count() == 1


def test_a_refused_upload_keeps_no_key_so_the_corrected_retry_goes_through(workshop):
    vehicle, _ = workshop.bike()
    client = api_client(workshop.shop)
    bad = client.post(URL, _body(vehicle, kind="tuning"), format="json", HTTP_IDEMPOTENCY_KEY="repair-2")
    assert bad.status_code == 400 and not IdempotencyKey.objects.exists()
    good = client.post(URL, _body(vehicle), format="json", HTTP_IDEMPOTENCY_KEY="repair-2")
    assert good.status_code == 201

"""POST/GET /api/v1/recycling/: the first-station handover (回收首站), take-back and disposal, hazardous waste."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.models import Organization
from recycling.models import RecyclingRecord
from tests.chain import BUYER
from tests.conftest import api_client
from tests.recycling.conftest import CANCEL_REASON
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Fitment, LifecycleEvent, Registration, Vehicle
from vehicles.registration import registration_cancel

URL = "/api/v1/recycling/"


def _post(user, headers=None, **body):
    return api_client(user).post(URL, body, format="json", **(headers or {}))


def _dispose(rc, ref, disposal="dismantle", *, kind="battery", user=None, **extra):
    return _post(user or rc.recycler, kind=kind, ref=ref, disposal=disposal, **extra)


def _take_back(rc, vehicle, *, user=None, **extra):
    """A take-back of a bike shown to be at hand by its QR code."""
    return _dispose(rc, vehicle.frame_no, kind="vehicle", user=user, vehicle_code=vehicle.code, **extra)


_DEFAULT = object()


def _handover(rc, item, *, shop=None, to=_DEFAULT, kind="battery", **extra):
    """A handover of `item` by `shop` to `to` (a user, an organization id, or None)."""
    to = rc.recycler if to is _DEFAULT else to
    handed_to = to.organization_id if hasattr(to, "organization_id") else to
    ref = item.serial if kind == "battery" else item.frame_no
    return _post(shop or rc.shop, kind=kind, ref=ref, disposal="handover", handed_to=handed_to, **extra)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def _intact(head) -> bool:
    """The chain of a vehicle or battery verifies, read afresh from the database."""
    head.refresh_from_db()
    return chain_verify(head).valid


def _own_chain(battery):
    return list(LifecycleEvent.objects.filter(battery=battery, vehicle__isnull=True).order_by("seq"))


# --- the recycler disposes of a battery ---------------------------------------------------------------------


def test_a_recycler_dismantles_a_battery_and_it_is_recycled_on_its_own_chain(rc):
    battery = rc.removed_at(rc.recycler)

    response = _dispose(rc, battery.serial.lower(), "dismantle")

    assert response.status_code == 201, response.json()
    body = response.json()
    record = RecyclingRecord.objects.get()
    assert body["id"] == record.pk and body["status"] == "recycled"
    assert body["ref"] == battery.serial and body["code"] == battery.code and body["handed_to"] is None
    assert body["organization"]["id"] == rc.recycler.organization_id
    assert (record.kind, record.battery, record.vehicle, record.disposal) == ("battery", battery, None, "dismantle")
    assert record.created_by == rc.recycler
    battery.refresh_from_db()
    assert (battery.status, battery.holder_id) == ("recycled", rc.recycler.organization_id)
    last = _own_chain(battery)[-1]
    assert last.type == "recycled" and last.organization_id == rc.recycler.organization_id
    assert last.payload == {"record": record.pk, "disposal": "dismantle", "manifest_no": ""}
    assert _intact(battery)


def test_cascade_use_is_refused_and_the_pack_is_dismantled(rc):
    battery = rc.removed_at(rc.recycler)
    response = _dispose(rc, battery.serial, "cascade_refused")
    assert response.status_code == 201 and response.json()["status"] == "recycled"
    battery.refresh_from_db()
    assert battery.status == "recycled"
    assert _own_chain(battery)[-1].payload["disposal"] == "cascade_refused"


def test_a_recycler_may_take_back_a_battery_from_anyone_not_fitted(rc):
    at_maker = rc.chain.battery()
    in_stock = rc.chain.battery(holder=rc.world.dealer.organization, status=Battery.Status.IN_STOCK)
    at_shop = rc.removed_at(rc.shop)
    for battery in (at_maker, in_stock, at_shop):
        assert _dispose(rc, battery.serial).status_code == 201
        battery.refresh_from_db()
        assert (battery.status, battery.holder_id) == ("recycled", rc.recycler.organization_id)
        assert _intact(battery)


def test_a_battery_already_recycled_is_409_already_recycled(rc):
    battery = rc.removed_at(rc.recycler)
    assert _dispose(rc, battery.serial).status_code == 201
    error = _error(_dispose(rc, battery.serial, "cascade_refused"), 409, "already_recycled")
    assert "ref" in error["fields"]
    _error(_dispose(rc, battery.serial, user=rc.other_recycler), 409, "already_recycled")
    _error(_handover(rc, battery), 409, "already_recycled")
    assert RecyclingRecord.objects.count() == 1
    assert [e.type for e in _own_chain(battery)] == ["produced", "recycled"]


def test_a_battery_fitted_in_a_bike_is_409_battery_fitted(rc):
    vehicle, battery = rc.sold_bike()
    error = _error(_dispose(rc, battery.serial), 409, "battery_fitted")
    assert "ref" in error["fields"]
    _error(_handover(rc, battery), 409, "battery_fitted")
    battery.refresh_from_db()
    assert (battery.status, battery.vehicle_id) == ("fitted", vehicle.pk)
    assert not RecyclingRecord.objects.exists()


# --- lead-acid batteries are hazardous waste ----------------------------------------------------------------


@pytest.mark.parametrize("disposal", ["dismantle", "cascade_refused"])
def test_lead_acid_disposed_of_other_than_by_hazardous_transfer_is_422_manifest_required(rc, disposal):
    battery = rc.removed_at(rc.recycler, lead_acid=True)
    error = _error(_dispose(rc, battery.serial, disposal, manifest_no="2026371400000123"), 422, "manifest_required")
    assert "disposal" in error["fields"]
    battery.refresh_from_db()
    assert battery.status == "removed" and not RecyclingRecord.objects.exists()
    assert [e.type for e in _own_chain(battery)] == ["produced"]


@pytest.mark.parametrize("manifest_no", [None, "", "   "])
def test_a_hazardous_transfer_without_manifest_is_422_manifest_required(rc, manifest_no):
    lead_acid = rc.removed_at(rc.recycler, lead_acid=True)
    lithium = rc.removed_at(rc.recycler)
    extra = {} if manifest_no is None else {"manifest_no": manifest_no}
    for battery in (lead_acid, lithium):
        error = _error(_dispose(rc, battery.serial, "hazardous_transfer", **extra), 422, "manifest_required")
        assert "manifest_no" in error["fields"]
    assert not RecyclingRecord.objects.exists()


def test_lead_acid_is_transferred_as_hazardous_waste_with_its_manifest(rc):
    battery = rc.removed_at(rc.recycler, lead_acid=True)
    response = _dispose(rc, battery.serial, "hazardous_transfer", manifest_no=" 2026-3714-000123 ")
    assert response.status_code == 201, response.json()
    assert response.json()["manifest_no"] == "2026-3714-000123"
    record = RecyclingRecord.objects.get()
    assert record.manifest_no == "2026-3714-000123"
    battery.refresh_from_db()
    assert battery.status == "recycled"
    assert _own_chain(battery)[-1].payload == {
        "record": record.pk,
        "disposal": "hazardous_transfer",
        "manifest_no": "2026-3714-000123",
    }
    assert _intact(battery)


def test_a_shop_hands_over_a_lead_acid_battery_without_a_manifest_the_recycler_transfers_it_with_one(rc):
    battery = rc.removed_at(rc.shop, lead_acid=True)
    assert _handover(rc, battery).status_code == 201  # a handover is not a disposal
    assert _dispose(rc, battery.serial, "dismantle").status_code == 422
    assert _dispose(rc, battery.serial, "hazardous_transfer", manifest_no="HW2026001").status_code == 201
    assert _intact(battery)


# --- the repair shop's first-station handover (回收首站) -----------------------------------------------------


def test_a_shop_hands_a_battery_it_holds_to_a_recycler(rc):
    battery = rc.removed_at(rc.shop)

    response = _handover(rc, battery, to=rc.lc_recycler)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "removed" and body["disposal"] == "handover"
    assert body["handed_to"] == {
        "id": rc.lc_recycler.organization_id,
        "name": "陵城区再生资源回收站",
        "kind": "recycler",
        "region_code": "371403",
    }
    record = RecyclingRecord.objects.get()
    assert (record.organization_id, record.handed_to_id) == (rc.shop.organization_id, rc.lc_recycler.organization_id)
    battery.refresh_from_db()
    assert (battery.status, battery.holder_id, battery.region_id) == (
        "removed",
        rc.lc_recycler.organization_id,
        "371403",
    )
    last = _own_chain(battery)[-1]
    assert last.type == "handed_over" and last.organization_id == rc.shop.organization_id
    assert last.payload == {
        "record": record.pk,
        "disposal": "handover",
        "manifest_no": "",
        "handed_to": rc.lc_recycler.organization_id,
    }
    assert _intact(battery)

    # The receiving recycler then disposes of it; the shop no longer holds it.
    assert _dispose(rc, battery.serial, user=rc.lc_recycler).status_code == 201
    _error(_handover(rc, battery), 409, "already_recycled")
    battery.refresh_from_db()
    assert battery.status == "recycled"
    assert [e.type for e in _own_chain(battery)] == ["produced", "handed_over", "recycled"]
    assert _intact(battery)


def test_a_shop_handing_over_a_battery_it_does_not_hold_is_409_not_held(rc):
    elsewhere = [
        rc.removed_at(rc.other_shop),
        rc.removed_at(rc.recycler),
        rc.chain.battery(),  # at the maker
        rc.chain.battery(holder=rc.world.dealer.organization, status=Battery.Status.IN_STOCK),
        rc.chain.battery(holder=rc.shop.organization, status=Battery.Status.IN_STOCK),  # held, but not removed
    ]
    for battery in elsewhere:
        error = _error(_handover(rc, battery), 409, "not_held")
        assert "ref" in error["fields"]
        # The refusal names no holder.
        for org in Organization.objects.exclude(pk=rc.shop.organization_id):
            assert org.name not in error["message"]
    handed = rc.removed_at(rc.shop)
    assert _handover(rc, handed).status_code == 201
    _error(_handover(rc, handed), 409, "not_held")  # it is the recycler's now
    assert RecyclingRecord.objects.count() == 1


def test_a_handover_names_an_active_recycler(rc):
    battery = rc.removed_at(rc.shop)
    error = _error(_post(rc.shop, kind="battery", ref=battery.serial, disposal="handover"), 400, "invalid")
    assert "handed_to" in error["fields"]
    error = _error(_handover(rc, battery, to=None), 400, "invalid")
    assert "handed_to" in error["fields"]
    for not_a_recycler in (rc.world.dealer, rc.other_shop, rc.world.city_regulator):
        _error(_handover(rc, battery, to=not_a_recycler), 400, "unknown_recycler")
    suspended = rc.lc_recycler.organization
    suspended.status = Organization.Status.SUSPENDED
    suspended.save()
    _error(_handover(rc, battery, to=rc.lc_recycler), 400, "unknown_recycler")
    error = _error(_handover(rc, battery, to=987654321), 400, "unknown_recycler")
    assert "handed_to" in error["fields"]
    battery.refresh_from_db()
    assert battery.holder_id == rc.shop.organization_id and not RecyclingRecord.objects.exists()


def test_a_shop_records_only_handovers_and_a_recycler_never_does(rc):
    battery = rc.removed_at(rc.shop)
    for disposal in ("dismantle", "hazardous_transfer", "cascade_refused"):
        response = _dispose(rc, battery.serial, disposal, user=rc.shop, manifest_no="X1")
        error = _error(response, 403, "disposal_not_allowed")
        assert "disposal" in error["fields"]
    held = rc.removed_at(rc.recycler)
    _error(_handover(rc, held, shop=rc.recycler, to=rc.lc_recycler), 403, "disposal_not_allowed")
    assert not RecyclingRecord.objects.exists()


def test_a_bike_is_only_dismantled(rc):
    vehicle, _ = rc.cancelled_bike()
    for disposal in ("hazardous_transfer", "cascade_refused"):
        response = _take_back(rc, vehicle, disposal=disposal, manifest_no="X1")
        error = _error(response, 400, "invalid_disposal")
        assert "disposal" in error["fields"]
    _error(_handover(rc, vehicle, kind="vehicle"), 400, "invalid_disposal")
    vehicle.refresh_from_db()
    assert vehicle.status == "cancelled"


def test_only_a_handover_names_a_receiver(rc):
    battery = rc.removed_at(rc.recycler)
    error = _error(_dispose(rc, battery.serial, handed_to=rc.lc_recycler.organization_id), 400, "invalid")
    assert "handed_to" in error["fields"]
    assert _dispose(rc, battery.serial, handed_to=None).status_code == 201


# --- a bike taken back ---------------------------------------------------------------------------------------


def test_a_cancelled_bike_taken_back_keeps_its_cancellation_and_releases_its_batteries(rc):
    vehicle, battery = rc.cancelled_bike()
    registration = Registration.objects.get(vehicle=vehicle)
    cancelled_at = registration.ended_at

    response = _take_back(rc, vehicle)

    assert response.status_code == 201, response.json()
    body = response.json()
    record = RecyclingRecord.objects.get()
    assert body["status"] == "recycled" and body["batteries_released"] == [battery.serial]
    assert body["code"] == vehicle.code
    vehicle.refresh_from_db()
    assert (vehicle.status, vehicle.holder_id, vehicle.region_id) == ("recycled", rc.recycler.organization_id, "371402")
    registration.refresh_from_db()
    assert (registration.status, registration.end_reason) == ("cancelled", CANCEL_REASON)
    assert registration.ended_at == cancelled_at  # the owner's cancellation, as recorded
    fitment = Fitment.objects.get(vehicle=vehicle, battery=battery)
    assert fitment.removed_at is not None and fitment.removed_at >= fitment.fitted_at
    battery.refresh_from_db()
    assert (battery.status, battery.holder_id, battery.vehicle_id) == ("removed", rc.recycler.organization_id, None)

    events = list(vehicle.events.order_by("seq"))
    assert [e.type for e in events] == [
        "produced",
        "sold",
        "battery_fitted",
        "registered",
        "registration_cancelled",
        "battery_removed",
        "recycled",
    ]
    assert events[4].payload == {"registration": registration.pk, "reason": CANCEL_REASON}
    assert events[4].organization_id == rc.world.police.organization_id
    assert events[5].battery_id == battery.pk and events[5].payload["record"] == record.pk
    assert events[6].payload == {
        "record": record.pk,
        "disposal": "dismantle",
        "manifest_no": "",
        "batteries": [battery.serial],
    }
    assert _intact(vehicle) and _intact(battery)

    # The released battery is the recycler's to dispose of, on its own chain.
    assert _dispose(rc, battery.serial, "cascade_refused").status_code == 201
    battery.refresh_from_db()
    assert battery.status == "recycled"
    assert _intact(battery) and _intact(vehicle)


def test_a_bike_never_sold_is_taken_back_without_a_registration_to_end(rc):
    vehicle, _ = rc.chain.in_stock(rc.world.dealer)
    response = _take_back(rc, vehicle)
    assert response.status_code == 201 and response.json()["batteries_released"] == []
    vehicle.refresh_from_db()
    assert vehicle.status == "recycled"
    assert [e.type for e in vehicle.events.order_by("seq")] == ["produced", "recycled"]
    assert _intact(vehicle)


def test_a_bike_already_recycled_is_409_already_recycled(rc):
    vehicle, _ = rc.cancelled_bike()
    assert _take_back(rc, vehicle).status_code == 201
    _error(_take_back(rc, vehicle), 409, "already_recycled")
    _error(_take_back(rc, vehicle, user=rc.other_recycler), 409, "already_recycled")
    assert RecyclingRecord.objects.count() == 1 and vehicle.events.filter(type="recycled").count() == 1


def test_a_lead_acid_battery_released_from_a_bike_must_go_as_hazardous_waste(rc):
    dealer = rc.world.dealer
    vehicle = rc.chain.vehicle(holder=dealer.organization, status=Vehicle.Status.IN_STOCK)
    battery = rc.chain.battery(model=rc.lead_acid_model, holder=dealer.organization, status="in_stock")
    from dealers.services import sale_register
    from vehicles.registration import BuyerData

    sale_register(
        user=dealer,
        frame_no=vehicle.frame_no,
        battery_serials=[battery.serial],
        buyer=BuyerData.clean(dict(BUYER)),
        sold_at=timezone.now(),
    )
    registration_cancel(
        user=rc.world.police, frame_no=vehicle.frame_no, reason=CANCEL_REASON, cancelled_at=timezone.now()
    )
    assert _take_back(rc, vehicle).status_code == 201  # the frame is not hazardous
    _error(_dispose(rc, battery.serial, "dismantle"), 422, "manifest_required")
    assert _dispose(rc, battery.serial, "hazardous_transfer", manifest_no="20263714000001").status_code == 201


# --- unknown items and malformed requests ----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "ref"), [("battery", "NOSUCHBATTERY01"), ("vehicle", "140222600009999")])
def test_an_unknown_item_is_400_unknown_item(rc, kind, ref):
    error = _error(_dispose(rc, ref, kind=kind), 400, "unknown_item")
    assert list(error["fields"]) == ["ref"]


def test_a_frame_number_is_not_a_battery_code(rc):
    vehicle, battery = rc.sold_bike()
    before = [(vehicle.status, vehicle.holder_id), (battery.status, battery.holder_id)]
    assert list(_error(_dispose(rc, vehicle.frame_no, kind="battery"), 400, "unknown_item")["fields"]) == ["ref"]
    assert list(_error(_dispose(rc, battery.serial, kind="vehicle"), 400, "unknown_item")["fields"]) == ["ref"]
    assert not RecyclingRecord.objects.exists()
    for thing in (vehicle, battery):
        thing.refresh_from_db()
    assert [(vehicle.status, vehicle.holder_id), (battery.status, battery.holder_id)] == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": "bike", "ref": "X", "disposal": "dismantle"},
        {"kind": "battery", "ref": "X", "disposal": "burn"},
        {"kind": "battery", "ref": "", "disposal": "dismantle"},
        {"kind": "battery", "ref": "   ", "disposal": "dismantle"},
        {"kind": "battery", "ref": ["X"], "disposal": "dismantle"},
        {"kind": "battery", "ref": "X" * 65, "disposal": "dismantle"},
        {"kind": "battery", "ref": "X", "disposal": "dismantle", "manifest_no": "联单 12"},
        {"kind": "battery", "ref": "X", "disposal": "dismantle", "manifest_no": "9" * 41},
        {"kind": "battery", "ref": "X", "disposal": "dismantle", "manifest_no": {"no": 1}},
        {"kind": "battery", "ref": "X", "disposal": "handover", "handed_to": "abc"},
        {"kind": "battery", "ref": "X", "disposal": "handover", "handed_to": 2**64},
        {"kind": "battery", "ref": "X", "disposal": "handover", "handed_to": -1},
        {"kind": "battery", "ref": "X", "disposal": "handover", "handed_to": True},
        {"kind": None, "ref": None, "disposal": None},
    ],
)
def test_malformed_requests_are_400(rc, body):
    for user in (rc.recycler, rc.shop):
        response = api_client(user).post(URL, body, format="json")
        assert response.status_code == 400, (user, response.json())
        assert response.json()["error"]["fields"]
    assert not RecyclingRecord.objects.exists()


@pytest.mark.parametrize(
    "ref", ["\u0000", "AB\u0000CD", "\ud800", "X\udfff", "\t\n", "电池一号", "' OR 1=1 --", "A" * 64]
)
def test_hostile_codes_are_400_unknown_item_never_500(rc, ref):
    client = api_client(rc.recycler)

    def post(**body):
        # json.dumps escapes lone surrogates as \\udXXX, as a hostile client would send them
        return client.post(URL, json.dumps(body), content_type="application/json")

    for kind in ("battery", "vehicle"):
        response = post(kind=kind, ref=ref, disposal="dismantle")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] in {"unknown_item", "invalid"}
    for manifest_no in ("\u0000", "\ud800", "联单号"):
        response = post(kind="battery", ref="X1", disposal="hazardous_transfer", manifest_no=manifest_no)
        assert response.status_code == 400, response.content
    assert not RecyclingRecord.objects.exists()


def test_a_body_that_is_not_json_is_400(rc):
    response = api_client(rc.recycler).post(URL, "kind=battery", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"
    response = api_client(rc.recycler).post(URL, ["x"], format="json")
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert not RecyclingRecord.objects.exists()


# --- idempotency -----------------------------------------------------------------------------------------------


def test_a_record_is_idempotent(rc):
    battery = rc.removed_at(rc.shop)
    client = api_client(rc.shop)
    body = {"kind": "battery", "ref": battery.serial, "disposal": "handover", "handed_to": rc.recycler.organization_id}
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="handover-1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="handover-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert RecyclingRecord.objects.count() == 1 and len(_own_chain(battery)) == 2

    other = {**body, "manifest_no": "X1"}
    _error(client.post(URL, other, format="json", HTTP_IDEMPOTENCY_KEY="handover-1"), 409, "idempotency_key_reused")
    assert RecyclingRecord.objects.count() == 1


def test_a_refused_record_keeps_no_key_so_the_corrected_retry_goes_through(rc):
    battery = rc.removed_at(rc.recycler, lead_acid=True)
    client = api_client(rc.recycler)
    body = {"kind": "battery", "ref": battery.serial, "disposal": "hazardous_transfer"}
    assert client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    fixed = {**body, "manifest_no": "20263714000002"}
    assert client.post(URL, fixed, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_concurrent_disposals_of_one_battery_record_it_once(transactional_db, rc):
    battery = rc.removed_at(rc.recycler)
    results = []

    def dispose(user):
        try:
            response = _dispose(rc, battery.serial, user=user)
            results.append((response.status_code, response.json().get("error", {}).get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=dispose, args=(u,)) for u in (rc.recycler, rc.lc_recycler) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=lambda r: r[0]) == [(201, None)] + [(409, "already_recycled")] * 3
    assert RecyclingRecord.objects.filter(battery=battery).count() == 1
    assert [e.type for e in _own_chain(battery)] == ["produced", "recycled"]
    assert _intact(battery)


# --- who may record, who may see -------------------------------------------------------------------------------


def test_only_recyclers_and_repair_shops_record(rc):
    battery = rc.removed_at(rc.recycler)
    world = rc.world
    for outsider in (world.dealer, world.district_regulator, world.police, rc.chain.maker, rc.environment):
        _error(_dispose(rc, battery.serial, user=outsider), 403, "permission_denied")
    _error(api_client().post(URL, {"kind": "battery"}, format="json"), 401, "not_authenticated")
    suspended = rc.recycler.organization
    suspended.status = Organization.Status.SUSPENDED
    suspended.save()
    _error(_dispose(rc, battery.serial), 401, "organization_suspended")
    battery.refresh_from_db()
    assert battery.status == "removed" and not RecyclingRecord.objects.exists()


def _ids(user, **params) -> list[int]:
    response = api_client(user).get(URL, params)
    assert response.status_code == 200, response.json()
    return [r["id"] for r in response.json()["results"]]


def test_records_are_seen_by_the_parties_and_the_regulators_of_their_jurisdiction(rc):
    world = rc.world
    battery = rc.removed_at(rc.shop)
    _handover(rc, battery, to=rc.lc_recycler)
    handover = RecyclingRecord.objects.get()
    vehicle, _ = rc.cancelled_bike()
    _take_back(rc, vehicle)
    take_back = RecyclingRecord.objects.exclude(pk=handover.pk).get()

    assert _ids(rc.recycler) == [take_back.pk]
    assert _ids(rc.shop) == [handover.pk]
    assert _ids(rc.lc_recycler) == [handover.pk]  # it received the battery
    assert _ids(world.district_regulator) == [take_back.pk, handover.pk]  # 德城区: both recorded there
    assert _ids(world.city_regulator) == [take_back.pk, handover.pk]
    assert _ids(world.other_district_regulator) == [handover.pk]  # 陵城区: the receiving recycler is there
    assert _ids(rc.environment) == [take_back.pk, handover.pk]  # hazardous waste is its concern
    assert _ids(world.superuser) == [take_back.pk, handover.pk]
    for outsider in (rc.other_recycler, rc.other_shop, world.other_city_regulator, world.dealer, world.police):
        assert _ids(outsider) == []
    assert api_client().get(URL).status_code == 401


def test_a_record_outside_ones_scope_is_404(rc):
    world = rc.world
    battery = rc.removed_at(rc.recycler)
    record_id = _dispose(rc, battery.serial).json()["id"]
    url = f"{URL}{record_id}/"
    for insider in (rc.recycler, world.district_regulator, world.city_regulator, rc.environment):
        response = api_client(insider).get(url)
        assert response.status_code == 200 and response.json()["id"] == record_id
    outsiders = (rc.other_recycler, rc.shop, world.other_district_regulator, world.other_city_regulator, world.dealer)
    for outsider in outsiders:
        _error(api_client(outsider).get(url), 404, "not_found")
    _error(api_client().get(url), 401, "not_authenticated")
    _error(api_client(rc.recycler).get(f"{URL}{2**70}/"), 404, "not_found")
    assert api_client(rc.recycler).get(f"{URL}abc/").status_code == 404


def test_the_list_filters(rc):
    lead_acid = rc.removed_at(rc.recycler, lead_acid=True)
    lithium = rc.removed_at(rc.recycler)
    vehicle, _ = rc.chain.in_stock(rc.world.dealer)
    hazardous = _dispose(rc, lead_acid.serial, "hazardous_transfer", manifest_no="HW-1").json()["id"]
    dismantled = _dispose(rc, lithium.serial).json()["id"]
    bike = _take_back(rc, vehicle).json()["id"]

    assert _ids(rc.recycler, kind="vehicle") == [bike]
    assert _ids(rc.recycler, kind="battery") == [dismantled, hazardous]
    assert _ids(rc.recycler, disposal="hazardous_transfer") == [hazardous]
    assert _ids(rc.recycler, manifest_no="hw-1") == [hazardous]
    assert _ids(rc.recycler, ref=lithium.serial.lower()) == [dismantled]
    assert _ids(rc.recycler, organization=rc.recycler.organization_id) == [bike, dismantled, hazardous]
    assert _ids(rc.recycler, handed_to=rc.recycler.organization_id) == []
    assert _ids(rc.recycler, recorded_after="2000-01-01T00:00:00+08:00") == [bike, dismantled, hazardous]
    assert _ids(rc.recycler, recorded_before="2000-01-01T00:00:00+08:00") == []
    response = api_client(rc.recycler).get(URL, {"page_size": 2})
    assert response.json()["count"] == 3 and len(response.json()["results"]) == 2 and response.json()["next"]
    for bad in ({"kind": "bike"}, {"recorded_after": "yesterday"}, {"organization": "x"}, {"handed_to": 2**70}):
        assert api_client(rc.recycler).get(URL, bad).status_code == 400, bad


# --- what the rest of the platform shows -----------------------------------------------------------------------


def test_the_public_record_of_a_recycled_bike_shows_it_recycled_with_issues(rc):
    vehicle, battery = rc.sold_bike()
    before = api_client().get(f"/api/v1/public/vehicles/{vehicle.code}/").json()
    assert before["status"] == "registered" and before["compliance"]["verdict"] == "compliant"
    from django.core.cache import cache

    registration_cancel(
        user=rc.world.police, frame_no=vehicle.frame_no, reason=CANCEL_REASON, cancelled_at=timezone.now()
    )
    cache.clear()  # the public record is cached for a minute
    _take_back(rc, vehicle)

    record = api_client().get(f"/api/v1/public/vehicles/{vehicle.code}/").json()
    assert record["status"] == "recycled"
    assert record["compliance"]["verdict"] == "issues" and "recycled" in record["compliance"]["reasons"]
    assert record["batteries"] == []
    assert [e["type"] for e in record["events"]][-1] == "recycled"

    _dispose(rc, battery.serial)
    cache.clear()
    pack = api_client().get(f"/api/v1/public/vehicles/{battery.code}/").json()
    assert pack["status"] == "recycled" and "recycled" in pack["compliance"]["reasons"]

    page = api_client().get(f"/v/{vehicle.code}")
    assert 'data-testid="banner-recycled"' in page.content.decode()


def test_the_regulator_dossier_shows_the_bike_recycled_and_its_chain_intact(rc):
    vehicle, _ = rc.cancelled_bike()
    _take_back(rc, vehicle)
    regulator = api_client(rc.world.district_regulator)
    dossier = regulator.get(f"/api/v1/vehicles/{vehicle.frame_no}/").json()
    assert dossier["status"] == "recycled" and dossier["owner"] is None and dossier["batteries"] == []
    events = regulator.get(f"/api/v1/vehicles/{vehicle.frame_no}/events/").json()
    assert [e["type"] for e in events][-3:] == ["registration_cancelled", "battery_removed", "recycled"]
    assert regulator.get(f"/api/v1/vehicles/{vehicle.frame_no}/verify/").json() == {
        "valid": True,
        "events": 7,
        "first_bad_seq": None,
    }


def test_the_ledger_keeps_no_personal_data(rc):
    vehicle, battery = rc.cancelled_bike()
    _take_back(rc, vehicle)
    _dispose(rc, battery.serial)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM vehicles_lifecycleevent")
        ledger = " ".join(row[0] for row in cursor.fetchall())
    for personal in (BUYER["name"], BUYER["id_number"], BUYER["phone"]):
        assert personal not in ledger


def test_a_battery_swapped_at_a_shop_goes_through_the_first_station_to_its_disposal(rc):
    """Repair (the shop removes the old pack) → handover (回收首站) → the recycler disposes of it; then the bike."""
    from repairs.services import repair_record

    vehicle, old = rc.sold_bike()
    new = rc.chain.battery(holder=rc.shop.organization, status=Battery.Status.IN_STOCK)
    repair_record(
        user=rc.shop,
        frame_no=vehicle.frame_no,
        kind="battery_replacement",
        removed_battery_serials=[old.serial],
        fitted_battery_serials=[new.serial],
        vehicle_code=vehicle.code,
    )
    old.refresh_from_db()
    assert (old.status, old.holder_id) == ("removed", rc.shop.organization_id)

    assert _handover(rc, old).status_code == 201
    assert _dispose(rc, old.serial, "cascade_refused").status_code == 201
    assert [e.type for e in _own_chain(old)] == ["produced", "handed_over", "recycled"]
    assert _intact(old)

    registration_cancel(
        user=rc.world.police, frame_no=vehicle.frame_no, reason=CANCEL_REASON, cancelled_at=timezone.now()
    )
    response = _take_back(rc, vehicle)
    assert response.status_code == 201 and response.json()["batteries_released"] == [new.serial]
    assert _intact(vehicle) and _intact(new)
    assert [e.type for e in vehicle.events.order_by("seq")][-3:] == [
        "registration_cancelled",
        "battery_removed",
        "recycled",
    ]

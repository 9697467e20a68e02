"""Batteries fitted at the factory: bulk production naming the batteries a vehicle maker received (标配 checked, all
or nothing, on the ledger), the dealer receiving such bikes with their batteries, and their sale."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import AlertRequest
from catalog.models import BatteryModel
from core.models import AuditEntry
from tests.chain import BUYER
from tests.conftest import _member, api_client
from tests.factories import PASSWORD
from tests.shipping import (
    batteries_at_the_maker,
    fitted_bike,
    frame_no_new,
    item,
    produce,
    receive,
    ship,
)
from vehicles.ledger import chain_verify, event_append
from vehicles.models import Battery, EventType, Fitment, LifecycleEvent, OutboxMessage, Vehicle


def _refresh(*things):
    for thing in things:
        thing.refresh_from_db()
    return things


def test_a_vehicle_maker_fits_the_batteries_it_received_in_its_bulk_production(chain):
    maker = chain.maker.organization
    serials = batteries_at_the_maker(chain, 3)
    frames = [frame_no_new(chain) for _ in range(3)]
    response = produce(chain, [item(frames[0], serials[:2]), item(frames[1]), item(frames[2], serials[2:])])
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3}

    first, plain, third = (Vehicle.objects.get(frame_no=f) for f in frames)
    batteries = [Battery.objects.get(serial=s) for s in serials]
    assert [(b.status, b.holder_id, b.vehicle_id, b.region_id) for b in batteries] == [
        ("fitted", maker.pk, first.pk, maker.region_id),
        ("fitted", maker.pk, first.pk, maker.region_id),
        ("fitted", maker.pk, third.pk, maker.region_id),
    ]
    assert sorted(Fitment.objects.values_list("battery__serial", "vehicle__frame_no", "fitted_by")) == sorted(
        [(serials[0], frames[0], maker.pk), (serials[1], frames[0], maker.pk), (serials[2], frames[2], maker.pk)]
    )
    events = list(first.events.order_by("seq"))
    assert [(e.seq, e.type, e.battery_id) for e in events] == [
        (1, "produced", None),
        (2, "battery_fitted", batteries[0].pk),
        (3, "battery_fitted", batteries[1].pk),
    ]
    assert events[1].payload == {"model": chain.battery_model.code} and events[1].organization_id == maker.pk
    assert [e.type for e in plain.events.all()] == ["produced"] and plain.ledger_seq == 1
    for bike in (first, plain, third):
        assert chain_verify(bike).valid, bike.frame_no
    for battery in batteries:  # their own chains (produced, shipped, received) end where they were fitted
        assert chain_verify(battery).valid
    outbox = OutboxMessage.objects.filter(event_id__in=[e.pk for e in events[1:]])
    assert sorted(m.payload["type"] for m in outbox) == ["battery_fitted", "battery_fitted"]
    assert {m.payload["vehicle_id"] for m in outbox} == {first.pk}
    # the chain continues with ordinary appends
    event_append(vehicle=first, type=EventType.COMPLAINT, occurred_at=timezone.now(), region_code="371402")
    assert chain_verify(first).valid
    audit = AuditEntry.objects.filter(action="vehicles.produced").latest("pk")
    assert audit.data == {"model": chain.model.code, "count": 3, "batteries_fitted": 3}


def test_items_without_batteries_take_the_fast_path(chain):
    frames = [frame_no_new(chain) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        assert produce(chain, [item(f) for f in frames]).status_code == 201
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert "vehicles_battery" not in touched and "vehicles_fitment" not in touched


def test_a_battery_outside_the_certified_pairs_is_422_battery_incompatible_with_the_row_index(chain):
    good = batteries_at_the_maker(chain)
    other = batteries_at_the_maker(chain, model=chain.other_battery_model)
    frames = [frame_no_new(chain), frame_no_new(chain)]
    response = produce(chain, [item(frames[0], good), item(frames[1], other)])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "battery_incompatible"
    assert error["fields"] == {"items": {"1": ["battery_incompatible"]}, "battery_serials": other}
    assert not Vehicle.objects.filter(frame_no__in=frames).exists()
    assert Battery.objects.get(serial=good[0]).status == "in_stock" and not Fitment.objects.exists()


def test_a_battery_whose_certificate_lapsed_is_422_uncertified(chain):
    lapsed = BatteryModel.objects.create(
        code="LD-OLD",
        name="过期电池",
        maker=chain.battery_maker.organization,
        chemistry="lithium_ion",
        nominal_voltage_v=48,
        capacity_ah=20,
        ccc_cert_no="CCC-OLD",
        ccc_valid_until=dt.date(2025, 1, 1),
    )
    chain.model.compatible_battery_models.add(lapsed)
    serials = [chain.battery(model=lapsed).serial]
    # a battery without a valid certificate is refused at the maker's door too; put it in its stock directly
    Battery.objects.filter(serial__in=serials).update(holder=chain.maker.organization, status="in_stock")
    response = produce(chain, [item(frame_no_new(chain), serials)])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "uncertified"
    assert response.json()["error"]["fields"]["items"] == {"0": ["uncertified"]}
    assert not Fitment.objects.exists()


def test_batteries_not_in_the_makers_stock_are_409_not_in_stock_by_row(chain):
    at_battery_maker = chain.battery()
    in_transit = chain.battery()
    ship(chain.battery_maker, chain.maker.organization, serials=[in_transit.serial])
    _frame_no, (already_fitted,) = fitted_bike(chain)
    at_dealer = chain.battery(holder=chain.world.dealer.organization, status="in_stock")
    rows = [
        item(frame_no_new(chain), [at_battery_maker.serial]),
        item(frame_no_new(chain), [in_transit.serial]),
        item(frame_no_new(chain), [already_fitted]),
        item(frame_no_new(chain), [at_dealer.serial]),
        item(frame_no_new(chain), ["NO-SUCH-PACK-1"]),
    ]
    response = produce(chain, rows)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_in_stock"
    assert error["fields"]["items"] == {str(i): ["not_in_stock"] for i in range(5)}
    assert error["fields"]["battery_serials"] == [
        at_battery_maker.serial,
        in_transit.serial,
        already_fitted,
        at_dealer.serial,
        "NO-SUCH-PACK-1",
    ]
    assert Vehicle.objects.count() == 1  # only the fitted bike made before


def test_another_makers_stock_is_not_ours_to_fit(chain):
    other = _member("manufacturer", "371403", enterprise_code="1403")
    battery = chain.battery(holder=other.organization, status="in_stock")
    response = produce(chain, [item(frame_no_new(chain), [battery.serial])])
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_in_stock"


@pytest.mark.parametrize(
    "serials, code",
    [
        ("LD48V20AH00000001", "malformed_battery_serials"),
        ([1, 2], "malformed_battery_serials"),
        (["bad serial!"], "malformed_battery_serials"),
        ([f"LD48V20AH0000000{n}" for n in range(5)], "too_many_batteries"),
        (["LD48V20AH00000001", "LD48V20AH00000001"], "battery_duplicate_in_request"),
    ],
)
def test_malformed_battery_lists_are_400_by_row_and_nothing_is_written(chain, serials, code):
    row = item(frame_no_new(chain))
    row["battery_serials"] = serials
    response = produce(chain, [item(frame_no_new(chain)), row])
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["items"] == {"1": [code]}
    assert not Vehicle.objects.exists()


def test_one_battery_named_for_two_bikes_is_400_on_the_second(chain):
    serials = batteries_at_the_maker(chain)
    response = produce(chain, [item(frame_no_new(chain), serials), item(frame_no_new(chain), serials)])
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["items"] == {"1": ["battery_duplicate_in_request"]}


def test_only_the_vehicle_maker_fits_at_the_factory(chain):
    body = {"model": chain.model.code, "items": [item(frame_no_new(chain), ["LD48V20AH00000001"])]}
    for outsider in (chain.battery_maker, chain.world.dealer, chain.world.city_regulator):
        assert api_client(outsider).post("/api/v1/vehicles/bulk/", body, format="json").status_code == 403
    assert api_client().post("/api/v1/vehicles/bulk/", body, format="json").status_code == 401


# --- the dealer receives such bikes -----------------------------------------------------------------------------


def _factory_fitted_in_the_makers_stock(chain) -> tuple[Vehicle, Battery]:
    """A bike at its maker with a battery fitted at the factory, as the records held before factory fitting was
    an API: built directly, so that this test also ran against the inspection as it was."""
    maker = chain.maker.organization
    bike = chain.vehicle()
    battery = chain.battery(holder=maker, status="in_stock")
    Fitment.objects.create(battery=battery, vehicle=bike, fitted_at=timezone.now(), fitted_by=maker)
    Battery.objects.filter(pk=battery.pk).update(status="fitted", vehicle=bike, holder=maker)
    return _refresh(bike, battery)


def test_a_battery_fitted_at_the_factory_is_received_with_its_bike_not_refused_as_in_another_stock(chain):
    """The issue: a dealer receiving bikes with their batteries saw every battery refused as in another stock."""
    dealer, maker = chain.world.dealer, chain.maker.organization
    bike, battery = _factory_fitted_in_the_makers_stock(chain)
    response = receive(dealer, maker, [bike.frame_no], [battery.serial])
    assert response.status_code == 201
    assert [(i["ref"], i["verdict"], i["reasons"]) for i in response.json()["items"]] == [
        (bike.frame_no, "accepted", []),
        (battery.serial, "accepted", []),
    ]
    _refresh(bike, battery)
    assert (battery.status, battery.holder_id, battery.vehicle_id) == ("fitted", dealer.organization_id, bike.pk)
    assert not AlertRequest.objects.exists()


def test_a_dealer_receives_shipped_bikes_with_their_fitted_batteries_without_scanning_them(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    frame_no, serials = fitted_bike(chain, batteries=2)
    shipment_id = ship(chain.maker, dealer.organization, [frame_no]).json()["id"]

    response = receive(dealer, maker, [frame_no])
    assert [(i["kind"], i["ref"], i["verdict"]) for i in response.json()["items"]] == [
        ("vehicle", frame_no, "accepted"),
        ("battery", serials[0], "accepted"),
        ("battery", serials[1], "accepted"),
    ]
    bike = Vehicle.objects.get(frame_no=frame_no)
    batteries = list(Battery.objects.filter(serial__in=serials).order_by("serial"))
    assert (bike.holder_id, bike.status) == (dealer.organization_id, "in_stock")
    assert {(b.holder_id, b.status, b.vehicle_id, b.region_id) for b in batteries} == {
        (dealer.organization_id, "fitted", bike.pk, "371402")
    }
    tail = [(e.type, e.battery_id) for e in bike.events.order_by("seq")][-3:]
    assert tail == [("received", None), ("received", batteries[0].pk), ("received", batteries[1].pk)]
    assert chain_verify(bike).valid
    shipment = api_client(dealer).get(f"/api/v1/shipments/{shipment_id}/").json()
    assert {i["status"] for i in shipment["items"]} == {"received"}
    # a battery in a bike is not loose stock
    assert api_client(dealer).get("/api/v1/stock/", {"kind": "battery"}).json()["results"] == []


def test_a_fitted_battery_scanned_without_its_bike_is_a_scanning_slip(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    _bike, battery = _factory_fitted_in_the_makers_stock(chain)
    items = receive(dealer, maker, serials=[battery.serial]).json()["items"]
    assert items == [
        {"kind": "battery", "ref": battery.serial, "verdict": "rejected", "reasons": ["fitted_in_vehicle"]}
    ]
    assert not AlertRequest.objects.exists()
    assert not LifecycleEvent.objects.filter(type="receipt_rejected").exists()
    _refresh(battery)
    assert battery.holder_id == maker.pk


def test_a_bike_and_its_fitted_battery_are_refused_together(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    bike, battery = _factory_fitted_in_the_makers_stock(chain)
    BatteryModel.objects.filter(pk=battery.model_id).update(ccc_valid_until=dt.date(2025, 1, 1))  # lapsed since
    items = receive(dealer, maker, [bike.frame_no]).json()["items"]
    assert [(i["ref"], i["reasons"]) for i in items] == [
        (bike.frame_no, ["fitted_battery_refused"]),
        (battery.serial, ["certificate_expired"]),
    ]
    # one alert, about the battery: the bike was refused only for it
    assert list(AlertRequest.objects.values_list("rule", "battery_serial", "frame_no")) == [
        ("PRODUCT_UNCERTIFIED", battery.serial, "")
    ]
    _refresh(bike, battery)
    assert (bike.holder_id, battery.holder_id, battery.status) == (maker.pk, maker.pk, "fitted")
    assert [e.type for e in bike.events.order_by("seq")][-2:] == ["receipt_rejected", "receipt_rejected"]
    assert chain_verify(bike).valid


# --- and sells them ---------------------------------------------------------------------------------------------


def _sell(dealer, frame_no, serials):
    body = {"frame_no": frame_no, "battery_serials": serials, "buyer": BUYER}
    return api_client(dealer).post("/api/v1/sales/", body, format="json")


def test_a_factory_fitted_bike_is_sold_with_its_batteries(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    frame_no, serials = fitted_bike(chain)
    ship(chain.maker, dealer.organization, [frame_no])
    receive(dealer, maker, [frame_no])

    left_out = _sell(dealer, frame_no, [chain.in_stock(dealer)[1].serial])
    assert left_out.status_code == 409
    assert left_out.json()["error"]["code"] == "fitted_battery_missing"
    assert left_out.json()["error"]["fields"] == {"battery_serials": serials}
    elsewhere = _sell(chain.world.other_dealer, frame_no, serials)
    assert elsewhere.status_code == 409 and elsewhere.json()["error"]["code"] == "not_in_stock"

    response = _sell(dealer, frame_no, serials)
    assert response.status_code == 201, response.json()
    bike, battery = Vehicle.objects.get(frame_no=frame_no), Battery.objects.get(serial=serials[0])
    assert (bike.status, bike.holder_id) == ("registered", None)
    assert (battery.status, battery.holder_id, battery.vehicle_id, battery.region_id) == (
        "fitted",
        None,
        bike.pk,
        BUYER["region_code"],
    )
    assert Fitment.objects.filter(battery=battery).count() == 1  # fitted once, at the factory
    types = [e.type for e in bike.events.order_by("seq")]
    assert types[-2:] == ["sold", "registered"] and types.count("battery_fitted") == 1
    assert bike.events.get(type="sold").payload == {"batteries": serials}
    assert chain_verify(bike).valid
    record = api_client(dealer).get(f"/api/v1/vehicles/{frame_no}/").json()
    assert [b["serial"] for b in record["batteries"]] == serials


def test_the_sale_page_takes_the_batteries_fitted_at_the_factory(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    frame_no, (serial,) = fitted_bike(chain)
    ship(chain.maker, dealer.organization, [frame_no])
    receive(dealer, maker, [frame_no])
    client = Client()
    assert client.login(username=dealer.username, password=PASSWORD)

    check = client.get("/dealer/sales/check/", {"frame_no": frame_no, "battery_serials": serial}).content.decode()
    assert 'data-ready="true"' in check
    html = client.get("/dealer/sales/new/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    body = {
        "form_token": token,
        "frame_no": frame_no,
        "battery_serials": serial,
        "buyer_name": BUYER["name"],
        "buyer_id_number": BUYER["id_number"],
        "buyer_phone": BUYER["phone"],
        "buyer_region": BUYER["region_code"],
        "sold_at": "",
    }
    response = client.post("/dealer/sales/new/", body)
    assert response.status_code == 302, response.content.decode()
    assert Vehicle.objects.get(frame_no=frame_no).status == "registered"

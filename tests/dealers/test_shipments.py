"""Shipments between enterprises (发货): POST/GET /api/v1/shipments/, their receipt through POST /api/v1/receipts/,
and the pages: what is on its way on the incoming-inspection page, the shipping page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertRequest
from core.models import OrganizationKind
from dealers.models import Receipt, Shipment, ShipmentItem
from tests.conftest import _member, api_client
from tests.factories import PASSWORD
from tests.shipping import SHIPMENTS, fitted_bike, receive, ship
from vehicles.ledger import chain_verify
from vehicles.models import Battery, LifecycleEvent, Vehicle


@pytest.fixture
def operator(world):
    return _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州安充换电")


@pytest.fixture
def shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")


def _statuses(*things) -> list[tuple]:
    for thing in things:
        thing.refresh_from_db()
    return [(thing.holder_id, thing.status) for thing in things]


# --- shipping and receiving through the API -------------------------------------------------------------------


def test_a_battery_maker_ships_batteries_that_the_vehicle_maker_receives_into_its_stock(chain):
    battery_maker, maker = chain.battery_maker, chain.maker
    first, second = chain.battery(), chain.battery()

    response = ship(battery_maker, maker.organization, serials=[first.serial, second.serial.lower()])
    assert response.status_code == 201, response.json()
    body = response.json()
    shipment = Shipment.objects.get(pk=body["id"])
    assert (shipment.sender, shipment.receiver) == (battery_maker.organization, maker.organization)
    assert [(i["kind"], i["ref"], i["status"]) for i in body["items"]] == [
        ("battery", first.serial, "in_transit"),
        ("battery", second.serial, "in_transit"),
    ]
    assert body["status"] == "in_transit" and body["to"]["id"] == maker.organization_id
    # in transit: still the sender's (it answers for them until they are received)
    assert _statuses(first, second) == [(battery_maker.organization_id, "in_transit")] * 2
    shipped = LifecycleEvent.objects.get(battery=first, type="shipped")
    assert shipped.payload == {
        "shipment": shipment.pk,
        "from": battery_maker.organization_id,
        "to": maker.organization_id,
    }
    assert shipped.organization_id == battery_maker.organization_id

    response = receive(maker, battery_maker.organization, serials=[first.serial, second.serial])
    assert response.status_code == 201, response.json()
    assert [i["verdict"] for i in response.json()["items"]] == ["accepted", "accepted"]
    assert _statuses(first, second) == [(maker.organization_id, "in_stock")] * 2
    assert first.region_id == maker.organization.region_id
    assert [e.type for e in first.events.order_by("seq")] == ["produced", "shipped", "received"]
    assert chain_verify(first).valid and chain_verify(second).valid
    assert set(ShipmentItem.objects.values_list("receipt_id", flat=True)) == {response.json()["id"]}
    detail = api_client(battery_maker).get(f"{SHIPMENTS}{shipment.pk}/").json()
    assert detail["status"] == "received" and {i["status"] for i in detail["items"]} == {"received"}
    assert not AlertRequest.objects.exists()


def test_a_maker_ships_bikes_to_a_dealer_who_receives_them(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    bike = chain.vehicle()
    assert ship(chain.maker, dealer.organization, [bike.frame_no]).status_code == 201
    assert _statuses(bike) == [(maker.pk, "in_transit")]

    items = receive(dealer, maker, [bike.frame_no]).json()["items"]
    assert items == [{"kind": "vehicle", "ref": bike.frame_no, "verdict": "accepted", "reasons": []}]
    assert _statuses(bike) == [(dealer.organization_id, "in_stock")]
    assert [e.type for e in bike.events.order_by("seq")] == ["produced", "shipped", "received"]
    stock = api_client(dealer).get("/api/v1/stock/").json()["results"]
    assert [row["frame_no"] for row in stock] == [bike.frame_no]


def test_a_dealer_ships_from_its_stock_to_another_dealer(chain):
    dealer, other = chain.world.dealer, chain.world.other_dealer
    bike, battery = chain.in_stock(dealer)
    assert ship(dealer, other.organization, [bike.frame_no], [battery.serial]).status_code == 201
    items = receive(other, dealer.organization, [bike.frame_no], [battery.serial]).json()["items"]
    assert [i["verdict"] for i in items] == ["accepted", "accepted"]
    assert _statuses(bike, battery) == [(other.organization_id, "in_stock")] * 2
    assert bike.region_id == "371403"


def test_items_not_in_the_senders_stock_are_409_and_nothing_is_shipped(chain):
    dealer, maker = chain.world.dealer, chain.maker
    own = chain.vehicle()
    elsewhere = chain.vehicle(holder=chain.world.other_dealer.organization, status=Vehicle.Status.IN_STOCK)
    someone_elses = chain.battery()  # the battery maker's, not the vehicle maker's
    response = ship(
        maker,
        dealer.organization,
        [own.frame_no, elsewhere.frame_no, "140222699999999"],
        [someone_elses.serial, "NO-SUCH-BATTERY"],
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_in_stock"
    assert error["fields"] == {
        "frame_nos": [elsewhere.frame_no, "140222699999999"],
        "battery_serials": [someone_elses.serial, "NO-SUCH-BATTERY"],
    }
    assert not Shipment.objects.exists()
    assert _statuses(own) == [(maker.organization_id, "produced")]
    assert [e.type for e in own.events.all()] == ["produced"]


def test_an_item_already_in_transit_cannot_be_shipped_again(chain):
    bike = chain.vehicle()
    assert ship(chain.maker, chain.world.dealer.organization, [bike.frame_no]).status_code == 201
    again = ship(chain.maker, chain.world.other_dealer.organization, [bike.frame_no])
    assert again.status_code == 409 and again.json()["error"]["fields"] == {"frame_nos": [bike.frame_no]}
    assert Shipment.objects.count() == 1


@pytest.mark.parametrize("receiver", ["city_regulator", "police", "self", "unknown", "maker_for_bikes"])
def test_goods_go_only_to_an_enterprise_that_takes_them(chain, shop, receiver):
    bike = chain.vehicle()
    to = {
        "city_regulator": chain.world.city_regulator.organization_id,
        "police": chain.world.police.organization_id,
        "self": chain.maker.organization_id,
        "unknown": 999_999,
        "maker_for_bikes": _member(OrganizationKind.MANUFACTURER, "371402", enterprise_code="1499").organization_id,
    }[receiver]
    response = ship(chain.maker, to, [bike.frame_no])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_receiver" and "to" in response.json()["error"]["fields"]
    # a battery may not go to a repair shop either
    battery = chain.battery()
    assert ship(chain.battery_maker, shop.organization, serials=[battery.serial]).status_code == 400
    assert not Shipment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"to": "x"},
        {"to": 1, "frame_nos": "140222600000001"},
        {"to": 1, "frame_nos": [], "battery_serials": []},
        {"to": 1, "battery_serials": [{"a": 1}]},
        {"to": 1, "battery_serials": ["X"], "shipped_at": "2999-01-01T00:00:00+08:00"},
    ],
)
def test_bad_shipments_are_400_and_write_nothing(chain, body):
    if body.get("to") == 1:
        body["to"] = chain.world.dealer.organization_id
    response = api_client(chain.battery_maker).post(SHIPMENTS, body, format="json")
    assert response.status_code == 400
    assert not Shipment.objects.exists()


def test_only_the_holders_ship(chain, operator, shop):
    battery = chain.battery()
    for outsider in (chain.world.city_regulator, chain.world.police, shop, operator):
        assert ship(outsider, chain.world.dealer.organization, serials=[battery.serial]).status_code == 403
    assert api_client().post(SHIPMENTS, {}, format="json").status_code == 401
    assert api_client().get(SHIPMENTS).status_code == 401
    assert not Shipment.objects.exists()


def test_a_shipment_sent_twice_with_the_same_key_is_made_once(chain):
    battery = chain.battery()
    headers = {"HTTP_IDEMPOTENCY_KEY": "ship-1"}
    first = ship(chain.battery_maker, chain.maker.organization, serials=[battery.serial], **headers)
    second = ship(chain.battery_maker, chain.maker.organization, serials=[battery.serial], **headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert Shipment.objects.count() == 1 and battery.events.filter(type="shipped").count() == 1


def test_an_item_in_transit_to_someone_else_is_refused_with_its_reason(chain):
    maker = chain.maker.organization
    dealer, other = chain.world.dealer, chain.world.other_dealer
    bike = chain.vehicle()
    ship(chain.maker, dealer.organization, [bike.frame_no])

    items = receive(other, maker, [bike.frame_no]).json()["items"]
    assert items[0]["verdict"] == "rejected" and items[0]["reasons"] == ["shipped_to_another"]
    assert list(AlertRequest.objects.values_list("rule", "frame_no")) == [("STOCK_MISMATCH", bike.frame_no)]
    assert _statuses(bike) == [(maker.pk, "in_transit")]  # still on its way to the dealer it was shipped to
    assert ShipmentItem.objects.get(vehicle=bike).receipt is None

    assert receive(dealer, maker, [bike.frame_no]).json()["items"][0]["verdict"] == "accepted"
    assert _statuses(bike) == [(dealer.organization_id, "in_stock")]
    assert chain_verify(bike).valid


def test_an_item_refused_at_the_door_goes_back_to_the_senders_stock(chain):
    maker = chain.maker.organization
    dealer = chain.world.dealer
    old, good = chain.vehicle(model=chain.old_model), chain.vehicle()
    shipment_id = ship(chain.maker, dealer.organization, [old.frame_no, good.frame_no]).json()["id"]

    items = receive(dealer, maker, [old.frame_no, good.frame_no]).json()["items"]
    assert [(i["ref"], i["reasons"]) for i in items] == [
        (old.frame_no, ["old_standard_past_cutoff"]),
        (good.frame_no, []),
    ]
    assert _statuses(old, good) == [(maker.pk, "produced"), (dealer.organization_id, "in_stock")]
    detail = api_client(chain.maker).get(f"{SHIPMENTS}{shipment_id}/").json()
    assert {i["ref"]: i["status"] for i in detail["items"]} == {old.frame_no: "refused", good.frame_no: "received"}
    assert detail["status"] == "received"
    assert list(AlertRequest.objects.values_list("rule", flat=True)) == ["PRODUCT_UNCERTIFIED"]
    # the maker's shipping page counts it: two items, none on its way, one refused
    html = _logged_in(chain.maker).get("/dealer/shipments/").content.decode()
    row = re.search(rf'data-shipment="{shipment_id}".*?</li>', html, re.S).group(0)
    assert "共 2 件" in row and "拒收 1 件" in row and "在途" not in row
    # back in the maker's stock, it may be shipped again
    assert ship(chain.maker, chain.world.other_dealer.organization, [old.frame_no]).status_code == 201


def test_a_charging_operator_receives_batteries_but_not_bikes(chain, operator):
    battery, bike = chain.battery(), chain.vehicle()
    assert ship(chain.battery_maker, operator.organization, serials=[battery.serial]).status_code == 201
    refused = receive(operator, chain.maker.organization, [bike.frame_no])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "vehicles_not_received"
    response = receive(operator, chain.battery_maker.organization, serials=[battery.serial])
    assert response.status_code == 201 and response.json()["items"][0]["verdict"] == "accepted"
    assert _statuses(battery) == [(operator.organization_id, "in_stock")]


def test_a_bike_ships_with_the_batteries_fitted_in_it_at_the_factory(chain):
    frame_no, (serial,) = fitted_bike(chain)
    maker, dealer = chain.maker.organization, chain.world.dealer
    alone = ship(chain.maker, dealer.organization, serials=[serial])  # a fitted battery never ships on its own
    assert alone.status_code == 409 and alone.json()["error"]["fields"] == {"battery_serials": [serial]}

    response = ship(chain.maker, dealer.organization, [frame_no])
    assert response.status_code == 201
    assert [(i["kind"], i["ref"], i["fitted_in"]) for i in response.json()["items"]] == [
        ("vehicle", frame_no, None),
        ("battery", serial, frame_no),
    ]
    bike, battery = Vehicle.objects.get(frame_no=frame_no), Battery.objects.get(serial=serial)
    assert _statuses(bike, battery) == [(maker.pk, "in_transit"), (maker.pk, "fitted")]
    assert battery.vehicle == bike
    # both shipped events on the bike's chain, the battery's naming it
    assert [(e.type, e.battery_id) for e in bike.events.order_by("seq")][-2:] == [
        ("shipped", None),
        ("shipped", battery.pk),
    ]
    assert chain_verify(bike).valid and chain_verify(battery).valid


# --- who sees shipments ----------------------------------------------------------------------------------------


def test_shipments_are_seen_by_sender_receiver_and_the_regulators_of_the_senders_region(chain):
    world = chain.world
    bike = chain.vehicle()  # the maker is in 德城区 (371402)
    shipment_id = ship(chain.maker, world.dealer.organization, [bike.frame_no]).json()["id"]
    url = f"{SHIPMENTS}{shipment_id}/"
    for insider in (chain.maker, world.dealer, world.district_regulator, world.city_regulator):
        response = api_client(insider).get(url)
        assert response.status_code == 200 and response.json()["items"][0]["ref"] == bike.frame_no
        assert [s["id"] for s in api_client(insider).get(SHIPMENTS).json()["results"]] == [shipment_id]
    for outsider in (world.other_dealer, world.far_dealer, world.other_district_regulator, world.other_city_regulator):
        assert api_client(outsider).get(url).status_code == 404
        assert api_client(outsider).get(SHIPMENTS).json()["results"] == []
    assert api_client(chain.battery_maker).get(url).status_code == 404
    assert api_client().get(url).status_code == 401


def test_the_list_filters_by_status_and_direction(chain):
    dealer = chain.world.dealer
    first, second = chain.vehicle(), chain.vehicle()
    received_id = ship(chain.maker, dealer.organization, [first.frame_no]).json()["id"]
    receive(dealer, chain.maker.organization, [first.frame_no])
    open_id = ship(chain.maker, dealer.organization, [second.frame_no]).json()["id"]

    def ids(user, **params):
        response = api_client(user).get(SHIPMENTS, params)
        assert response.status_code == 200
        return [s["id"] for s in response.json()["results"]]

    assert ids(dealer, status="in_transit") == [open_id]
    assert ids(dealer, status="received") == [received_id]
    assert ids(dealer, direction="received") == [open_id, received_id]
    assert ids(dealer, direction="sent") == []
    assert ids(chain.maker, direction="sent", status="in_transit") == [open_id]
    for bad in ({"status": "lost"}, {"direction": "sideways"}):
        assert api_client(dealer).get(SHIPMENTS, bad).status_code == 400


# --- pages -----------------------------------------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_the_receive_page_shows_what_is_on_its_way_by_shipment_and_receives_it_in_one_tap(chain):
    dealer, maker = chain.world.dealer, chain.maker.organization
    frame_no, (serial,) = fitted_bike(chain)
    plain = chain.vehicle()
    shipment_id = ship(chain.maker, dealer.organization, [frame_no, plain.frame_no]).json()["id"]
    client = _logged_in(dealer)

    html = client.get("/dealer/receive/").content.decode()
    section = re.search(r'data-testid="in-transit".*?</section>', html, re.S).group(0)
    assert f'data-shipment="{shipment_id}"' in section and maker.name in section
    assert frame_no in section and plain.frame_no in section and serial in section  # the fitted battery with it
    # another dealer sees nothing of it
    assert (
        'data-testid="in-transit"' not in _logged_in(chain.world.other_dealer).get("/dealer/receive/").content.decode()
    )

    body = {"form_token": _token(section)}
    first = client.post(f"/dealer/shipments/{shipment_id}/receive/", body)
    second = client.post(f"/dealer/shipments/{shipment_id}/receive/", body)  # a double tap
    receipt = Receipt.objects.get(dealer=dealer.organization)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/dealer/receipts/{receipt.pk}/"
    assert sorted(receipt.items.values_list("ref", "verdict")) == sorted(
        [(frame_no, "accepted"), (serial, "accepted"), (plain.frame_no, "accepted")]
    )
    result = client.get(first["Location"]).content.decode()
    assert f'data-ref="{serial}" data-kind="battery" data-verdict="accepted"' in result
    assert 'data-testid="in-transit"' not in client.get("/dealer/receive/").content.decode()


def test_only_the_receiver_confirms_a_shipment(chain):
    bike = chain.vehicle()
    shipment_id = ship(chain.maker, chain.world.dealer.organization, [bike.frame_no]).json()["id"]
    url = f"/dealer/shipments/{shipment_id}/receive/"
    other = _logged_in(chain.world.other_dealer)
    token = _token(other.get("/dealer/receive/").content.decode())
    assert other.post(url, {"form_token": token}).status_code == 404
    assert _logged_in(chain.world.city_regulator).post(url, {"form_token": token}).status_code == 404
    assert Client().post(url, {"form_token": token}).status_code == 302  # to the login page
    assert not Receipt.objects.exists()


def test_a_maker_ships_from_the_shipping_page_and_sees_it_listed(chain):
    bike, other = chain.vehicle(), chain.vehicle()
    dealer = chain.world.dealer.organization
    client = _logged_in(chain.maker)
    html = client.get("/dealer/shipments/").content.decode()
    assert f'value="{dealer.pk}"' in html and f'value="{chain.maker.organization_id}"' not in html
    token = _token(html)

    response = client.post(
        "/dealer/shipments/", {"form_token": token, "to": dealer.pk, "codes": f"{bike.frame_no}\n{other.code}"}
    )
    shipment = Shipment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dealer/shipments/{shipment.pk}/"
    assert sorted(shipment.items.values_list("vehicle__frame_no", flat=True)) == sorted([bike.frame_no, other.frame_no])
    detail = client.get(response["Location"]).content.decode()
    assert bike.frame_no in detail and dealer.name in detail
    listing = client.get("/dealer/shipments/").content.decode()
    assert f'href="/dealer/shipments/{shipment.pk}/"' in listing
    # the receiver opens it too; another dealer and a regulator of another city do not
    assert _logged_in(chain.world.dealer).get(response["Location"]).status_code == 200
    assert _logged_in(chain.world.other_dealer).get(response["Location"]).status_code == 404
    assert _logged_in(chain.world.other_city_regulator).get(response["Location"]).status_code == 404


def test_the_shipping_page_shows_what_is_not_in_stock_next_to_the_codes_and_keeps_them(chain):
    elsewhere = chain.vehicle(holder=chain.world.other_dealer.organization, status=Vehicle.Status.IN_STOCK)
    client = _logged_in(chain.maker)
    token = _token(client.get("/dealer/shipments/").content.decode())
    html = client.post(
        "/dealer/shipments/",
        {"form_token": token, "to": chain.world.dealer.organization_id, "codes": elsewhere.frame_no},
    ).content.decode()
    error = re.search(r'data-testid="error-codes"[^>]*>(.*?)</ul>', html, re.S).group(1)
    assert elsewhere.frame_no in error and "not_in_stock" not in error
    assert elsewhere.frame_no in html.split('data-testid="error-codes"')[0]  # the textarea keeps it
    assert not Shipment.objects.exists()


@pytest.mark.parametrize("url", ["/dealer/shipments/", "/dealer/shipments/999999/"])
def test_the_shipping_pages_are_for_holders_only(chain, shop, url):
    assert Client().get(url).status_code == 302
    for outsider in (chain.world.city_regulator, chain.world.police, shop):
        assert _logged_in(outsider).get(url).status_code == 404
    if url == "/dealer/shipments/":
        for holder in (chain.maker, chain.battery_maker, chain.world.dealer):
            assert _logged_in(holder).get(url).status_code == 200


def test_the_home_pages_lead_to_the_shipping_page(chain, operator, shop):
    for user in (chain.maker, chain.battery_maker, chain.world.dealer, operator):
        assert 'href="/dealer/shipments/"' in _logged_in(user).get("/").content.decode()
    for outsider in (shop, chain.world.city_regulator):
        assert 'href="/dealer/shipments/"' not in _logged_in(outsider).get("/").content.decode()


def test_a_charging_operator_confirms_the_batteries_shipped_to_it_from_the_shipping_page(chain, operator):
    battery = chain.battery()
    shipment_id = ship(chain.battery_maker, operator.organization, serials=[battery.serial]).json()["id"]
    client = _logged_in(operator)
    html = client.get("/dealer/shipments/").content.decode()
    assert 'data-testid="ship-form"' not in html  # it receives, it does not ship
    section = re.search(r'data-testid="in-transit".*?</section>', html, re.S).group(0)
    response = client.post(f"/dealer/shipments/{shipment_id}/receive/", {"form_token": _token(section)})
    assert response.status_code == 302 and response["Location"] == f"/dealer/shipments/{shipment_id}/"
    detail = client.get(response["Location"]).content.decode()
    assert f'data-ref="{battery.serial}" data-kind="battery" data-status="received"' in detail
    assert _statuses(battery) == [(operator.organization_id, "in_stock")]


def test_the_shipping_page_reads_a_fixed_number_of_queries_however_many_shipments_and_items(
    chain, django_assert_max_num_queries
):
    """The maker's page lists what it sent (with each shipment's items counted) and what is on its way to it (each
    item shown): neither costs a query per shipment or per item."""
    dealer = chain.world.dealer.organization
    client = _logged_in(chain.maker)

    def grow() -> None:
        frame_nos = [chain.vehicle().frame_no for _ in range(2)]
        assert ship(chain.maker, dealer, frame_nos).status_code == 201
        serials = [chain.battery().serial for _ in range(2)]
        assert ship(chain.battery_maker, chain.maker.organization, serials=serials).status_code == 201

    grow()
    with CaptureQueriesContext(connection) as small:
        client.get("/dealer/shipments/")
    queries = len(small)  # now: the next request empties the connection's log
    for _ in range(3):
        grow()
    with django_assert_max_num_queries(queries):
        html = client.get("/dealer/shipments/").content.decode()
    assert html.count('data-testid="sent-shipment"') == 4
    sent = html.split('data-testid="sent"')[1]
    assert sent.count("共 2 件") == sent.count("在途 2 件") == 4
    assert html.count('data-testid="in-transit-shipment"') == 4

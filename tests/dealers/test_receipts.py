"""POST /api/v1/receipts/: incoming inspection (进货查验) — verdicts per item, stock, and alert requests."""

import datetime as dt

import pytest

from alerts.models import AlertRequest
from catalog.models import BatteryModel
from dealers.models import Receipt
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Vehicle

URL = "/api/v1/receipts/"


def _receive(user, supplier, frame_nos=(), serials=(), **extra):
    body = {"supplier": supplier.pk, "frame_nos": list(frame_nos), "battery_serials": list(serials), **extra}
    return api_client(user).post(URL, body, format="json")


def test_certified_goods_from_their_maker_enter_the_dealers_stock(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.vehicle(), chain.battery()

    response = _receive(dealer, chain.maker.organization, [vehicle.frame_no])
    assert response.status_code == 201
    assert response.json()["items"] == [
        {"kind": "vehicle", "ref": vehicle.frame_no, "verdict": "accepted", "reasons": []}
    ]
    response = _receive(dealer, chain.battery_maker.organization, serials=[battery.serial.lower()])
    assert response.json()["items"][0]["verdict"] == "accepted"

    vehicle.refresh_from_db()
    battery.refresh_from_db()
    assert (vehicle.holder, vehicle.status, vehicle.region_id) == (dealer.organization, "in_stock", "371402")
    assert (battery.holder, battery.status) == (dealer.organization, "in_stock")
    assert [e.type for e in vehicle.events.order_by("seq")] == ["produced", "received"]
    assert chain_verify(vehicle).valid and chain_verify(battery).valid
    stock = api_client(dealer).get("/api/v1/stock/").json()["results"]
    assert [row["frame_no"] for row in stock] == [vehicle.frame_no]
    assert not AlertRequest.objects.exists()


def test_each_rejection_has_its_reason_and_raises_an_alert_request(chain, settings):
    dealer, maker = chain.world.dealer, chain.maker.organization
    old = chain.vehicle(model=chain.old_model)
    uncertified = chain.vehicle(model=chain.uncertified_model)
    elsewhere = chain.vehicle(holder=chain.world.other_dealer.organization, status=Vehicle.Status.IN_STOCK)
    recycled = chain.battery(status=Battery.Status.RECYCLED)
    expired_model = BatteryModel.objects.create(
        code="OLD-CCC",
        name="过期",
        maker=chain.battery_maker.organization,
        chemistry="lithium_ion",
        nominal_voltage_v=48,
        capacity_ah=20,
        ccc_cert_no="CCC-1",
        ccc_valid_until=dt.date(2025, 1, 1),
    )
    expired = chain.battery(model=expired_model)

    response = _receive(dealer, maker, [old.frame_no, uncertified.frame_no, elsewhere.frame_no, "140222600009999"])
    verdicts = {i["ref"]: i["reasons"] for i in response.json()["items"]}
    assert response.status_code == 201
    assert verdicts == {
        old.frame_no: ["old_standard_past_cutoff"],
        uncertified.frame_no: ["uncertified"],
        elsewhere.frame_no: ["in_another_stock"],
        "140222600009999": ["unknown"],
    }
    response = _receive(dealer, chain.battery_maker.organization, serials=[recycled.serial, expired.serial])
    verdicts = {i["ref"]: i["reasons"] for i in response.json()["items"]}
    assert verdicts == {recycled.serial: ["recycled"], expired.serial: ["certificate_expired"]}

    rules = sorted(AlertRequest.objects.values_list("rule", "frame_no", "battery_serial"))
    assert rules == sorted(
        [
            ("PRODUCT_UNCERTIFIED", old.frame_no, ""),
            ("PRODUCT_UNCERTIFIED", uncertified.frame_no, ""),
            ("STOCK_MISMATCH", elsewhere.frame_no, ""),
            ("PRODUCT_UNREGISTERED", "140222600009999", ""),  # no maker registered it: possibly counterfeit
            ("BATTERY_RECYCLED_REAPPEARS", "", recycled.serial),
            ("PRODUCT_UNCERTIFIED", "", expired.serial),
        ]
    )
    assert set(AlertRequest.objects.values_list("region_code", flat=True)) == {"371402"}
    old.refresh_from_db()
    assert old.holder == maker and old.status == "produced"  # nothing entered the stock
    assert old.events.order_by("-seq").first().type == "receipt_rejected"


def test_a_repeated_scan_in_one_delivery_is_flagged_once(chain):
    vehicle = chain.vehicle()
    items = _receive(chain.world.dealer, chain.maker.organization, [vehicle.frame_no, vehicle.frame_no]).json()["items"]
    assert [i["reasons"] for i in items] == [[], ["duplicate_in_receipt"]]


def test_replayed_receipt_with_the_same_key_changes_nothing(chain):
    vehicle = chain.vehicle()
    client = api_client(chain.world.dealer)
    body = {"supplier": chain.maker.organization.pk, "frame_nos": [vehicle.frame_no], "battery_serials": []}
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert first.json() == second.json()
    assert Receipt.objects.count() == 1
    assert vehicle.events.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"supplier": "x"},
        {"supplier": 1, "frame_nos": "140222600000001"},
        {"supplier": 999999, "frame_nos": ["1"]},
        {"supplier": 1, "frame_nos": [], "battery_serials": []},
        {"supplier": 1, "frame_nos": [{"a": 1}]},
    ],
)
def test_bad_receipts_are_400_and_write_nothing(chain, body):
    response = api_client(chain.world.dealer).post(URL, body, format="json")
    assert response.status_code == 400
    assert not Receipt.objects.exists()


def test_only_dealers_inspect_deliveries_of_bikes(chain):
    vehicle = chain.vehicle()
    for outsider in (chain.world.city_regulator, chain.battery_maker, chain.world.police):
        assert _receive(outsider, chain.maker.organization, [vehicle.frame_no]).status_code == 403
    # a vehicle maker receives batteries (tests/dealers/test_shipments.py), never bikes
    refused = _receive(chain.maker, chain.world.dealer.organization, [vehicle.frame_no])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "vehicles_not_received"
    assert api_client().post(URL, {}, format="json").status_code == 401
    assert not Receipt.objects.exists()


def test_receipts_are_seen_by_the_dealer_and_its_regulator_only(chain):
    vehicle = chain.vehicle()
    receipt_id = _receive(chain.world.dealer, chain.maker.organization, [vehicle.frame_no]).json()["id"]
    assert api_client(chain.world.dealer).get(f"{URL}{receipt_id}/").status_code == 200
    assert api_client(chain.world.district_regulator).get(f"{URL}{receipt_id}/").status_code == 200
    for outsider in (chain.world.other_dealer, chain.world.other_district_regulator, chain.world.other_city_regulator):
        assert api_client(outsider).get(f"{URL}{receipt_id}/").status_code == 404


def test_the_same_refused_code_in_two_deliveries_adds_to_the_open_alert(chain):
    from alerts.models import Alert, AlertTransition
    from tests.alerts.conftest import drain

    dealer, other_dealer, maker = chain.world.dealer, chain.world.other_dealer, chain.maker.organization
    fake = "140222600009999"
    _receive(dealer, maker, [fake])
    drain()
    alert = Alert.objects.get(frame_no=fake)
    assert alert.rule == "PRODUCT_UNREGISTERED" and alert.organization == maker  # the supplier answers for it

    _receive(dealer, maker, [fake])  # the same code in the next delivery …
    _receive(other_dealer, maker, [fake])  # … and at another dealer of the same maker
    drain()
    assert Alert.objects.filter(frame_no=fake).count() == 1
    alert.refresh_from_db()
    assert alert.evidence["occurrences"] == 3
    assert [r["dealer"] for r in alert.evidence["repeats"]] == [dealer.organization_id, other_dealer.organization_id]
    steps = AlertTransition.objects.filter(alert=alert, action="repeat")
    assert steps.count() == 2 and all(s.from_status == s.to_status == alert.status for s in steps)

    # closed, the next sighting is a new alert
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.CLOSED)
    _receive(dealer, maker, [fake])
    drain()
    assert Alert.objects.filter(frame_no=fake).count() == 2
    # what the other district's regulator sees: only the alert raised in its own district
    other = api_client(chain.world.other_city_regulator).get("/api/v1/alerts/", {"frame_no": fake}).json()
    assert other["results"] == []


def test_two_refusals_of_one_code_in_one_batch_make_one_alert(chain):
    from alerts.models import Alert
    from tests.alerts.conftest import drain

    maker = chain.maker.organization
    _receive(chain.world.dealer, maker, ["140222600008888"])
    _receive(chain.world.other_dealer, maker, ["140222600008888"])
    drain()  # both requests in one batch
    alert = Alert.objects.get(frame_no="140222600008888")
    assert alert.evidence["occurrences"] == 2

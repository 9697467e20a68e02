"""The whole chain through the API, one bike from the battery maker on: battery maker → vehicle maker (bulk
production with the batteries fitted at the factory) → dealer (receives the bikes with their batteries) → sale →
a swap in a charging cabinet → a repair → the owner trades it in for another of the bikes → the recycler takes it
back; the bike's ledger verifies at the end and exports as a valid EPCIS document. Outsiders knock at each step.

The walk is a list of steps over one shared `Walk`, in the order the bike lives them (`STEPS`);
`test_the_ledger_of_the_walk_verifies` checks the chain the steps made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from core.models import OrganizationKind
from dealers.models import TradeIn
from tests.chain import BUYER, Chain
from tests.conftest import _member, api_client
from tests.dealers.trade_in_world import counter_for
from tests.shipping import receive, ship
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Registration, Vehicle

PRODUCED_ON = "2026-03-01"
EPCIS_SCHEMA = json.loads((Path(__file__).parent / "data" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
BIKES = 3  # one sold, one sold in its place at the trade-in, one left in stock
OPERATOR_PACK = "LDWALKOP00000001"  # a charging operator's shared battery, from the same battery maker


@dataclass
class Walk:
    chain: Chain
    serials: list[str] = field(default_factory=list)  # the batteries, one per bike
    frame_nos: list[str] = field(default_factory=list)
    shipments: dict[str, int] = field(default_factory=dict)  # which leg → shipment id
    sold: str = ""  # the frame number of the bike sold
    station: str = ""  # the charging operator's cabinet code

    @property
    def bike(self) -> Vehicle:
        return Vehicle.objects.get(frame_no=self.sold or self.frame_nos[0])


def battery_maker_produces(walk: Walk) -> None:
    chain = walk.chain
    walk.serials = [f"LDWALK{n:010d}" for n in range(1, BIKES + 1)]
    body = {
        "model": chain.battery_model.code,
        "items": [{"serial": s, "produced_on": PRODUCED_ON} for s in walk.serials],
    }
    response = api_client(chain.battery_maker).post("/api/v1/batteries/bulk/", body, format="json")
    assert response.status_code == 201 and response.json() == {"created": BIKES}


def battery_maker_ships_to_the_vehicle_maker(walk: Walk) -> None:
    chain = walk.chain
    # a vehicle maker cannot ship what it does not hold
    assert ship(chain.maker, chain.world.dealer.organization, serials=walk.serials).status_code == 409
    response = ship(chain.battery_maker, chain.maker.organization, serials=walk.serials)
    assert response.status_code == 201
    walk.shipments["batteries"] = response.json()["id"]
    # the regulator of another city sees nothing of it
    other = api_client(chain.world.other_city_regulator).get(f"/api/v1/shipments/{response.json()['id']}/")
    assert other.status_code == 404


def vehicle_maker_receives_the_batteries(walk: Walk) -> None:
    chain = walk.chain
    # a dealer cannot take delivery of batteries shipped to the vehicle maker
    refused = receive(chain.world.dealer, chain.battery_maker.organization, serials=walk.serials[:1])
    assert refused.json()["items"][0]["reasons"] == ["shipped_to_another"]
    response = receive(chain.maker, chain.battery_maker.organization, serials=walk.serials)
    assert response.status_code == 201
    assert {item["verdict"] for item in response.json()["items"]} == {"accepted"}


def vehicle_maker_produces_bikes_with_the_batteries(walk: Walk) -> None:
    chain = walk.chain
    code = chain.maker.organization.enterprise_code
    walk.frame_nos = [f"{code}226{n:08d}" for n in range(90_000_001, 90_000_001 + BIKES)]
    items = [
        {"frame_no": f, "motor_no": f"MW{f[-8:]}", "produced_on": PRODUCED_ON, "battery_serials": [s]}
        for f, s in zip(walk.frame_nos, walk.serials, strict=True)
    ]
    # a battery still at its maker is not the vehicle maker's to fit
    elsewhere = {**items[0], "frame_no": f"{code}22699999999", "battery_serials": [chain.battery().serial]}
    refused = api_client(chain.maker).post(
        "/api/v1/vehicles/bulk/", {"model": chain.model.code, "items": [elsewhere]}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_in_stock"
    response = api_client(chain.maker).post(
        "/api/v1/vehicles/bulk/", {"model": chain.model.code, "items": items}, format="json"
    )
    assert response.status_code == 201 and response.json() == {"created": BIKES}


def vehicle_maker_ships_the_bikes_to_the_dealer(walk: Walk) -> None:
    chain = walk.chain
    response = ship(chain.maker, chain.world.dealer.organization, walk.frame_nos)
    assert response.status_code == 201
    walk.shipments["bikes"] = response.json()["id"]
    assert {item["ref"] for item in response.json()["items"]} == {*walk.frame_nos, *walk.serials}


def dealer_receives_the_bikes_with_their_batteries(walk: Walk) -> None:
    chain = walk.chain
    maker = chain.maker.organization
    # another dealer may not receive them, and nothing changes for it
    other = receive(chain.world.other_dealer, maker, walk.frame_nos[:1]).json()["items"]
    assert other[0]["reasons"] == ["shipped_to_another"]
    response = receive(chain.world.dealer, maker, walk.frame_nos, walk.serials)
    assert response.status_code == 201
    items = response.json()["items"]
    assert {(i["ref"], i["verdict"]) for i in items} == {(ref, "accepted") for ref in (*walk.frame_nos, *walk.serials)}
    shipment = api_client(chain.world.dealer).get(f"/api/v1/shipments/{walk.shipments['bikes']}/").json()
    assert shipment["status"] == "received"


def dealer_sells_a_bike(walk: Walk) -> None:
    chain = walk.chain
    frame_no, serial = walk.frame_nos[0], walk.serials[0]
    body = {"frame_no": frame_no, "battery_serials": [serial], "buyer": BUYER}
    assert api_client(chain.world.other_dealer).post("/api/v1/sales/", body, format="json").status_code == 409
    response = api_client(chain.world.dealer).post("/api/v1/sales/", body, format="json")
    assert response.status_code == 201, response.json()
    walk.sold = frame_no
    bike = walk.bike
    assert (bike.status, Battery.objects.get(serial=serial).vehicle_id) == ("registered", bike.pk)


def the_owner_swaps_its_battery_in_a_charging_cabinet(walk: Walk) -> None:
    """A charging operator of 德城区 gets a shared pack from the battery maker by shipment, registers a cabinet, and
    reports the swap in which the owner put the bike's battery in and took the pack out."""
    chain = walk.chain
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州市安充智能充电服务有限公司")
    other_operator = _member(OrganizationKind.CHARGING_OPERATOR, "330206", name="宁波北仑快换能源有限公司")
    pack = {"model": chain.battery_model.code, "items": [{"serial": OPERATOR_PACK, "produced_on": PRODUCED_ON}]}
    assert api_client(chain.battery_maker).post("/api/v1/batteries/bulk/", pack, format="json").status_code == 201
    assert ship(chain.battery_maker, operator.organization, serials=[OPERATOR_PACK]).status_code == 201
    received = receive(operator, chain.battery_maker.organization, serials=[OPERATOR_PACK])
    assert [item["verdict"] for item in received.json()["items"]] == ["accepted"]

    cabinet = {"code": "DZ-DC-001", "name": "新湖大街换电柜", "region_code": "371402", "address": "新湖大街 1 号"}
    response = api_client(operator).post("/api/v1/swap-stations/", cabinet, format="json")
    assert response.status_code == 201, response.json()
    walk.station = cabinet["code"]
    swap = {
        "station": walk.station,
        "battery_in": walk.serials[0],
        "battery_out": OPERATOR_PACK,
        "occurred_at": "2026-04-02T08:30:00",
        "temperature_c": 31.5,
        "voltage_v": "52.40",
        "alarm": "none",
    }
    # another operator's platform cannot report a swap in this operator's cabinet
    other = api_client(other_operator).post("/api/v1/swap-events/", {"items": [swap]}, format="json")
    assert other.status_code == 201 and other.json() == {
        "accepted": 0,
        "rejected": [{"index": 0, "code": "unknown_station"}],
    }
    response = api_client(operator).post("/api/v1/swap-events/", {"items": [swap]}, format="json")
    assert response.status_code == 201 and response.json() == {"accepted": 1, "rejected": []}
    swapped = walk.bike.events.get(type="swapped")
    assert (swapped.payload["direction"], swapped.battery.serial) == ("in", walk.serials[0])


def a_repair_shop_repairs_the_bike(walk: Walk) -> None:
    chain, bike = walk.chain, walk.bike
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信电动车维修部")
    body = {"frame_no": bike.frame_no, "kind": "brake_tyre", "notes": "更换刹车片"}
    # naming the frame number is not showing the bike: the same answer as an unknown one
    refused = api_client(shop).post("/api/v1/repairs/", body, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_vehicle"
    response = api_client(shop).post("/api/v1/repairs/", {**body, "vehicle_code": bike.code}, format="json")
    assert response.status_code == 201, response.json()
    assert (
        api_client(chain.world.other_city_regulator).get(f"/api/v1/repairs/{response.json()['id']}/").status_code == 404
    )


def the_owner_trades_the_bike_in_for_another(walk: Walk) -> None:
    """At the dealer's counter, the old bike shown by its QR code, the same owner's data reused, the subsidy of
    德城区's policy for a new-standard bike."""
    chain, old = walk.chain, walk.bike
    counter_for(chain)  # 德城区's subsidy policy
    body = {
        "old": {"frame_no": old.frame_no, "vehicle_code": old.code},
        "subsidy_yuan": "200.00",
        "sale": {"frame_no": walk.frame_nos[1], "battery_serials": [walk.serials[1]]},
    }
    # another dealer does not have the new bike: refused, and the old registration stays active
    other = api_client(chain.world.other_dealer).post("/api/v1/trade-ins/", body, format="json")
    assert other.status_code == 409 and Registration.objects.get(vehicle=old).status == "active"
    response = api_client(chain.world.dealer).post("/api/v1/trade-ins/", body, format="json")
    assert response.status_code == 201, response.json()
    traded = response.json()
    assert (traded["old"]["kind"], traded["old"]["status"], traded["subsidy_yuan"]) == (
        "new_standard",
        "cancelled",
        200,
    )
    new = Vehicle.objects.get(frame_no=walk.frame_nos[1])
    assert new.registrations.get(status="active").owner_id == Registration.objects.get(vehicle=old).owner_id


def the_recycler_takes_the_old_bike_back(walk: Walk) -> None:
    old = walk.bike
    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德州市绿源再生资源回收有限公司")
    body = {"kind": "vehicle", "ref": old.frame_no, "disposal": "dismantle"}
    refused = api_client(recycler).post("/api/v1/recycling/", {**body, "vehicle_code": "WRONG"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_item"
    response = api_client(recycler).post("/api/v1/recycling/", {**body, "vehicle_code": old.code}, format="json")
    assert response.status_code == 201, response.json()
    old.refresh_from_db()
    assert (old.status, old.holder_id) == ("recycled", recycler.organization_id)
    assert TradeIn.objects.get(old_vehicle=old).handed_over_at is not None


def the_bikes_ledger_exports_as_epcis(walk: Walk) -> None:
    """The last step, whatever came before: the whole ledger as a schema-valid EPCIS 2.0 document, one event per
    step in the ledger's order, to the regulator of the owner's district and to no outsider."""
    bike = walk.bike
    url = f"/api/v1/vehicles/{bike.frame_no}/epcis/"
    document = api_client(walk.chain.world.district_regulator).get(url).json()
    assert list(Draft7Validator(EPCIS_SCHEMA).iter_errors(document)) == []
    steps = [e.type for e in bike.events.exclude(type="complaint").order_by("seq")]
    events = document["epcisBody"]["eventList"]
    assert [e["ebike:eventType"] for e in events] == steps
    assert [e["ebike:ledgerHash"] for e in events] == list(
        bike.events.exclude(type="complaint").order_by("seq").values_list("hash", flat=True)
    )
    for outsider in (walk.chain.world.other_dealer, walk.chain.world.other_city_regulator):
        assert api_client(outsider).get(url).status_code == 404


# The walk so far. The rest of the chain is added here, after the sale, in the order a bike lives it: a swap in a
# charging cabinet, a repair, a trade-in, the recycler's take-back, the EPCIS export of the whole ledger.
STEPS: list[Callable[[Walk], None]] = [
    battery_maker_produces,
    battery_maker_ships_to_the_vehicle_maker,
    vehicle_maker_receives_the_batteries,
    vehicle_maker_produces_bikes_with_the_batteries,
    vehicle_maker_ships_the_bikes_to_the_dealer,
    dealer_receives_the_bikes_with_their_batteries,
    dealer_sells_a_bike,
    the_owner_swaps_its_battery_in_a_charging_cabinet,
    a_repair_shop_repairs_the_bike,
    the_owner_trades_the_bike_in_for_another,
    the_recycler_takes_the_old_bike_back,
    the_bikes_ledger_exports_as_epcis,  # stays last
]


@pytest.fixture
def walked(chain) -> Walk:
    walk = Walk(chain)
    for step in STEPS:
        step(walk)
    return walk


def test_the_ledger_of_the_walk_verifies(walked):
    bike = walked.bike
    types = [event.type for event in bike.events.order_by("seq")]
    assert types == [
        "produced",
        "battery_fitted",
        "shipped",
        "shipped",  # its battery, with it
        "receipt_rejected",  # at the other dealer, who had no business receiving them
        "receipt_rejected",
        "received",
        "received",
        "sold",
        "registered",
        "swapped",  # its battery put into the operator's cabinet
        "repaired",
        "registration_cancelled",  # the trade-in: 以旧换新
        "traded_in",
        "battery_removed",  # at the recycler, who dismantles it
        "recycled",
    ]
    assert chain_verify(bike).valid
    for serial in walked.serials:
        battery = Battery.objects.get(serial=serial)
        assert chain_verify(battery).valid  # its own chain, up to the vehicle maker's stock
        own_chain = [e.type for e in battery.events.filter(vehicle__isnull=True).order_by("seq")]
        if serial == walked.serials[0]:  # the dealer tried to receive it from the battery maker
            assert own_chain == ["produced", "shipped", "receipt_rejected", "received"]
        else:
            assert own_chain == ["produced", "shipped", "received"]
    # as the API says it, to the selling dealer and to the regulator of the owner's district …
    for insider in (walked.chain.world.dealer, walked.chain.world.district_regulator):
        response = api_client(insider).get(f"/api/v1/vehicles/{bike.frame_no}/verify/")
        assert response.status_code == 200
        assert response.json() == {"valid": True, "events": len(types), "first_bad_seq": None}
    # … and to no one else
    for outsider in (walked.chain.world.other_dealer, walked.chain.world.other_city_regulator):
        assert api_client(outsider).get(f"/api/v1/vehicles/{bike.frame_no}/verify/").status_code == 404
    assert api_client().get(f"/api/v1/vehicles/{bike.frame_no}/verify/").status_code == 401


def test_the_unsold_bike_waits_in_the_dealers_stock_with_its_battery(walked):
    dealer = walked.chain.world.dealer
    stock = api_client(dealer).get("/api/v1/stock/").json()["results"]
    assert [row["frame_no"] for row in stock] == walked.frame_nos[2:]
    battery = Battery.objects.get(serial=walked.serials[2])
    assert (battery.status, battery.holder_id) == ("fitted", dealer.organization_id)
    assert chain_verify(Vehicle.objects.get(frame_no=walked.frame_nos[2])).valid

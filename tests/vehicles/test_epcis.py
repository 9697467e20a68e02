"""The EPCIS export of a bike's ledger: a GS1 EPCIS 2.0 document valid against GS1's JSON schema, for a bike with
its production, sale, a repair that replaced its battery, a swap of that battery in a cabinet and its recycling;
each step mapped to the CBV; scoped like the dossier (another city's regulator, another dealer, the public: 404)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft7Validator

from core.models import OrganizationKind
from recycling.services import recycling_record
from repairs.services import repair_record
from tests.chain import BUYER
from tests.conftest import _member, api_client
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Vehicle
from vehicles.registration import BuyerData, registration_cancel, registration_create

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
URI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s]+$")
URI_KEYS = {"id", "eventID", "parentID", "epcList", "childEPCs", "readPoint", "bizLocation", "source", "destination"}


@pytest.fixture
def life(chain, world):
    """A bike's whole life: produced, received, sold with its battery, repaired with a new battery, that battery
    swapped in a cabinet, the registration cancelled, and the bike taken back and dismantled."""
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信电动车维修部")
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    recycler = _member(OrganizationKind.RECYCLER, "371425", name="德州市绿源再生资源回收有限公司")
    vehicle, battery = chain.in_stock(world.dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=world.dealer.organization,
            registered_at=timezone.now() - dt.timedelta(days=60),
        )
    spare = chain.battery()
    repair_record(
        user=shop,
        frame_no=vehicle.frame_no,
        kind="battery_replacement",
        removed_battery_serials=[battery.serial],
        fitted_battery_serials=[spare.serial],
        performed_at=timezone.now() - dt.timedelta(days=20),
        vehicle_code=vehicle.code,
    )
    with transaction.atomic():  # the swap service's step on the chain of the bike the battery is in
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        event_append(
            vehicle=locked,
            battery=Battery.objects.get(pk=spare.pk),
            type=EventType.SWAPPED,
            occurred_at=timezone.now() - dt.timedelta(days=10),
            region_code="371402",
            organization_id=operator.organization_id,
            payload={
                "swap": 1,
                "station": 7,
                "temperature_c": "61.5",
                "voltage_v": "52.40",
                "alarm": "over_temperature",
                "direction": "in",
            },
        )
    registration_cancel(user=world.police, frame_no=vehicle.frame_no, reason="车辆报废", cancelled_at=timezone.now())
    recycling_record(
        user=recycler, kind="vehicle", ref=vehicle.frame_no, disposal="dismantle", vehicle_code=vehicle.code
    )
    vehicle.refresh_from_db()
    return vehicle, battery, spare


def _uris(node, key=None):
    """Every identifier in the document (values under the keys that hold URIs)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _uris(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _uris(v, key)
    elif key in URI_KEYS and isinstance(node, str):
        yield node


def test_the_export_is_a_schema_valid_epcis_document_of_the_whole_life(world, life):
    vehicle, old, new = life
    response = api_client(world.district_regulator).get(f"/api/v1/vehicles/{vehicle.frame_no}/epcis/")
    assert response.status_code == 200, response.content
    document = response.json()
    errors = sorted(Draft7Validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert document["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    assert all(URI.match(uri) for uri in _uris(document)), [u for u in _uris(document) if not URI.match(u)]

    events = document["epcisBody"]["eventList"]
    steps = [e["ebike:eventType"] for e in events]
    assert steps[0] == "produced" and steps[-1] == "recycled"
    assert "complaint" not in steps
    by_step = {}
    for event in events:
        by_step.setdefault(event["ebike:eventType"], []).append(event)
    bike = f"http://testserver/v/{vehicle.code}"

    produced = by_step["produced"][0]
    assert produced["type"] == "ObjectEvent" and produced["action"] == "ADD" and produced["epcList"] == [bike]
    assert produced["bizStep"] == "commissioning" and produced["disposition"] == "active"
    assert produced["ilmd"]["ebike:model"] == "DQ-1"
    sold = by_step["sold"][0]
    assert sold["bizStep"] == "retail_selling" and sold["disposition"] == "retail_sold"
    assert by_step["registered"][0]["bizStep"] == "http://testserver/epcis/voc/bizstep/registering"

    fitted = by_step["battery_fitted"]
    assert [e["type"] for e in fitted] == ["AggregationEvent", "AggregationEvent"]
    assert fitted[0]["parentID"] == bike and fitted[0]["childEPCs"] == [f"http://testserver/v/{old.code}"]
    assert fitted[1]["childEPCs"] == [f"http://testserver/v/{new.code}"] and fitted[1]["action"] == "ADD"
    assert fitted[0]["bizStep"] == "installing"
    removed = by_step["battery_removed"]
    assert removed[0]["type"] == "AggregationEvent" and removed[0]["action"] == "DELETE"
    assert removed[0]["childEPCs"] == [f"http://testserver/v/{old.code}"] and removed[0]["bizStep"] == "removing"

    repaired = by_step["repaired"][0]
    assert repaired["bizStep"] == "repairing" and repaired["ebike:repairKind"] == "battery_replacement"
    assert repaired["readPoint"]["id"].startswith("http://testserver/epcis/org/")
    assert repaired["bizLocation"]["id"] == "http://testserver/epcis/region/371402"

    swapped = by_step["swapped"][0]
    assert swapped["epcList"] == [f"http://testserver/v/{new.code}"] and swapped["bizStep"] == "sensor_reporting"
    assert swapped["readPoint"]["id"] == "http://testserver/epcis/station/7"
    (reports,) = [element["sensorReport"] for element in swapped["sensorElementList"]]
    assert {"type": "Temperature", "value": 61.5, "uom": "CEL", "exception": "ALARM_CONDITION"} in reports

    recycled = by_step["recycled"][-1]
    assert recycled["epcList"] == [bike] and recycled["bizStep"] == "destroying"
    assert recycled["disposition"] == "destroyed"
    cancelled = by_step["registration_cancelled"][0]
    assert cancelled["disposition"] == "inactive"

    # Event ids are stable: the same export twice names the same events.
    again = api_client(world.district_regulator).get(f"/api/v1/vehicles/{vehicle.frame_no}/epcis/").json()
    assert [e["eventID"] for e in again["epcisBody"]["eventList"]] == [e["eventID"] for e in events]
    assert len({e["eventID"] for e in events}) == len(events)
    names = {
        element["id"]: element["attributes"][0]["attribute"]
        for vocabulary in document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        for element in vocabulary["vocabularyElementList"]
    }
    assert names["http://testserver/epcis/region/371402"] == "德城区"
    assert "德城区诚信电动车维修部" in names.values()


def test_the_export_carries_no_personal_data(world, life):
    vehicle, _old, _new = life
    text = api_client(world.district_regulator).get(f"/api/v1/vehicles/{vehicle.frame_no}/epcis/").content.decode()
    for personal in (BUYER["name"], BUYER["id_number"], BUYER["phone"]):
        assert personal not in text


def test_a_stolen_report_reads_as_the_cbv_stolen_disposition(world, chain):
    vehicle, battery = chain.in_stock(world.dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=world.dealer.organization,
            registered_at=timezone.now() - dt.timedelta(days=5),
        )
    client = api_client(world.police)
    url = f"/api/v1/vehicles/{vehicle.frame_no}/"
    assert (
        client.post(url + "stolen/", {"report_no": "A-1", "reported_at": timezone.now()}, format="json").status_code
        == 201
    )
    assert client.post(url + "found/", {}, format="json").status_code == 200
    document = api_client(world.city_regulator).get(url + "epcis/").json()
    assert list(Draft7Validator(SCHEMA).iter_errors(document)) == []
    stolen, found = document["epcisBody"]["eventList"][-2:]
    assert stolen["disposition"] == "stolen" and stolen["persistentDisposition"] == {"set": ["stolen"]}
    assert found["persistentDisposition"] == {"unset": ["stolen"]} and found["disposition"] == "active"


def test_the_export_is_scoped_like_the_dossier(world, chain):
    vehicle, _battery = chain.in_stock(world.dealer)
    url = f"/api/v1/vehicles/{vehicle.frame_no}/epcis/"
    assert api_client(world.dealer).get(url).status_code == 200  # the bike is in its stock
    assert api_client(world.city_regulator).get(url).status_code == 200
    assert api_client(world.other_dealer).get(url).status_code == 404
    assert api_client(world.other_city_regulator).get(url).status_code == 404
    assert api_client().get(url).status_code == 401
    assert api_client(world.city_regulator).get("/api/v1/vehicles/140299999999999/epcis/").status_code == 404

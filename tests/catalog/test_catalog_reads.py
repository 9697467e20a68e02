"""The catalog is public reference data: every logged-in user reads every maker's models and the standards."""

import pytest

from catalog.models import Standard
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory
from tests.conftest import api_client

READERS = ["city_regulator", "other_city_regulator", "police", "dealer", "far_dealer", "superuser"]


@pytest.fixture
def catalog(maker, other_maker, battery_maker):
    lithium = BatteryModelFactory(code="LD-4820-LFP", maker=battery_maker.organization)
    lead = BatteryModelFactory(code="LD-4820-PB", maker=battery_maker.organization, lead_acid=True)
    charger = ChargerModelFactory(code="CH-48", maker=battery_maker.organization)
    mine = VehicleModelFactory(
        code="TDT-A", maker=maker.organization, compatible_battery_models=[lithium], compatible_charger_models=[charger]
    )
    theirs = VehicleModelFactory(code="TDT-B", maker=other_maker.organization, compatible_battery_models=[lead])
    old = VehicleModelFactory(code="TDT-OLD", maker=other_maker.organization, old_standard=True)
    return {"lithium": lithium, "lead": lead, "charger": charger, "mine": mine, "theirs": theirs, "old": old}


def _codes(response):
    assert response.status_code == 200, response.json()
    return [row["code"] for row in response.json()["results"]]


@pytest.mark.parametrize("who", READERS)
def test_everyone_logged_in_reads_every_makers_vehicle_models(world, catalog, who):
    response = api_client(getattr(world, who)).get("/api/v1/catalog/vehicle-models/")
    assert _codes(response) == ["TDT-A", "TDT-B", "TDT-OLD"]
    assert response.json()["next"] is None and response.json()["count"] == 3


def test_makers_read_each_others_models(catalog, maker, battery_maker):
    assert "TDT-B" in _codes(api_client(maker).get("/api/v1/catalog/vehicle-models/"))
    assert {"LD-4820-LFP", "LD-4820-PB"} <= set(_codes(api_client(maker).get("/api/v1/catalog/battery-models/")))
    assert _codes(api_client(battery_maker).get("/api/v1/catalog/charger-models/")) == ["CH-48"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/catalog/vehicle-models/",
        "/api/v1/catalog/vehicle-models/TDT-A/",
        "/api/v1/catalog/battery-models/",
        "/api/v1/catalog/battery-models/LD-4820-LFP/",
        "/api/v1/catalog/charger-models/",
        "/api/v1/catalog/charger-models/CH-48/",
        "/api/v1/catalog/standards/",
        "/api/v1/catalog/standards/GB17761-2024/",
    ],
)
def test_anonymous_reads_nothing(catalog, path):
    response = api_client().get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_vehicle_model_detail_shows_spec_certificate_and_configuration(world, catalog, maker):
    response = api_client(world.far_dealer).get("/api/v1/catalog/vehicle-models/TDT-A/")

    assert response.status_code == 200
    body = response.json()
    assert body["maker"] == {"id": maker.organization_id, "name": "德州德骑电动车有限公司"}
    assert body["standard"] == "GB17761-2024"
    assert body["compatible_battery_models"] == ["LD-4820-LFP"]
    assert body["compatible_charger_models"] == ["CH-48"]
    assert body["ccc_valid_until"] == "2030-12-31" and body["ccc_valid"] is True and body["sellable"] is True
    assert {"max_speed_kmh", "mass_kg", "nominal_voltage_v", "motor_power_w", "created_at"} <= body.keys()


def test_old_standard_model_reads_as_not_sellable(world, catalog):
    body = api_client(world.dealer).get("/api/v1/catalog/vehicle-models/TDT-OLD/").json()
    assert body["standard"] == "GB17761-2018"
    assert body["ccc_valid"] is True and body["sellable"] is False


def test_expired_certificate_reads_as_invalid(world, db):
    BatteryModelFactory(code="LD-OLD", ccc_expired=True)
    body = api_client(world.dealer).get("/api/v1/catalog/battery-models/LD-OLD/").json()
    assert body["ccc_valid"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/catalog/vehicle-models/NOPE/",
        "/api/v1/catalog/battery-models/NOPE/",
        "/api/v1/catalog/charger-models/NOPE/",
        "/api/v1/catalog/standards/GB0000-1999/",
        "/api/v1/catalog/vehicle-models/" + "X" * 2000 + "/",
        "/api/v1/catalog/vehicle-models/电动车/",
    ],
)
def test_unknown_code_is_404_envelope(world, catalog, path):
    response = api_client(world.dealer).get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_vehicle_models_filter_by_maker_standard_code_and_battery(world, catalog, maker, other_maker):
    client = api_client(world.city_regulator)
    url = "/api/v1/catalog/vehicle-models/"
    assert _codes(client.get(url, {"maker": maker.organization_id})) == ["TDT-A"]
    assert _codes(client.get(url, {"maker": other_maker.organization_id})) == ["TDT-B", "TDT-OLD"]
    assert _codes(client.get(url, {"standard": "GB17761-2018"})) == ["TDT-OLD"]
    assert _codes(client.get(url, {"code": "TDT-B"})) == ["TDT-B"]
    assert _codes(client.get(url, {"battery_model": "LD-4820-PB"})) == ["TDT-B"]
    assert _codes(client.get(url, {"standard": "GB17761-2024", "maker": maker.organization_id})) == ["TDT-A"]


def test_battery_models_filter_by_chemistry_maker_and_vehicle_model(world, catalog, battery_maker):
    client = api_client(world.police)
    url = "/api/v1/catalog/battery-models/"
    assert _codes(client.get(url, {"chemistry": "lead_acid"})) == ["LD-4820-PB"]
    assert _codes(client.get(url, {"vehicle_model": "TDT-A"})) == ["LD-4820-LFP"]
    assert len(_codes(client.get(url, {"maker": battery_maker.organization_id}))) == 2


@pytest.mark.parametrize(
    "query",
    [
        {"maker": "abc"},
        {"maker": "99999999999999999999999"},
        {"maker": "-1"},
        {"maker": "1.5"},
        {"chemistry": "plutonium"},
        {"page": "x"},
        {"page_size": "-1"},
        {"standard": "x" * 5000},
    ],
)
def test_odd_list_queries_never_500(world, catalog, query):
    for url in ["/api/v1/catalog/vehicle-models/", "/api/v1/catalog/battery-models/"]:
        response = api_client(world.dealer).get(url, query)
        assert response.status_code in {200, 400, 404}, (url, query, response.content)
        if response.status_code != 200:
            assert "error" in response.json()


def test_lists_are_paginated(world, db):
    BatteryModelFactory.create_batch(3)
    body = api_client(world.dealer).get("/api/v1/catalog/battery-models/", {"page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"] and body["count"] == 3


def test_standards_list_their_limits_with_the_source(world, db):
    response = api_client(world.far_dealer).get("/api/v1/catalog/standards/")

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert set(rows) == {"GB17761-2018", "GB17761-2024", "GB43854-2024"}
    current = rows["GB17761-2024"]
    assert current["kind"] == "vehicle" and current["in_force_from"] == "2025-09-01"
    assert current["max_design_speed_kmh"] == 25 and current["max_nominal_voltage_v"] == 48
    assert current["max_motor_power_w"] == 400 and current["max_mass_kg"] == 55
    assert current["max_mass_lead_acid_kg"] == 63 and current["max_output_voltage_v"] == 60
    assert current["source"].startswith("GB 17761-2024")
    assert rows["GB17761-2018"]["sale_cutoff"] == "2025-12-01"
    assert rows["GB43854-2024"]["max_motor_power_w"] is None


def test_standards_filter_by_kind_and_show_an_edited_limit(world, db):
    Standard.objects.filter(code="GB43854-2024").update(max_nominal_voltage_v=60)
    client = api_client(world.police)
    assert _codes(client.get("/api/v1/catalog/standards/", {"kind": "battery"})) == ["GB43854-2024"]
    assert client.get("/api/v1/catalog/standards/GB43854-2024/").json()["max_nominal_voltage_v"] == 60

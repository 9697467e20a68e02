"""Manufacturers file vehicle models (API.md "Catalog"): within the standard's limits, with matching 标配."""

import datetime as dt

import pytest

from catalog.models import VehicleModel
from core.models import AuditEntry
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory
from tests.conftest import api_client

URL = "/api/v1/catalog/vehicle-models/"


@pytest.fixture
def lithium(db):
    return BatteryModelFactory(code="LD-4820-LFP")


@pytest.fixture
def lead_acid(db):
    return BatteryModelFactory(code="LD-4820-PB", lead_acid=True)


def _payload(**overrides):
    body = {
        "code": "TDT-2026A",
        "name": "德骑 轻享 2026",
        "standard": "GB17761-2024",
        "ccc_cert_no": "2024011119000777",
        "ccc_valid_until": "2029-12-31",
        "max_speed_kmh": 25,
        "mass_kg": 54.5,
        "nominal_voltage_v": 48,
        "motor_power_w": 400,
        "compatible_battery_models": ["LD-4820-LFP"],
    }
    body.update(overrides)
    return body


def test_manufacturer_files_a_vehicle_model_with_its_battery_configuration(maker, lithium):
    response = api_client(maker).post(URL, _payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] and body["code"] == "TDT-2026A" and body["standard"] == "GB17761-2024"
    assert body["maker"] == {"id": maker.organization_id, "name": "德州德骑电动车有限公司"}
    assert body["max_speed_kmh"] == 25 and body["mass_kg"] == 54.5
    assert body["nominal_voltage_v"] == 48 and body["motor_power_w"] == 400
    assert body["compatible_battery_models"] == ["LD-4820-LFP"]
    assert body["ccc_valid"] is True and body["sellable"] is True
    model = VehicleModel.objects.get(code="TDT-2026A")
    assert list(model.compatible_battery_models.all()) == [lithium]
    assert model.maker == maker.organization
    assert AuditEntry.objects.filter(action="catalog.vehicle_model.create", target_id=str(model.pk)).exists()


def test_compatible_chargers_may_be_named(maker, lithium):
    ChargerModelFactory(code="CH-48-2A")
    response = api_client(maker).post(URL, _payload(compatible_charger_models=["CH-48-2A"]), format="json")
    assert response.status_code == 201
    assert response.json()["compatible_charger_models"] == ["CH-48-2A"]


def test_every_breach_of_the_standard_is_listed_in_one_refusal(maker, lithium):
    body = _payload(max_speed_kmh=32, mass_kg=58, nominal_voltage_v=60, motor_power_w=800)
    response = api_client(maker).post(URL, body, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "exceeds_standard"
    assert set(error["fields"]) == {"max_speed_kmh", "mass_kg", "nominal_voltage_v", "motor_power_w"}
    assert "25" in error["fields"]["max_speed_kmh"][0] and "400" in error["fields"]["motor_power_w"][0]
    assert "55" in error["fields"]["mass_kg"][0] and "48" in error["fields"]["nominal_voltage_v"][0]
    assert "GB17761-2024" in error["message"]
    assert "GB 17761-2024 电动自行车安全技术规范" in error["message"]  # the source of the limits
    assert not VehicleModel.objects.exists()


@pytest.mark.parametrize(
    "field, over, at_limit",
    [("max_speed_kmh", 25.1, 25), ("motor_power_w", 401, 400), ("mass_kg", 55.1, 55)],
)
def test_a_limit_is_inclusive(maker, lithium, field, over, at_limit):
    response = api_client(maker).post(URL, _payload(**{field: over}), format="json")
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {field}
    assert api_client(maker).post(URL, _payload(**{field: at_limit}), format="json").status_code == 201


def test_lead_acid_only_configuration_may_weigh_up_to_the_lead_acid_limit(maker, lead_acid):
    body = _payload(mass_kg=63, compatible_battery_models=["LD-4820-PB"])
    assert api_client(maker).post(URL, body, format="json").status_code == 201

    response = api_client(maker).post(
        URL, _payload(code="TDT-2026B", mass_kg=63.5, compatible_battery_models=["LD-4820-PB"]), format="json"
    )
    assert response.status_code == 422
    assert "63" in response.json()["error"]["fields"]["mass_kg"][0]


def test_mixed_configuration_is_held_to_the_lithium_mass_limit(maker, lithium, lead_acid):
    body = _payload(mass_kg=60, compatible_battery_models=["LD-4820-PB", "LD-4820-LFP"])
    response = api_client(maker).post(URL, body, format="json")
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"mass_kg"}


def test_a_standard_without_a_lead_acid_limit_keeps_the_general_mass_limit(maker, lead_acid, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: dt.date(2025, 11, 30))
    body = _payload(standard="GB17761-2018", mass_kg=60, compatible_battery_models=["LD-4820-PB"])
    response = api_client(maker).post(URL, body, format="json")
    assert response.status_code == 422
    assert "55" in response.json()["error"]["fields"]["mass_kg"][0]


def test_battery_of_another_voltage_is_incompatible(maker, lithium):
    BatteryModelFactory(code="LD-3612", nominal_voltage_v=36)
    body = _payload(compatible_battery_models=["LD-4820-LFP", "LD-3612"])
    response = api_client(maker).post(URL, body, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "battery_incompatible"
    assert "LD-3612" in error["fields"]["compatible_battery_models"][0]
    assert not VehicleModel.objects.exists()


def test_unknown_battery_codes_are_400_naming_each(maker, lithium):
    body = _payload(compatible_battery_models=["LD-4820-LFP", "NOPE-1", "NOPE-2"])
    response = api_client(maker).post(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_battery_model"
    assert "NOPE-1" in error["message"] and "NOPE-2" in error["message"]
    assert len(error["fields"]["compatible_battery_models"]) == 2


def test_a_vehicle_model_needs_at_least_one_battery_model(maker):
    response = api_client(maker).post(URL, _payload(compatible_battery_models=[]), format="json")
    assert response.status_code == 400
    assert "compatible_battery_models" in response.json()["error"]["fields"]


@pytest.mark.parametrize("standard", ["GB17761-2030", "GB43854-2024", ""])
def test_unknown_or_non_vehicle_standard_is_400(maker, lithium, standard):
    response = api_client(maker).post(URL, _payload(standard=standard), format="json")
    assert response.status_code == 400
    assert "standard" in response.json()["error"]["fields"]


def test_old_standard_is_refused_after_its_sale_cutoff(maker, lithium):
    response = api_client(maker).post(URL, _payload(standard="GB17761-2018"), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "standard_withdrawn"
    assert not VehicleModel.objects.exists()


def test_old_standard_was_accepted_the_day_before_its_cutoff(maker, lithium, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: dt.date(2025, 11, 30))
    response = api_client(maker).post(URL, _payload(standard="GB17761-2018"), format="json")
    assert response.status_code == 201
    assert response.json()["standard"] == "GB17761-2018"


@pytest.mark.parametrize("certificate", [{"ccc_cert_no": ""}, {"ccc_cert_no": None}])
def test_vehicle_model_without_ccc_is_refused(maker, lithium, certificate):
    response = api_client(maker).post(URL, _payload(ccc_valid_until=None, **certificate), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "uncertified"


def test_vehicle_model_with_expired_ccc_is_refused(maker, lithium):
    response = api_client(maker).post(URL, _payload(ccc_valid_until="2026-01-01"), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "certificate_expired"


def test_duplicate_code_is_409(maker, other_maker, lithium):
    VehicleModelFactory(code="TDT-2026A")
    for user in (maker, other_maker):
        response = api_client(user).post(URL, _payload(), format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "model_code_taken"
    assert VehicleModel.objects.count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_speed_kmh", "fast"),
        ("max_speed_kmh", 0),
        ("mass_kg", 1e9),
        ("motor_power_w", 350.5),
        ("motor_power_w", 2**40),
        ("motor_power_w", True),
        ("compatible_battery_models", "LD-4820-LFP"),
        ("compatible_battery_models", {"code": "LD-4820-LFP"}),
        ("compatible_battery_models", [["nested"]]),
        ("compatible_battery_models", ["X"] * 101),
        ("standard", ["GB17761-2024"]),
    ],
)
def test_invalid_fields_are_400_naming_the_field(maker, lithium, field, value):
    response = api_client(maker).post(URL, _payload(**{field: value}), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]


def test_missing_fields_are_400_listing_each(maker):
    response = api_client(maker).post(URL, {"code": "TDT-1"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    for field in ["name", "standard", "max_speed_kmh", "mass_kg", "nominal_voltage_v", "motor_power_w"]:
        assert field in fields


@pytest.mark.parametrize("who", ["battery_maker", "dealer", "regulator", "other_city_regulator", "police", "superuser"])
def test_only_manufacturers_file_vehicle_models(world, battery_maker, lithium, who):
    user = {
        "battery_maker": battery_maker,
        "dealer": world.dealer,
        "regulator": world.city_regulator,
        "other_city_regulator": world.other_city_regulator,
        "police": world.police,
        "superuser": world.superuser,
    }[who]
    response = api_client(user).post(URL, _payload(), format="json")
    assert response.status_code == 403
    assert not VehicleModel.objects.exists()


def test_anonymous_cannot_file(db):
    assert api_client().post(URL, _payload(), format="json").status_code == 401

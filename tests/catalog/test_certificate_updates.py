"""Makers renew the CCC certificate of their own models (PATCH); nothing else of a filed model changes."""

import datetime as dt

import pytest

from catalog.models import BatteryModel, VehicleModel
from core.models import AuditEntry
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory
from tests.conftest import api_client

RENEWED = {"ccc_cert_no": "2026011119000001", "ccc_valid_until": "2031-12-31"}


@pytest.fixture
def vehicle_model(maker):
    return VehicleModelFactory(code="TDT-A", maker=maker.organization, ccc_expired=True)


@pytest.fixture
def battery_model(battery_maker):
    return BatteryModelFactory(code="LD-4820", maker=battery_maker.organization)


def test_manufacturer_renews_its_vehicle_models_certificate(maker, vehicle_model):
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ccc_cert_no"] == RENEWED["ccc_cert_no"] and body["ccc_valid_until"] == "2031-12-31"
    assert body["ccc_valid"] is True and body["sellable"] is True
    vehicle_model.refresh_from_db()
    assert vehicle_model.ccc_valid_until == dt.date(2031, 12, 31)
    entry = AuditEntry.objects.get(action="catalog.vehicle_model.certificate_update", target_id=str(vehicle_model.pk))
    assert entry.data["after"]["ccc_cert_no"] == RENEWED["ccc_cert_no"]


def test_validity_alone_may_be_extended(battery_maker, battery_model):
    response = api_client(battery_maker).patch(
        "/api/v1/catalog/battery-models/LD-4820/", {"ccc_valid_until": "2032-01-31"}, format="json"
    )
    assert response.status_code == 200
    battery_model.refresh_from_db()
    assert battery_model.ccc_valid_until == dt.date(2032, 1, 31)
    assert battery_model.ccc_cert_no.startswith("2025")  # unchanged


def test_another_maker_gets_404_and_changes_nothing(other_maker, vehicle_model, other_battery_maker, battery_model):
    response = api_client(other_maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = api_client(other_battery_maker).patch("/api/v1/catalog/battery-models/LD-4820/", RENEWED, format="json")
    assert response.status_code == 404
    vehicle_model.refresh_from_db()
    assert vehicle_model.ccc_cert_no != RENEWED["ccc_cert_no"]


@pytest.mark.parametrize("who", ["battery_maker", "dealer", "city_regulator", "other_city_regulator", "superuser"])
def test_only_manufacturers_change_vehicle_certificates(world, battery_maker, vehicle_model, who):
    user = battery_maker if who == "battery_maker" else getattr(world, who)
    response = api_client(user).patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json")
    assert response.status_code == 403
    vehicle_model.refresh_from_db()
    assert vehicle_model.ccc_cert_no != RENEWED["ccc_cert_no"]


def test_anonymous_cannot_change_a_certificate(vehicle_model):
    response = api_client().patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json")
    assert response.status_code == 401


def test_unknown_code_is_404(maker):
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/NOPE/", RENEWED, format="json")
    assert response.status_code == 404


def test_spec_fields_cannot_be_patched(maker, vehicle_model):
    body = {**RENEWED, "max_speed_kmh": 45, "compatible_battery_models": []}
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"max_speed_kmh", "compatible_battery_models"}
    vehicle_model.refresh_from_db()
    assert vehicle_model.max_speed_kmh == 25 and vehicle_model.ccc_cert_no != RENEWED["ccc_cert_no"]


def test_empty_patch_is_400(maker, vehicle_model):
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", {}, format="json")
    assert response.status_code == 400


def test_vehicle_certificate_cannot_be_removed(maker, vehicle_model):
    body = {"ccc_cert_no": "", "ccc_valid_until": None}
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", body, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "uncertified"


def test_lithium_battery_certificate_cannot_be_removed_but_lead_acid_may_drop_it(battery_maker, battery_model):
    body = {"ccc_cert_no": "", "ccc_valid_until": None}
    client = api_client(battery_maker)
    assert client.patch("/api/v1/catalog/battery-models/LD-4820/", body, format="json").status_code == 422
    BatteryModelFactory(
        code="LD-PB",
        maker=battery_maker.organization,
        lead_acid=True,
        ccc_cert_no="X-1",
        ccc_valid_until=dt.date(2030, 1, 1),
    )
    assert client.patch("/api/v1/catalog/battery-models/LD-PB/", body, format="json").status_code == 200
    assert BatteryModel.objects.get(code="LD-PB").ccc_cert_no == ""


def test_renewal_to_a_past_date_is_refused(maker, vehicle_model):
    response = api_client(maker).patch(
        "/api/v1/catalog/vehicle-models/TDT-A/", {"ccc_valid_until": "2026-01-01"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "certificate_expired"


@pytest.mark.parametrize("body", [{"ccc_valid_until": "soon"}, {"ccc_cert_no": ["x"]}, {"ccc_cert_no": "9" * 65}])
def test_malformed_patch_is_400(maker, vehicle_model, body):
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", body, format="json")
    assert response.status_code == 400


def test_either_kind_of_maker_renews_its_own_charger(maker, battery_maker):
    ChargerModelFactory(code="CH-M", maker=maker.organization)
    ChargerModelFactory(code="CH-B", maker=battery_maker.organization)
    assert api_client(maker).patch("/api/v1/catalog/charger-models/CH-M/", RENEWED, format="json").status_code == 200
    assert api_client(maker).patch("/api/v1/catalog/charger-models/CH-B/", RENEWED, format="json").status_code == 404


def test_same_idempotency_key_replays_the_patch(maker, vehicle_model):
    client = api_client(maker)
    first = client.patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    second = client.patch("/api/v1/catalog/vehicle-models/TDT-A/", RENEWED, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true" and first.json() == second.json()
    assert AuditEntry.objects.filter(action="catalog.vehicle_model.certificate_update").count() == 1
    assert VehicleModel.objects.get(code="TDT-A").ccc_cert_no == RENEWED["ccc_cert_no"]

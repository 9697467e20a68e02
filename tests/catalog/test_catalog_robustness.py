"""Catalog writes never answer 500, and honour Idempotency-Key: a retry replays, one row is written."""

import pytest

from catalog.models import BatteryModel, ChargerModel, VehicleModel
from tests.catalog.factories import BatteryModelFactory
from tests.conftest import api_client

BAD_BODIES = [
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b"NaN",
    b'{"nominal_voltage_v": NaN}',
    b'{"code": {"nested": [1]}, "name": 5, "chemistry": null, "nominal_voltage_v": "1e400", "capacity_ah": true}',
    b'{"code": 1, "standard": {}, "max_speed_kmh": [], "motor_power_w": "99999999999999999999999999999", '
    b'"compatible_battery_models": [{}, null, 1]}',
    b'{"code": "A", "name": "' + "长".encode() * 500 + b'", "ccc_valid_until": "2026-02-30"}',
    b'{"output_voltage_v": "Infinity", "ccc_valid_until": 20301231}',
    b'{"ccc_valid_until": "9999-99-99", "compatible_battery_models": "' + b"x" * 10000 + b'"}',
    "\ufeff{}".encode(),
    b"\xff\xfe\x00",
]


@pytest.fixture
def writers(maker, battery_maker):
    return {
        "/api/v1/catalog/vehicle-models/": maker,
        "/api/v1/catalog/battery-models/": battery_maker,
        "/api/v1/catalog/charger-models/": battery_maker,
    }


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_get_a_4xx_envelope_and_write_nothing(writers, body):
    for url, user in writers.items():
        response = api_client(user).post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, response.content)
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not VehicleModel.objects.exists() and not ChargerModel.objects.exists()
    assert not BatteryModel.objects.exists()


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_patch_bodies_get_a_4xx_envelope(maker, body):
    from tests.catalog.factories import VehicleModelFactory

    VehicleModelFactory(code="TDT-A", maker=maker.organization)
    response = api_client(maker).patch("/api/v1/catalog/vehicle-models/TDT-A/", body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_form_encoded_body_is_415(battery_maker):
    response = api_client(battery_maker).post("/api/v1/catalog/battery-models/", {"code": "X"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_wrong_method_is_405(maker):
    response = api_client(maker).delete("/api/v1/catalog/vehicle-models/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


VEHICLE = {
    "code": "TDT-IDEM",
    "name": "幂等车型",
    "standard": "GB17761-2024",
    "ccc_cert_no": "2024011119000009",
    "ccc_valid_until": "2030-01-01",
    "max_speed_kmh": 25,
    "mass_kg": 50,
    "nominal_voltage_v": 48,
    "motor_power_w": 350,
    "compatible_battery_models": ["B-48"],
}


def test_same_key_and_body_replays_the_first_response_and_files_one_model(maker):
    BatteryModelFactory(code="B-48")
    client = api_client(maker)
    url = "/api/v1/catalog/vehicle-models/"
    first = client.post(url, VEHICLE, format="json", HTTP_IDEMPOTENCY_KEY="erp-42")
    second = client.post(url, VEHICLE, format="json", HTTP_IDEMPOTENCY_KEY="erp-42")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert VehicleModel.objects.filter(code="TDT-IDEM").count() == 1


def test_same_key_with_another_body_is_409(maker):
    BatteryModelFactory(code="B-48")
    client = api_client(maker)
    url = "/api/v1/catalog/vehicle-models/"
    client.post(url, VEHICLE, format="json", HTTP_IDEMPOTENCY_KEY="erp-43")
    response = client.post(url, {**VEHICLE, "code": "TDT-OTHER"}, format="json", HTTP_IDEMPOTENCY_KEY="erp-43")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not VehicleModel.objects.filter(code="TDT-OTHER").exists()


def test_a_refused_filing_keeps_the_key_free_for_the_corrected_retry(battery_maker):
    client = api_client(battery_maker)
    url = "/api/v1/catalog/battery-models/"
    body = {
        "code": "B-60",
        "name": "电池",
        "chemistry": "lithium_ion",
        "nominal_voltage_v": 60,
        "capacity_ah": 20,
        "ccc_cert_no": "C-1",
        "ccc_valid_until": "2030-01-01",
    }
    assert client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    retry = client.post(url, {**body, "nominal_voltage_v": 48}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert retry.status_code == 201
    assert BatteryModel.objects.filter(code="B-60").count() == 1


def test_battery_and_charger_filings_replay_too(battery_maker):
    client = api_client(battery_maker)
    charger = {"code": "CH-1", "name": "充电器", "output_voltage_v": 54.6, "ccc_cert_no": "C-2"}
    charger["ccc_valid_until"] = "2030-01-01"
    for _ in range(2):
        response = client.post("/api/v1/catalog/charger-models/", charger, format="json", HTTP_IDEMPOTENCY_KEY="c")
        assert response.status_code == 201
    assert ChargerModel.objects.filter(code="CH-1").count() == 1


def test_every_catalog_write_handler_is_idempotent():
    from catalog.api import views

    handlers = [
        getattr(view, method)
        for name, view in vars(views).items()
        if isinstance(view, type) and not name.startswith("_")  # the routed views, not their shared bases
        for method in ("post", "patch", "put")
        if hasattr(view, method)
    ]
    assert len(handlers) == 6
    assert all(getattr(handler, "idempotent", False) for handler in handlers)

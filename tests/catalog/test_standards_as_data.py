"""The limits are data: editing a Standard row changes what is refused, with no release."""

import datetime as dt
from decimal import Decimal

from catalog.models import BatteryModel, Standard, VehicleModel
from tests.catalog.factories import BatteryModelFactory
from tests.conftest import api_client

VEHICLES = "/api/v1/catalog/vehicle-models/"
BATTERIES = "/api/v1/catalog/battery-models/"


def _vehicle(**overrides):
    body = {
        "code": "TDT-X",
        "name": "试验车型",
        "standard": "GB17761-2024",
        "ccc_cert_no": "2024011119000001",
        "ccc_valid_until": "2030-01-01",
        "max_speed_kmh": 24,
        "mass_kg": 50,
        "nominal_voltage_v": 48,
        "motor_power_w": 350,
        "compatible_battery_models": ["B-48"],
    }
    body.update(overrides)
    return body


def _battery(**overrides):
    body = {
        "code": "B-52",
        "name": "52V 锂电池",
        "chemistry": "lithium_ion",
        "nominal_voltage_v": 52,
        "capacity_ah": 20,
        "ccc_cert_no": "2025011119000001",
        "ccc_valid_until": "2030-01-01",
    }
    body.update(overrides)
    return body


def test_a_lowered_speed_limit_refuses_what_passed_before(maker):
    BatteryModelFactory(code="B-48")
    Standard.objects.filter(code="GB17761-2024").update(max_design_speed_kmh=Decimal("20"))

    response = api_client(maker).post(VEHICLES, _vehicle(), format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert set(error["fields"]) == {"max_speed_kmh"} and "20" in error["fields"]["max_speed_kmh"][0]
    assert not VehicleModel.objects.exists()


def test_an_edited_source_is_quoted_in_the_refusal(maker):
    BatteryModelFactory(code="B-48")
    Standard.objects.filter(code="GB17761-2024").update(
        max_motor_power_w=300, source="市场监管总局公告 2026年第1号 (test)"
    )
    response = api_client(maker).post(VEHICLES, _vehicle(), format="json")
    assert response.status_code == 422
    assert "市场监管总局公告 2026年第1号 (test)" in response.json()["error"]["message"]
    assert "300" in response.json()["error"]["fields"]["motor_power_w"][0]


def test_a_raised_battery_voltage_limit_admits_what_was_refused(battery_maker):
    client = api_client(battery_maker)
    assert client.post(BATTERIES, _battery(), format="json").status_code == 422

    Standard.objects.filter(code="GB43854-2024").update(max_nominal_voltage_v=Decimal("60"))

    assert client.post(BATTERIES, _battery(), format="json").status_code == 201
    assert BatteryModel.objects.filter(code="B-52").exists()


def test_a_limit_left_empty_is_not_checked(maker):
    BatteryModelFactory(code="B-48")
    Standard.objects.filter(code="GB17761-2024").update(max_mass_kg=None, max_mass_lead_acid_kg=None)
    assert api_client(maker).post(VEHICLES, _vehicle(mass_kg=80), format="json").status_code == 201


def test_a_lead_acid_limit_set_on_the_2018_edition_applies(maker, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: dt.date(2025, 11, 1))
    BatteryModelFactory(code="B-48", lead_acid=True)
    body = _vehicle(standard="GB17761-2018", mass_kg=60)
    assert api_client(maker).post(VEHICLES, body, format="json").status_code == 422

    Standard.objects.filter(code="GB17761-2018").update(max_mass_lead_acid_kg=Decimal("63"))
    assert api_client(maker).post(VEHICLES, body, format="json").status_code == 201


def test_a_moved_sale_cutoff_reopens_an_old_edition(maker):
    BatteryModelFactory(code="B-48")
    client = api_client(maker)
    assert client.post(VEHICLES, _vehicle(standard="GB17761-2018"), format="json").status_code == 422

    Standard.objects.filter(code="GB17761-2018").update(sale_cutoff=dt.date(2099, 1, 1))
    assert client.post(VEHICLES, _vehicle(standard="GB17761-2018"), format="json").status_code == 201


def test_a_new_standard_row_becomes_fileable(maker):
    BatteryModelFactory(code="B-48")
    Standard.objects.create(
        code="GB17761-2030",
        title="假设的新版",
        kind="vehicle",
        in_force_from=dt.date(2030, 1, 1),
        max_design_speed_kmh=Decimal("20"),
        source="test edition",
    )
    response = api_client(maker).post(VEHICLES, _vehicle(standard="GB17761-2030"), format="json")
    assert response.status_code == 422 and set(response.json()["error"]["fields"]) == {"max_speed_kmh"}
    response = api_client(maker).post(VEHICLES, _vehicle(standard="GB17761-2030", max_speed_kmh=20), format="json")
    assert response.status_code == 201


def test_a_missing_battery_standard_refuses_instead_of_letting_batteries_through(battery_maker):
    Standard.objects.filter(code="GB43854-2024").delete()
    response = api_client(battery_maker).post(BATTERIES, _battery(nominal_voltage_v=48), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "standard_unavailable"

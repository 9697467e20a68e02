"""The admin: the standards' limits are edited there, with their source; product models are only corrected."""

import pytest
from django.test import Client

from catalog.models import Standard
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory


@pytest.fixture
def admin_client(world):
    client = Client()
    client.force_login(world.superuser)
    return client


@pytest.mark.parametrize("model", ["standard", "vehiclemodel", "batterymodel", "chargermodel"])
def test_every_catalog_model_is_listed_in_the_admin(admin_client, model):
    VehicleModelFactory(compatible_charger_models=[ChargerModelFactory()])
    response = admin_client.get(f"/admin/catalog/{model}/")
    assert response.status_code == 200


def test_standard_change_page_shows_its_source(admin_client):
    standard = Standard.objects.get(code="GB17761-2024")
    response = admin_client.get(f"/admin/catalog/standard/{standard.pk}/change/")
    assert response.status_code == 200
    assert "GB 17761-2024 电动自行车安全技术规范" in response.content.decode()
    assert 'name="max_design_speed_kmh"' in response.content.decode()


def test_administrator_edits_a_limit_and_its_source(admin_client):
    standard = Standard.objects.get(code="GB17761-2024")
    form = {
        "code": standard.code,
        "title": standard.title,
        "kind": standard.kind,
        "in_force_from": "2025-09-01",
        "sale_cutoff": "",
        "max_design_speed_kmh": "20",
        "max_nominal_voltage_v": "48",
        "max_output_voltage_v": "60",
        "max_motor_power_w": "400",
        "max_mass_kg": "55",
        "max_mass_lead_acid_kg": "63",
        "source": "修订: 市场监管总局公告 (test)",
    }
    response = admin_client.post(f"/admin/catalog/standard/{standard.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    standard.refresh_from_db()
    assert standard.max_design_speed_kmh == 20 and standard.source == "修订: 市场监管总局公告 (test)"


def test_standards_cannot_be_deleted_from_the_admin(admin_client):
    standard = Standard.objects.get(code="GB43854-2024")
    assert admin_client.get(f"/admin/catalog/standard/{standard.pk}/delete/").status_code == 403


def test_product_models_are_filed_through_the_api_not_added_in_the_admin(admin_client):
    for model in ["vehiclemodel", "batterymodel", "chargermodel"]:
        assert admin_client.get(f"/admin/catalog/{model}/add/").status_code == 403


def test_admin_corrects_a_certificate_but_not_the_spec(admin_client):
    model = VehicleModelFactory(code="TDT-ADMIN")
    page = admin_client.get(f"/admin/catalog/vehiclemodel/{model.pk}/change/").content.decode()
    assert 'name="ccc_valid_until"' in page
    assert 'name="max_speed_kmh"' not in page and 'name="compatible_battery_models"' not in page

    form = {"name": "更正后的名称", "ccc_cert_no": "2026000000000001", "ccc_valid_until": "2031-01-01"}
    response = admin_client.post(f"/admin/catalog/vehiclemodel/{model.pk}/change/", form)
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.name == "更正后的名称" and model.ccc_cert_no == "2026000000000001"
    assert model.compatible_battery_models.count() == 1


def test_battery_model_change_page_loads(admin_client):
    model = BatteryModelFactory()
    assert admin_client.get(f"/admin/catalog/batterymodel/{model.pk}/change/").status_code == 200


def test_others_cannot_reach_the_catalog_admin(world):
    client = Client()
    client.force_login(world.city_regulator)
    response = client.get("/admin/catalog/standard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

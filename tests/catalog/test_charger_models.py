"""Charger models (API.md "Catalog", extended): filed by battery makers or manufacturers, CCC compulsory."""

import pytest

from catalog.models import ChargerModel
from tests.catalog.factories import ChargerModelFactory
from tests.conftest import api_client

URL = "/api/v1/catalog/charger-models/"


def _payload(**overrides):
    body = {
        "code": "CH-48-3A",
        "name": "48V 3A 锂电池充电器",
        "output_voltage_v": 54.6,
        "ccc_cert_no": "2025010907000321",
        "ccc_valid_until": "2030-10-31",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("who", ["maker", "battery_maker"])
def test_either_kind_of_maker_files_a_charger_model(request, who):
    user = request.getfixturevalue(who)
    response = api_client(user).post(URL, _payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"] == "CH-48-3A" and body["output_voltage_v"] == 54.6
    assert body["maker"]["id"] == user.organization_id and body["ccc_valid"] is True
    assert ChargerModel.objects.get(code="CH-48-3A").maker == user.organization


def test_charger_without_ccc_is_refused(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(ccc_cert_no="", ccc_valid_until=None), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "uncertified"
    assert not ChargerModel.objects.exists()


def test_charger_with_expired_ccc_is_refused(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(ccc_valid_until="2025-12-31"), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "certificate_expired"


def test_duplicate_charger_code_is_409(battery_maker):
    ChargerModelFactory(code="CH-48-3A")
    response = api_client(battery_maker).post(URL, _payload(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_code_taken"


@pytest.mark.parametrize("field, value", [("output_voltage_v", 0), ("output_voltage_v", "high"), ("code", "")])
def test_invalid_charger_fields_are_400(battery_maker, field, value):
    response = api_client(battery_maker).post(URL, _payload(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("who", ["dealer", "city_regulator", "other_city_regulator", "police", "superuser"])
def test_others_cannot_file_chargers(world, who):
    response = api_client(getattr(world, who)).post(URL, _payload(), format="json")
    assert response.status_code == 403
    assert not ChargerModel.objects.exists()


def test_anonymous_cannot_file_chargers(db):
    assert api_client().post(URL, _payload(), format="json").status_code == 401

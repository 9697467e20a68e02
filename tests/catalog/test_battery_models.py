"""Battery makers file battery models (API.md "Catalog"): CCC for lithium, voltage within the standard."""

import pytest

from catalog.models import BatteryModel
from core.models import AuditEntry
from tests.catalog.factories import BatteryModelFactory
from tests.conftest import api_client

URL = "/api/v1/catalog/battery-models/"


def _payload(**overrides):
    body = {
        "code": "LD-4820-LFP",
        "name": "48V 20Ah 磷酸铁锂电池",
        "chemistry": "lithium_ion",
        "nominal_voltage_v": 48,
        "capacity_ah": 20,
        "ccc_cert_no": "2025011119000123",
        "ccc_valid_until": "2030-06-30",
    }
    body.update(overrides)
    return body


def test_battery_maker_files_a_lithium_battery_model(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] and body["code"] == "LD-4820-LFP"
    assert body["maker"] == {"id": battery_maker.organization_id, "name": "山东鲁电新能源电池有限公司"}
    assert body["chemistry"] == "lithium_ion"
    assert body["nominal_voltage_v"] == 48 and body["capacity_ah"] == 20
    assert body["ccc_cert_no"] == "2025011119000123" and body["ccc_valid_until"] == "2030-06-30"
    assert body["ccc_valid"] is True
    model = BatteryModel.objects.get(pk=body["id"])
    assert model.maker == battery_maker.organization
    assert AuditEntry.objects.filter(action="catalog.battery_model.create", target_id=str(model.pk)).exists()


def test_lead_acid_battery_may_be_filed_without_ccc(battery_maker):
    body = _payload(chemistry="lead_acid", ccc_cert_no="", ccc_valid_until=None)
    response = api_client(battery_maker).post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["ccc_cert_no"] == "" and response.json()["ccc_valid"] is False


def test_lead_acid_battery_may_omit_the_ccc_fields_altogether(battery_maker):
    body = _payload(chemistry="lead_acid")
    del body["ccc_cert_no"], body["ccc_valid_until"]
    assert api_client(battery_maker).post(URL, body, format="json").status_code == 201


@pytest.mark.parametrize("missing", [{"ccc_cert_no": "", "ccc_valid_until": None}, {"ccc_cert_no": None}])
def test_lithium_battery_without_ccc_is_refused_as_uncertified(battery_maker, missing):
    body = _payload(**missing)
    if "ccc_valid_until" not in missing:
        body["ccc_valid_until"] = None
    response = api_client(battery_maker).post(URL, body, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "uncertified"
    assert "ccc_cert_no" in error["fields"]
    assert not BatteryModel.objects.exists()


def test_lithium_battery_before_ccc_became_compulsory_could_be_filed_without(battery_maker, monkeypatch):
    import datetime as dt

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: dt.date(2025, 10, 31))
    body = _payload(ccc_cert_no="", ccc_valid_until=None)
    assert api_client(battery_maker).post(URL, body, format="json").status_code == 201


def test_expired_certificate_is_refused(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(ccc_valid_until="2025-01-31"), format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "certificate_expired"
    assert set(response.json()["error"]["fields"]) == {"ccc_valid_until"}


def test_certificate_number_without_validity_is_400(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(ccc_valid_until=None), format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"ccc_valid_until"}


def test_lithium_battery_above_the_gb43854_voltage_limit_is_refused_with_limit_and_source(battery_maker):
    response = api_client(battery_maker).post(URL, _payload(nominal_voltage_v=60), format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "exceeds_standard"
    assert set(error["fields"]) == {"nominal_voltage_v"}
    assert "48" in error["fields"]["nominal_voltage_v"][0]
    assert "GB43854-2024" in error["message"] and "48" in error["message"]
    assert "GB 43854-2024 电动自行车用锂离子蓄电池安全技术规范" in error["message"]  # the source
    assert not BatteryModel.objects.exists()


def test_lead_acid_battery_is_held_to_the_vehicle_standard(battery_maker):
    body = _payload(chemistry="lead_acid", nominal_voltage_v=64, ccc_cert_no="", ccc_valid_until=None)
    response = api_client(battery_maker).post(URL, body, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "exceeds_standard"
    assert "GB17761-2024" in response.json()["error"]["message"]


def test_duplicate_code_is_409(battery_maker, other_battery_maker):
    BatteryModelFactory(code="LD-4820-LFP")
    response = api_client(battery_maker).post(URL, _payload(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_code_taken"
    response = api_client(other_battery_maker).post(URL, _payload(code="ld-4820-lfp"), format="json")
    assert response.status_code == 409  # one letter case apart is the same nameplate
    assert BatteryModel.objects.count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("chemistry", "graphene"),
        ("nominal_voltage_v", 0),
        ("nominal_voltage_v", -48),
        ("nominal_voltage_v", "forty-eight"),
        ("nominal_voltage_v", 48.25),
        ("nominal_voltage_v", 10**12),
        ("capacity_ah", None),
        ("code", "has space"),
        ("code", "a/b"),
        ("code", "X" * 65),
        ("name", ""),
        ("ccc_valid_until", "2030-02-30"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(battery_maker, field, value):
    response = api_client(battery_maker).post(URL, _payload(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not BatteryModel.objects.exists()


@pytest.mark.parametrize("who", ["maker", "dealer", "regulator", "police", "superuser"])
def test_only_battery_makers_file_battery_models(world, maker, who):
    user = {
        "maker": maker,
        "dealer": world.dealer,
        "regulator": world.city_regulator,
        "police": world.police,
        "superuser": world.superuser,
    }[who]
    response = api_client(user).post(URL, _payload(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not BatteryModel.objects.exists()


def test_anonymous_cannot_file(db):
    response = api_client().post(URL, _payload(), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"

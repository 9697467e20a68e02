"""The makers' catalog pages: their own models with the certificate's state, filing a model, renewing a certificate.

Each form shows the catalog services' refusals next to the fields in words, keeps what was typed, and is sent once.
"""

import csv
import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.test import Client

from catalog.models import BatteryModel, ChargerModel, VehicleModel
from core.models import AuditEntry, OrganizationKind
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory
from tests.conftest import _member
from tests.factories import PASSWORD

LIST = "/maker/models/"
VEHICLE_NEW = "/maker/models/vehicle/new/"
BATTERY_NEW = "/maker/models/battery/new/"
CHARGER_NEW = "/maker/models/charger/new/"


def _logged_in(user, language: str = "en") -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _token(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return re.search(r'name="form_token" value="([^"]+)"', response.content.decode()).group(1)


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _value(html: str, field: str) -> str:
    match = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


@pytest.fixture
def lithium(battery_maker):
    return BatteryModelFactory(code="LD-4820-LFP", maker=battery_maker.organization)


def _vehicle_body(token, **overrides) -> dict:
    body = {
        "form_token": token,
        "code": "TDT-2026A",
        "name": "德骑 2026 新国标",
        "standard": "GB17761-2024",
        "max_speed_kmh": "25",
        "mass_kg": "54",
        "nominal_voltage_v": "48",
        "motor_power_w": "400",
        "compatible_battery_models": ["LD-4820-LFP"],
        "ccc_cert_no": "2026011119000001",
        "ccc_valid_until": "2031-06-30",
    }
    body.update(overrides)
    return body


# --- access ------------------------------------------------------------------------------------------------------

PAGES = [LIST, VEHICLE_NEW, BATTERY_NEW, CHARGER_NEW]


@pytest.mark.parametrize("url", PAGES)
def test_maker_pages_are_for_makers_only(world, url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    for outsider in (world.dealer, world.city_regulator, world.police):
        assert _logged_in(outsider).get(url).status_code == 404
    charging = _member(OrganizationKind.CHARGING_OPERATOR, "371402")
    assert _logged_in(charging).get(url).status_code == 404


def test_each_maker_files_only_its_own_kinds_of_model(maker, battery_maker):
    vehicles, batteries = _logged_in(maker), _logged_in(battery_maker)
    assert vehicles.get(VEHICLE_NEW).status_code == 200 and vehicles.get(BATTERY_NEW).status_code == 404
    assert batteries.get(BATTERY_NEW).status_code == 200 and batteries.get(VEHICLE_NEW).status_code == 404
    assert vehicles.get(CHARGER_NEW).status_code == 200 and batteries.get(CHARGER_NEW).status_code == 200
    assert vehicles.get("/maker/models/unknown/new/").status_code == 404
    html = vehicles.get(LIST).content.decode()
    assert '<body class="desktop">' in html
    assert 'data-testid="nav-vehicle"' in html and 'data-testid="nav-battery"' not in html


def test_home_cards_of_makers_open_their_pages(maker, battery_maker):
    for user in (maker, battery_maker):
        html = _logged_in(user).get("/").content.decode()
        assert 'href="/maker/models/"' in html and 'href="/maker/production/"' in html
    # A charging operator shares the producers' home, but files no models.
    charging = _member(OrganizationKind.CHARGING_OPERATOR, "371402")
    html = _logged_in(charging).get("/").content.decode()
    assert "/maker/" not in html


# --- the list ------------------------------------------------------------------------------------------------------


def test_the_list_shows_the_makers_own_models_with_the_state_of_each_certificate(maker, other_maker):
    today = dt.date.today()
    VehicleModelFactory(code="TDT-VALID", maker=maker.organization)
    VehicleModelFactory(code="TDT-SOON", maker=maker.organization, ccc_valid_until=today + dt.timedelta(days=30))
    VehicleModelFactory(code="TDT-OLD", maker=maker.organization, ccc_expired=True)
    VehicleModelFactory(code="OTHER-1", maker=other_maker.organization)
    client = _logged_in(maker)

    html = client.get(LIST).content.decode()
    assert 'data-testid="models-count" data-count="3"' in html
    states = dict(re.findall(r'data-code="([^"]+)".*?data-state="(\w+)"', html, re.S))
    assert states == {"TDT-VALID": "valid", "TDT-SOON": "expiring", "TDT-OLD": "expired"}
    assert "OTHER-1" not in html

    expired = client.get(LIST, {"certificate": "expired"}).content.decode()
    assert "TDT-OLD" in expired and "TDT-VALID" not in expired
    searched = client.get(LIST, {"q": "soon"}).content.decode()
    assert "TDT-SOON" in searched and "TDT-OLD" not in searched
    assert 'data-testid="empty"' in client.get(LIST, {"q": "nothing-like-it"}).content.decode()


def test_the_list_exports_csv_and_xlsx(maker, other_maker):
    VehicleModelFactory(code="TDT-VALID", maker=maker.organization)
    VehicleModelFactory(code="OTHER-1", maker=other_maker.organization)
    client = _logged_in(maker)

    response = client.get(LIST, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Model code" and [r[0] for r in rows[1:]] == ["TDT-VALID"]
    assert rows[1][2] == "GB17761-2024"
    xlsx = client.get(LIST, {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_an_empty_list_says_what_to_do(battery_maker):
    html = _logged_in(battery_maker).get(LIST).content.decode()
    assert 'data-testid="empty"' in html and 'href="/maker/models/battery/new/"' in html


# --- filing --------------------------------------------------------------------------------------------------------


def test_manufacturer_files_a_vehicle_model_with_its_batteries(maker, lithium):
    client = _logged_in(maker)
    response = client.post(VEHICLE_NEW, _vehicle_body(_token(client, VEHICLE_NEW)))

    assert response.status_code == 302
    assert response["Location"] == "/maker/models/?kind=vehicle&filed=TDT-2026A"
    model = VehicleModel.objects.get(code="TDT-2026A")
    assert model.maker == maker.organization and model.standard.code == "GB17761-2024"
    assert list(model.compatible_battery_models.values_list("code", flat=True)) == ["LD-4820-LFP"]
    assert AuditEntry.objects.filter(action="catalog.vehicle_model.create", target_id=str(model.pk)).exists()
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="filed"' in html and 'data-code="TDT-2026A"' in html


def test_a_spec_beyond_the_standard_is_refused_next_to_each_field_and_the_form_keeps_what_was_typed(maker, lithium):
    client = _logged_in(maker)
    body = _vehicle_body(_token(client, VEHICLE_NEW), max_speed_kmh="32", motor_power_w="800")
    response = client.post(VEHICLE_NEW, body)

    assert response.status_code == 200
    html = response.content.decode()
    assert "32 km/h is above the limit of 25 km/h set by GB17761-2024" in _error(html, "max_speed_kmh")
    assert "800 W is above the limit of 400 W" in _error(html, "motor_power_w")
    assert 'data-testid="error-mass_kg"' not in html
    assert _value(html, "code") == "TDT-2026A" and _value(html, "max_speed_kmh") == "32"
    assert re.search(r'<option value="LD-4820-LFP" selected', html)
    assert not VehicleModel.objects.exists()


def test_the_refusals_are_in_chinese_by_default(maker, lithium):
    client = _logged_in(maker, language="zh-hans")
    response = client.post(VEHICLE_NEW, _vehicle_body(_token(client, VEHICLE_NEW), max_speed_kmh="32"))
    error = _error(response.content.decode(), "max_speed_kmh")
    assert "32" in error and "25" in error and re.search(r"[\u4e00-\u9fff]", error)


def test_certificate_code_and_battery_refusals_land_next_to_their_fields(maker, lithium):
    VehicleModelFactory(code="TDT-TAKEN", maker=maker.organization)
    BatteryModelFactory(code="LD-3612", nominal_voltage_v=36)
    client = _logged_in(maker)
    cases = [
        ({"ccc_cert_no": "", "ccc_valid_until": ""}, "ccc_cert_no", "compulsory"),
        ({"ccc_valid_until": "2020-01-01"}, "ccc_valid_until", "expired"),
        ({"code": "tdt-taken"}, "code", "already filed"),
        ({"compatible_battery_models": ["LD-3612"]}, "compatible_battery_models", "LD-3612 is 36 V"),
        ({"code": "bad code!"}, "code", "letters, digits"),
        ({"max_speed_kmh": "fast"}, "max_speed_kmh", "number"),
    ]
    for overrides, field, words in cases:
        token = _token(client, VEHICLE_NEW)
        html = client.post(VEHICLE_NEW, _vehicle_body(token, **overrides)).content.decode()
        assert words in _error(html, field), (field, _error(html, field))
    assert list(VehicleModel.objects.values_list("code", flat=True)) == ["TDT-TAKEN"]


def test_a_double_submission_files_one_model(maker, lithium):
    client = _logged_in(maker)
    body = _vehicle_body(_token(client, VEHICLE_NEW))
    first, second = client.post(VEHICLE_NEW, body), client.post(VEHICLE_NEW, body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert VehicleModel.objects.filter(code="TDT-2026A").count() == 1


def test_a_form_without_its_token_is_refused_as_out_of_date(maker, lithium):
    client = _logged_in(maker)
    html = client.post(VEHICLE_NEW, _vehicle_body("")).content.decode()
    assert 'data-testid="form-errors"' in html and "out of date" in html
    assert not VehicleModel.objects.exists()


def test_battery_maker_files_a_battery_model_and_a_voltage_beyond_the_standard_is_refused(battery_maker):
    client = _logged_in(battery_maker)
    body = {
        "form_token": _token(client, BATTERY_NEW),
        "code": "LD-6020",
        "name": "鲁电 60V20Ah",
        "chemistry": "lithium_ion",
        "nominal_voltage_v": "60",
        "capacity_ah": "20",
        "ccc_cert_no": "2026011119000002",
        "ccc_valid_until": "2031-06-30",
    }
    html = client.post(BATTERY_NEW, body).content.decode()
    assert "above the limit of 48 V" in _error(html, "nominal_voltage_v")
    assert not BatteryModel.objects.exists()

    body.update(form_token=_token(client, BATTERY_NEW), nominal_voltage_v="48", code="LD-4820")
    response = client.post(BATTERY_NEW, body)
    assert response.status_code == 302 and response["Location"].endswith("kind=battery&filed=LD-4820")
    assert BatteryModel.objects.get(code="LD-4820").maker == battery_maker.organization


def test_a_maker_files_a_charger_model(battery_maker):
    client = _logged_in(battery_maker)
    body = {
        "form_token": _token(client, CHARGER_NEW),
        "code": "CH-54",
        "name": "54.6V 2A 充电器",
        "output_voltage_v": "54.6",
        "ccc_cert_no": "2026010907000001",
        "ccc_valid_until": "2031-06-30",
    }
    assert client.post(CHARGER_NEW, body).status_code == 302
    assert ChargerModel.objects.get(code="CH-54").maker == battery_maker.organization


# --- renewal -------------------------------------------------------------------------------------------------------


def test_manufacturer_renews_the_certificate_of_its_model(maker):
    VehicleModelFactory(code="TDT-OLD", maker=maker.organization, ccc_expired=True)
    client = _logged_in(maker)
    url = "/maker/models/vehicle/TDT-OLD/renew/"
    html = client.get(url).content.decode()
    assert 'data-state="expired"' in html and 'value="2025-06-30"' in html

    body = {"form_token": _token(client, url), "ccc_cert_no": "2026011119009999", "ccc_valid_until": "2031-12-31"}
    response = client.post(url, body)

    assert response["Location"] == "/maker/models/?kind=vehicle&renewed=TDT-OLD"
    model = VehicleModel.objects.get(code="TDT-OLD")
    assert (model.ccc_cert_no, model.ccc_valid_until) == ("2026011119009999", dt.date(2031, 12, 31))
    assert AuditEntry.objects.filter(action="catalog.vehicle_model.certificate_update").count() == 1
    assert client.post(url, body)["Location"] == response["Location"]  # sent twice: renewed once
    assert AuditEntry.objects.filter(action="catalog.vehicle_model.certificate_update").count() == 1


def test_a_renewal_with_a_past_date_is_refused_next_to_the_date(battery_maker):
    BatteryModelFactory(code="LD-4820", maker=battery_maker.organization)
    client = _logged_in(battery_maker)
    url = "/maker/models/battery/LD-4820/renew/"
    body = {"form_token": _token(client, url), "ccc_cert_no": "2026011119009999", "ccc_valid_until": "2024-01-01"}
    html = client.post(url, body).content.decode()
    assert "expired" in _error(html, "ccc_valid_until")
    assert _value(html, "ccc_cert_no") == "2026011119009999"
    assert BatteryModel.objects.get(code="LD-4820").ccc_valid_until == dt.date(2030, 12, 31)


def test_another_makers_model_is_not_found_and_stays_unchanged(maker, other_maker, battery_maker, world):
    VehicleModelFactory(code="TDT-A", maker=maker.organization)
    ChargerModelFactory(code="CH-A", maker=maker.organization)
    url = "/maker/models/vehicle/TDT-A/renew/"
    body = {"form_token": "x" * 24, "ccc_cert_no": "HIJACK", "ccc_valid_until": "2035-01-01"}
    for outsider in (other_maker, battery_maker, world.dealer, world.city_regulator):
        client = _logged_in(outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, body).status_code == 404
        assert client.get("/maker/models/charger/CH-A/renew/").status_code == 404
    assert Client().get(url).status_code == 302
    assert VehicleModel.objects.get(code="TDT-A").ccc_cert_no != "HIJACK"

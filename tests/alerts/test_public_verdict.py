"""The public verdict tells the truth: a modification found on a bike shows on its QR page until the regulator has
verified its rectification (docs/decisions/009); a complaint alone changes nothing; no personal data is shown."""

import pytest

from alerts.models import Alert
from tests.alerts.conftest import drain, fit, repaired
from tests.chain import BUYER
from tests.conftest import api_client

# Real commits: the cached record is dropped after the commit that raises or resolves a finding.
pytestmark = pytest.mark.django_db(transaction=True)


def _public(vehicle_or_battery) -> dict:
    response = api_client().get(f"/api/v1/public/vehicles/{vehicle_or_battery.code}/")
    assert response.status_code == 200
    return response.json()


def _page(code: str) -> str:
    response = api_client().get(f"/v/{code}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    return response.content.decode()


def _act(user, alert: Alert, action: str, note: str = "") -> None:
    response = api_client(user).post(
        f"/api/v1/alerts/{alert.pk}/actions/", {"action": action, "note": note}, format="json"
    )
    assert response.status_code == 200, response.content


def test_an_over_power_motor_makes_the_verdict_say_issues_until_the_regulator_verifies(sold, shop, world):
    assert _public(sold)["compliance"] == {"verdict": "compliant", "reasons": []}

    repaired(sold, shop, kind="motor_replacement", fitted_motor_power_w=800)
    drain()
    alert = Alert.objects.get(rule="MOD_MOTOR_POWER", vehicle=sold)

    record = _public(sold)  # at once: the cached record was dropped when the alert was raised
    assert record["compliance"] == {"verdict": "issues", "reasons": ["motor_over_power"]}
    page = _page(sold.code)
    assert "存在问题" in page and "合规" not in page.split('data-testid="verdict"')[1].split("</section>")[0]
    assert "发现更换了功率高于本车型认证功率的电机" in page  # the reason in words
    for personal in (BUYER["name"], BUYER["phone"], BUYER["id_number"]):
        assert personal not in page
        assert personal not in str(record)

    regulator = world.district_regulator
    _act(regulator, alert, "request_rectification", "恢复原厂电机")
    _act(shop, alert, "submit_rectification", "已更换为 400 W 原厂电机")
    assert _public(sold)["compliance"]["verdict"] == "issues"  # submitted is not yet verified

    _act(regulator, alert, "verify", "现场核验")
    assert _public(sold)["compliance"] == {"verdict": "compliant", "reasons": []}

    _act(regulator, alert, "close")
    _act(regulator, alert, "reopen", "复查发现又改装")
    assert _public(sold)["compliance"]["reasons"] == ["motor_over_power"]


def test_an_unlocked_speed_limiter_shows_until_dismissed(sold, shop, world):
    repaired(sold, shop, kind="speed_limiter", measured_max_speed_kmh="42.0")
    drain()
    assert _public(sold)["compliance"] == {"verdict": "issues", "reasons": ["speed_unlocked"]}
    assert "发现限速装置被拆除或最高车速超过国家标准限值" in _page(sold.code)

    alert = Alert.objects.get(rule="MOD_SPEED_UNLOCK", vehicle=sold)
    _act(world.district_regulator, alert, "dismiss", "误报：测速仪故障")
    assert _public(sold)["compliance"]["verdict"] == "compliant"


def test_a_complaint_alone_leaves_the_verdict_compliant(sold):
    body = {
        "vehicle_code": sold.code,
        "category": "illegal_modification",
        "description": "这辆车明显被改装过，速度很快",
        "contact_phone": "13912345678",
    }
    assert api_client().post("/api/v1/public/complaints/", body, format="json").status_code == 201
    drain()
    assert Alert.objects.filter(rule="COMPLAINT", vehicle=sold).exists()
    assert _public(sold)["compliance"] == {"verdict": "compliant", "reasons": []}


def test_a_shops_paperwork_does_not_touch_the_bikes_verdict(sold, shop):
    repaired(sold, shop, kind="brake_tyre", shop_qualified=False)
    drain()
    assert Alert.objects.filter(rule="SHOP_UNQUALIFIED", vehicle=sold).exists()
    assert _public(sold)["compliance"]["verdict"] == "compliant"


def test_a_battery_claimed_in_two_bikes_shows_on_the_bike_and_on_the_battery(chain, sold, shop):
    other_bike = chain.vehicle()
    battery = chain.battery()
    fit(other_bike, battery, shop)
    repaired(sold, shop, kind="battery_replacement", battery_flags={battery.serial: ["battery_fitted_elsewhere"]})
    drain()
    assert Alert.objects.filter(rule="BATTERY_DUPLICATE", battery=battery).exists()
    assert "battery_duplicate" in _public(sold)["compliance"]["reasons"]
    assert "battery_duplicate" in _public(battery)["compliance"]["reasons"]
    assert "battery_duplicate" not in _public(other_bike)["compliance"]["reasons"]  # no finding about that bike

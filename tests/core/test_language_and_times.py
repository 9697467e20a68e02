"""API answers in the caller's language (Accept-Language, zh-hans by default) and every time in one form: the
platform's local offset (+08:00), never a mix of `Z` and `+08:00`."""

import re

import pytest

from tests.chain import BUYER
from tests.conftest import api_client

pytestmark = pytest.mark.django_db

LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
ANY_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _times(value) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _times(v)]
    if isinstance(value, list):
        return [t for v in value for t in _times(v)]
    return [value] if isinstance(value, str) and ANY_TIME.match(value) else []


def test_errors_speak_chinese_unless_the_caller_asks_for_english(world):
    client = api_client(world.district_regulator)
    default = client.post("/api/v1/sales/", {}, format="json")
    assert default.status_code == 403
    assert default.json()["error"]["message"] == "您的机构无权执行此操作。"
    assert default["Content-Language"] == "zh-hans"

    english = client.post("/api/v1/sales/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert english.json()["error"]["message"] == "Your organization may not do this."
    assert english["Content-Language"] == "en"

    assert client.get("/api/v1/receipts/99/", HTTP_ACCEPT_LANGUAGE="zh-CN").json()["error"]["message"] == (
        "没有该进货查验单，或您无权查看。"
    )
    assert client.get("/api/v1/receipts/99/", HTTP_ACCEPT_LANGUAGE="fr, de;q=0.5").json()["error"]["message"] == (
        "没有该进货查验单，或您无权查看。"
    )  # nothing the platform speaks: Chinese
    unknown = api_client().get("/api/v1/nope/", HTTP_ACCEPT_LANGUAGE="en")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Not found."


def test_validation_messages_follow_the_language_too(world):
    body = {"name": "x", "kind": "nonsense", "uscc": "1", "region_code": "371400"}
    zh = api_client(world.superuser).post("/api/v1/organizations/", body, format="json")
    en = api_client(world.superuser).post("/api/v1/organizations/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400
    assert zh.json()["error"]["fields"]["kind"] != en.json()["error"]["fields"]["kind"]
    assert "is not a valid choice" in en.json()["error"]["fields"]["kind"][0]


def test_every_time_in_the_api_carries_the_local_offset(chain, world):
    dealer = world.dealer
    vehicle, battery = chain.in_stock(dealer)
    sale = api_client(dealer).post(
        "/api/v1/sales/",
        {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER},
        format="json",
    )
    assert sale.status_code == 201
    regulator = api_client(world.district_regulator)
    answers = [
        sale.json(),
        api_client(dealer).get("/api/v1/sales/").json(),
        regulator.get(f"/api/v1/vehicles/{vehicle.frame_no}/").json(),
        regulator.get(f"/api/v1/vehicles/{vehicle.frame_no}/events/").json(),
        regulator.get(f"/api/v1/trace/?frame_no={vehicle.frame_no}").json(),
        api_client(world.superuser).get("/api/v1/audit/").json(),
    ]
    times = [t for answer in answers for t in _times(answer)]
    assert len(times) >= 8
    assert [t for t in times if not LOCAL_TIME.match(t)] == []
    # the outsider sees none of it
    assert api_client(world.other_city_regulator).get(f"/api/v1/vehicles/{vehicle.frame_no}/").status_code == 404

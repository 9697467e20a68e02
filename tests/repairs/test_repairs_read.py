"""GET /api/v1/repairs/ and /{id}/: regulators of the shop's and of the bike's region, and the shop itself."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import api_client
from tests.repairs.conftest import repair_shop

URL = "/api/v1/repairs/"


def _upload(shop, vehicle, **extra) -> int:
    body = {"frame_no": vehicle.frame_no, "vehicle_code": vehicle.code, "kind": "brake_tyre", **extra}
    response = api_client(shop).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _ids(user, **query) -> list[int] | int:
    response = api_client(user).get(URL, query)
    if response.status_code != 200:
        return response.status_code
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def repaired(workshop):
    """A bike of a 德城区 owner repaired by the 陵城区 shop: two jurisdictions see it."""
    vehicle, _ = workshop.bike(region="371402")
    return vehicle, _upload(workshop.other_shop, vehicle, notes="刹车片")


def test_the_shop_and_the_regulators_of_both_jurisdictions_see_the_repair(workshop, repaired):
    vehicle, pk = repaired
    world = workshop.world
    for viewer in (workshop.other_shop, world.district_regulator, world.other_district_regulator, world.city_regulator):
        assert _ids(viewer) == [pk], viewer
        response = api_client(viewer).get(f"{URL}{pk}/")
        assert response.status_code == 200
    body = response.json()
    assert body["frame_no"] == vehicle.frame_no and body["kind"] == "brake_tyre" and body["notes"] == "刹车片"
    assert body["shop"] == {
        "id": workshop.other_shop.organization_id,
        "name": "陵城区电动车维修点",
        "region_code": "371403",
    }
    assert body["photos"] == [] and body["flags"] == []
    assert "owner" not in body and "buyer" not in body  # nothing personal


def test_outsiders_do_not_see_the_repair(workshop, repaired):
    _, pk = repaired
    world = workshop.world
    far_shop = repair_shop("330206")
    for outsider in (workshop.shop, world.dealer, world.far_dealer, world.other_city_regulator, world.police, far_shop):
        assert _ids(outsider) == [], outsider
        response = api_client(outsider).get(f"{URL}{pk}/")
        assert response.status_code == 404, outsider
        assert response.json()["error"]["code"] == "not_found"
    assert api_client().get(URL).status_code == 401
    assert api_client().get(f"{URL}{pk}/").status_code == 401


def test_the_platform_administrator_sees_every_repair(workshop, repaired):
    assert _ids(workshop.world.superuser) == [repaired[1]]


def test_list_filters(workshop):
    bike1, _ = workshop.bike()
    bike2, _ = workshop.bike()
    old = _upload(workshop.shop, bike1, performed_at=(timezone.now() - dt.timedelta(days=20)).isoformat())
    motor = _upload(workshop.shop, bike2, kind="motor_replacement", fitted_motor_power_w=350)
    elsewhere = _upload(workshop.other_shop, bike1)
    regulator = workshop.world.city_regulator

    assert _ids(regulator) == [elsewhere, motor, old]  # newest first
    assert set(_ids(regulator, frame_no=bike1.frame_no)) == {old, elsewhere}
    assert _ids(regulator, kind="motor_replacement") == [motor]
    assert set(_ids(regulator, shop=workshop.shop.organization_id)) == {old, motor}
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert set(_ids(regulator, performed_after=since)) == {motor, elsewhere}
    assert _ids(regulator, performed_after=timezone.localdate().isoformat(), kind="motor_replacement") == [motor]
    assert _ids(regulator, performed_before=since) == [old]


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "tuning"},
        {"shop": "x"},
        {"shop": "99999999999999999999999"},
        {"performed_after": "last week"},
        {"page": "x"},
        {"page_size": "-1"},
        {"frame_no": "长" * 40},
    ],
)
def test_odd_list_queries_are_4xx_never_500(workshop, query):
    response = api_client(workshop.world.city_regulator).get(URL, query)
    assert response.status_code in {200, 400, 404}
    if response.status_code != 200:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("path", ["abc/", "0/", "99999999999999999999/", "99999999999999999999/photos/1/"])
def test_odd_ids_are_404(workshop, path):
    response = api_client(workshop.world.city_regulator).get(f"{URL}{path}")
    assert response.status_code == 404


def test_the_list_is_paginated(workshop):
    vehicle, _ = workshop.bike()
    for _ in range(3):
        _upload(workshop.shop, vehicle)
    body = api_client(workshop.shop).get(URL, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]

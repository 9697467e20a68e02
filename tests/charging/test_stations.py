"""Swap cabinets (换电柜): an operator registers its own; the operator, the regulators of the region and its fire and
housing departments see them; another operator, another city, other enterprises and the public do not."""

import pytest

from charging.models import SwapStation
from core.models import OrganizationKind
from tests.conftest import _member, api_client

pytestmark = pytest.mark.django_db

CABINET = {
    "code": "DZ-DC-002",
    "name": "天衢东路换电柜",
    "region_code": "371402",
    "address": "德城区天衢东路 88 号",
    "latitude": 37.4341,
    "longitude": 116.3594,
}


def test_an_operator_registers_a_cabinet_with_its_place_on_the_map(cabinets):
    response = api_client(cabinets.operator).post("/api/v1/swap-stations/", CABINET, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"] == "DZ-DC-002" and body["region_code"] == "371402" and body["region_name"] == "德城区"
    assert body["operator"] == {"id": cabinets.operator.organization_id, "name": "德州市安充智能充电服务有限公司"}
    assert body["latitude"] == pytest.approx(37.4341) and body["longitude"] == pytest.approx(116.3594)
    station = SwapStation.objects.get(pk=body["id"])
    assert station.operator_id == cabinets.operator.organization_id and station.address == "德城区天衢东路 88 号"


def test_coordinates_are_optional_but_come_in_pairs(cabinets):
    client = api_client(cabinets.operator)
    plain = {key: value for key, value in CABINET.items() if key not in {"latitude", "longitude"}}
    assert client.post("/api/v1/swap-stations/", plain, format="json").status_code == 201

    half = {**CABINET, "code": "DZ-DC-003", "longitude": None}
    response = client.post("/api/v1/swap-stations/", half, format="json")
    assert response.status_code == 400 and "longitude" in response.json()["error"]["fields"]


def test_a_code_is_registered_once_per_operator(cabinets):
    taken = {**CABINET, "code": cabinets.station.code}
    response = api_client(cabinets.operator).post("/api/v1/swap-stations/", taken, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "station_code_taken"

    # Another operator's codes are its own business.
    mine = {**CABINET, "code": cabinets.station.code, "region_code": "330206"}
    assert api_client(cabinets.other_operator).post("/api/v1/swap-stations/", mine, format="json").status_code == 201


def test_a_cabinet_stands_in_a_district_that_exists(cabinets):
    client = api_client(cabinets.operator)
    unknown = client.post("/api/v1/swap-stations/", {**CABINET, "region_code": "379999"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_region"

    city = client.post("/api/v1/swap-stations/", {**CABINET, "region_code": "371400"}, format="json")
    assert city.status_code == 400 and "region_code" in city.json()["error"]["fields"]

    blank = client.post("/api/v1/swap-stations/", {**CABINET, "name": "  "}, format="json")
    assert blank.status_code == 400 and "name" in blank.json()["error"]["fields"]
    assert not SwapStation.objects.filter(code="DZ-DC-002").exists()


def test_only_charging_operators_register_cabinets(cabinets):
    world = cabinets.world
    for outsider in (world.dealer, world.district_regulator, cabinets.fire):
        response = api_client(outsider).post("/api/v1/swap-stations/", CABINET, format="json")
        assert response.status_code == 403, outsider
    assert api_client().post("/api/v1/swap-stations/", CABINET, format="json").status_code == 401
    assert not SwapStation.objects.filter(code="DZ-DC-002").exists()


def _listed(user, query: str = "") -> set[str]:
    response = api_client(user).get(f"/api/v1/swap-stations/{query}")
    assert response.status_code == 200, response.json()
    return {row["code"] for row in response.json()["results"]}


def test_each_sees_the_cabinets_of_its_own_or_of_its_region(cabinets):
    world = cabinets.world
    ours, theirs = cabinets.station.code, cabinets.other_station.code
    housing = _member(OrganizationKind.HOUSING, "371400", name="德州市住房和城乡建设局")

    assert _listed(cabinets.operator) == {ours}
    assert _listed(cabinets.other_operator) == {theirs}
    assert _listed(world.district_regulator) == {ours}
    assert _listed(world.city_regulator) == {ours}
    assert _listed(cabinets.fire) == {ours}
    assert _listed(housing) == {ours}
    assert _listed(cabinets.other_fire) == {theirs}
    assert _listed(world.superuser) == {ours, theirs}
    # Outsiders: another district's and another city's regulators, the police, a dealer; the public.
    assert _listed(world.other_district_regulator) == set()
    assert _listed(world.other_city_regulator) == {theirs}
    assert _listed(world.police) == set()
    assert _listed(world.dealer) == set()
    assert api_client().get("/api/v1/swap-stations/").status_code == 401


def test_the_list_filters_by_region_and_operator(cabinets):
    superuser = cabinets.world.superuser
    assert _listed(superuser, "?region_code=3714") == {cabinets.station.code}
    assert _listed(superuser, f"?operator={cabinets.other_operator.organization_id}") == {cabinets.other_station.code}
    bad = api_client(superuser).get("/api/v1/swap-stations/?region_code=abc")
    assert bad.status_code == 400 and "region_code" in bad.json()["error"]["fields"]


def test_a_cabinet_detail_is_shown_in_scope_and_hidden_from_outsiders(cabinets):
    url = f"/api/v1/swap-stations/{cabinets.station.pk}/"
    for insider in (cabinets.operator, cabinets.fire, cabinets.world.district_regulator):
        response = api_client(insider).get(url)
        assert response.status_code == 200
        assert response.json()["code"] == cabinets.station.code and response.json()["alarms_30d"] == 0
    for outsider in (cabinets.other_operator, cabinets.other_fire, cabinets.world.other_city_regulator):
        assert api_client(outsider).get(url).status_code == 404
    assert api_client().get(url).status_code == 401

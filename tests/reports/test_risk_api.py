"""The 三分 API: /api/v1/risk/enterprises/, /products/, /regions/, /thresholds/ — regulators see their subtree, a
department its region, read-only; an enterprise no region; another city's regulator no region of ours; the
anonymous public nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from reports import risk
from reports.models import ColourThreshold

if TYPE_CHECKING:
    from tests.reports.risk_world import RiskWorld

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.reports.risk_world"]  # `risky`, and the reference data put back after a flush

ENTERPRISES = "/api/v1/risk/enterprises/"
REGIONS = "/api/v1/risk/regions/"
PATHS = [ENTERPRISES, "/api/v1/risk/products/", REGIONS, "/api/v1/risk/thresholds/"]


@pytest.fixture
def graded(risky: RiskWorld) -> RiskWorld:
    risk.risk_grade_all(now=risky.now)
    return risky


def names(body) -> list[str]:
    return [row["organization"]["name"] for row in body["results"]]


def test_the_city_regulator_sees_its_subtrees_enterprises_riskiest_first_with_the_reasons(graded, api):
    response = api(graded.world.city_regulator).get(ENTERPRISES)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and body["next"] is None
    assert "北仑区车行" not in names(body)  # another city's enterprise
    first = body["results"][0]
    assert first["organization"] == {
        "id": graded.shop.organization_id,
        "name": "德城区飞驰电动车维修部",
        "kind": "repair_shop",
        "region_code": "371402",
    }
    assert first["grade"] == "risk" and first["score"] == "32.50"
    assert {"code": "modification_repairs", "weight": "5.00", "count": 1} in first["reasons"]
    assert first["graded_at"].endswith("+08:00")
    assert [row["grade"] for row in body["results"][1:]] == ["non_risk"] * 4


def test_filters_by_region_subtree_grade_and_kind(graded, api):
    client = api(graded.world.city_regulator)
    district = client.get(ENTERPRISES, {"region_code": "371402"}).json()
    assert sorted(names(district)) == sorted(["德城区飞驰电动车维修部", "德城区车行", "德骑车业"])
    assert names(client.get(ENTERPRISES, {"grade": "risk"}).json()) == ["德城区飞驰电动车维修部"]
    assert names(client.get(ENTERPRISES, {"kind": "dealer", "grade": "non_risk", "region_code": "371403"}).json()) == [
        "陵城区车行"
    ]
    page = client.get(ENTERPRISES, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"] is not None

    refused = client.get(ENTERPRISES, {"grade": "red", "kind": "regulator"})
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"grade", "kind"}


def test_a_district_regulator_sees_its_district_only_and_not_its_city(graded, api):
    client = api(graded.world.district_regulator)
    assert len(names(client.get(ENTERPRISES).json())) == 3
    assert client.get(ENTERPRISES, {"region_code": "371400"}).status_code == 404
    assert client.get(ENTERPRISES, {"region_code": "371403"}).status_code == 404
    assert client.get(REGIONS, {"parent": "371400"}).status_code == 404


def test_another_citys_regulator_gets_404_for_our_regions_and_sees_only_its_own(graded, api):
    client = api(graded.world.other_city_regulator)
    for params in ({"region_code": "371400"}, {"region_code": "371402"}, {"region_code": "999999"}):
        response = client.get(ENTERPRISES, params)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get(REGIONS, {"parent": "371400"}).status_code == 404
    # Unknown and foreign regions get the same answer: no answer tells which regions exist.
    assert (
        client.get(ENTERPRISES, {"region_code": "371400"}).json()
        == client.get(ENTERPRISES, {"region_code": "999999"}).json()
    )
    assert names(client.get(ENTERPRISES).json()) == ["北仑区车行"]


def test_an_enterprise_has_no_jurisdiction(graded, api):
    for user in (graded.world.dealer, graded.shop):
        client = api(user)
        for params in ({"region_code": "371402"}, {"region_code": user.organization.region_id}):
            assert client.get(ENTERPRISES, params).status_code == 404
            assert client.get(REGIONS, {"parent": params["region_code"]}).status_code == 404
        for path in (ENTERPRISES, REGIONS):
            response = client.get(path)
            assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
        # The reference data is the same for everyone logged in.
        assert client.get("/api/v1/risk/products/").status_code == 200
        assert client.get("/api/v1/risk/thresholds/").status_code == 200


def test_the_anonymous_public_gets_401_everywhere(graded, api):
    for path in PATHS:
        response = api().get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


def test_a_department_reads_its_region_and_writes_nothing(graded, api):
    client = api(graded.world.police)  # 德州市公安局
    assert len(client.get(ENTERPRISES).json()["results"]) == 5
    assert client.get(REGIONS, {"parent": "330200"}).status_code == 404
    for path in PATHS:
        assert client.post(path, {}, format="json").status_code == 405


def test_regions_are_the_next_level_down_with_their_colours(graded, api):
    client = api(graded.world.city_regulator)
    own = client.get(REGIONS)  # default: the caller's own region's children
    assert own.status_code == 200
    assert own.json() == client.get(REGIONS, {"parent": "371400"}).json()
    rows = {row["region_code"]: row for row in own.json()}
    assert rows["371402"] == {
        "region_code": "371402",
        "name": "德城区",
        "colour": "red",
        "risk_enterprises": 1,
        "enterprises": 3,
        "risk_share_pct": "33.33",
        "graded_at": rows["371402"]["graded_at"],
    }
    assert rows["371403"]["colour"] == "green" and rows["371403"]["enterprises"] == 1
    assert rows["371425"]["enterprises"] == 0 and rows["371425"]["graded_at"] is None  # no enterprises there
    assert "330206" not in rows

    provinces = api(graded.world.superuser).get(REGIONS).json()
    assert {row["region_code"]: row["colour"] for row in provinces}["370000"] == "red"
    assert len(provinces) == 34


def test_colours_follow_the_thresholds_data(graded, api):
    client = api(graded.world.city_regulator)
    thresholds = client.get("/api/v1/risk/thresholds/").json()
    assert [(t["colour"], t["min_share_pct"]) for t in thresholds] == [
        ("red", "20.00"),
        ("orange", "10.00"),
        ("yellow", "5.00"),
        ("green", "0.00"),
    ]
    assert all(t["reason"] for t in thresholds)

    ColourThreshold.objects.filter(colour="red").update(min_share_pct=Decimal("50"))
    risk.risk_grade_all(now=graded.now)
    assert client.get("/api/v1/risk/thresholds/").json()[0] == {
        "colour": "red",
        "min_share_pct": "50.00",
        "reason": ColourThreshold.objects.get(colour="red").reason,
    }
    rows = {row["region_code"]: row["colour"] for row in client.get(REGIONS).json()}
    assert rows["371402"] == "orange"


def test_product_categories_with_their_grades_and_reasons(graded, api):
    body = api(graded.world.other_city_regulator).get("/api/v1/risk/products/").json()
    grades = {row["category"]: row["grade"] for row in body}
    assert grades == {
        "battery_lead_acid": "low",
        "battery_lithium_ion": "high",
        "battery_sodium_ion": "medium",
        "charger": "medium",
        "vehicle": "medium",
    }
    lithium = next(row for row in body if row["category"] == "battery_lithium_ion")
    assert lithium["name"] == "锂离子蓄电池"
    assert lithium["reasons"][0]["code"] == "fire" and "起火" in lithium["reasons"][0]["text"]

"""The street level (GB/T 10114: 9 digits, level 4) below the counties of the demo cities: real codes and names,
prefixes, and owners registered by street."""

import pytest

from core.errors import InvalidInput
from core.models import Region, region_prefix
from tests.chain import BUYER
from tests.conftest import api_client
from vehicles.models import Registration
from vehicles.registration import BuyerData

# 北仑区's streets as the National Bureau of Statistics codes them (统计用区划代码, 2023).
BEILUN = {
    "330206001": "大榭街道",
    "330206002": "新碶街道",
    "330206003": "小港街道",
    "330206004": "大碶街道",
    "330206005": "霞浦街道",
    "330206006": "柴桥街道",
    "330206007": "戚家山街道",
    "330206008": "春晓街道",
    "330206009": "梅山街道",
    "330206010": "郭巨街道",
    "330206011": "白峰街道",
}
DECHENG = {
    "371402001": "新湖街道",
    "371402002": "新华街道",
    "371402003": "天衢街道",
    "371402006": "广川街道",
    "371402009": "运河街道",
    "371402100": "二屯镇",
    "371402101": "黄河涯镇",
}


@pytest.mark.parametrize(("county", "streets"), [("330206", BEILUN), ("371402", DECHENG)])
def test_the_streets_of_a_county_have_their_real_codes_and_names(db, api, county, streets):
    body = api().get("/api/v1/regions/", {"parent": county, "page_size": 100}).json()
    assert {r["code"]: r["name"] for r in body["results"]} == streets
    assert all(r["level"] == 4 and r["parent_code"] == county for r in body["results"])


def test_statistical_units_are_not_divisions(db):
    assert not Region.objects.filter(code="330206401").exists()  # 保税区: a township-like statistical unit
    assert not Region.objects.filter(level=4, code__regex=r"^\d{6}[45]").exists()


def test_a_street_is_its_own_nine_digit_prefix_inside_its_county(db):
    street = Region.objects.get(code="330206002")
    assert street.prefix == "330206002" == region_prefix("330206002", 4)
    assert street.parent.prefix == "330206" and street.full_name() == "浙江省宁波市北仑区新碶街道"


def test_every_demo_city_has_its_streets_and_other_counties_stop_at_the_county(db):
    for city in ("3714", "3302", "3304", "4311", "4301"):
        assert Region.objects.filter(level=4, code__startswith=city).count() > 50, city
    assert not Region.objects.filter(level=4, code__startswith="1101").exists()  # 北京: counties only


def test_an_owner_may_be_registered_on_a_street(chain):
    assert BuyerData.clean({**BUYER, "region_code": "371402009"}).region.name == "运河街道"
    with pytest.raises(InvalidInput) as refused:
        BuyerData.clean({**BUYER, "region_code": "371402999"})
    assert refused.value.code == "unknown_region"

    vehicle, battery = chain.in_stock(chain.world.dealer)
    body = {
        "frame_no": vehicle.frame_no,
        "battery_serials": [battery.serial],
        "buyer": {**BUYER, "region_code": "371402009"},
    }
    assert api_client(chain.world.dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    assert Registration.objects.get(vehicle=vehicle).region_id == "371402009"
    # The district's regulator sees the bike registered on its street; another district's does not.
    frame = f"/api/v1/vehicles/{vehicle.frame_no}/"
    assert api_client(chain.world.district_regulator).get(frame).status_code == 200
    assert api_client(chain.world.other_district_regulator).get(frame).status_code == 404

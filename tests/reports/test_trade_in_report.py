"""GET /api/v1/reports/trade-ins/ and /reports/trade-ins/: a week's trade-ins (以旧换新) by street and in total, for the
regulators of the subtree; the page's table, chart and CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from core.models import OrganizationKind
from dealers.models import TradeIn
from dealers.trade_in_report import week_of
from tests.conftest import _member, api_client
from tests.dealers.trade_in_world import STREET, Counter, counter_for
from tests.factories import PASSWORD

URL = "/api/v1/reports/trade-ins/"
PAGE = "/reports/trade-ins/"


@pytest.fixture
def counter(chain) -> Counter:
    return counter_for(chain)


def _traded(counter: Counter, *, street: str, at: dt.datetime, handed_over_at: dt.datetime | None = None) -> TradeIn:
    """A trade-in through the API, its date and hand-over moved to the week under test."""
    old = counter.registered(region_code=street)
    new, battery = counter.chain.in_stock(counter.dealer)
    response = counter.trade(counter.body(old, new, battery, buyer={"region_code": street}))
    assert response.status_code == 201, response.json()
    TradeIn.objects.filter(pk=response.json()["id"]).update(traded_at=at, handed_over_at=handed_over_at)
    return TradeIn.objects.get(pk=response.json()["id"])


@pytest.fixture
def week_data(counter):
    """Last week in 德城区: two trade-ins on 新湖街道 (one handed over), one on 新华街道; one the week before."""
    last = week_of(timezone.localdate()).shifted(-1)
    monday = timezone.make_aware(dt.datetime.combine(last.monday, dt.time(10)))
    _traded(counter, street=STREET, at=monday, handed_over_at=monday + dt.timedelta(days=2))
    _traded(counter, street=STREET, at=monday + dt.timedelta(days=1))
    _traded(counter, street="371402002", at=monday + dt.timedelta(days=6, hours=12))  # Sunday 22:00
    _traded(counter, street="371402002", at=monday - dt.timedelta(hours=11))  # 23:00 the Sunday before
    return counter, last


def test_a_week_is_counted_per_street_and_in_total(week_data):
    counter, week = week_data
    response = api_client(counter.chain.world.district_regulator).get(URL, {"week": week.label})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["week"] == week.label and body["region_code"] == "371402" and body["name"] == "德城区"
    rows = {row["region_code"]: row for row in body["rows"]}
    assert rows[STREET] == {
        "region_code": STREET,
        "name": "新湖街道",
        "trade_ins": 2,
        "subsidy_yuan": 1000.0,
        "handed_to_recycler": 1,
    }
    assert rows["371402002"] | {"name": ""} == {
        "region_code": "371402002",
        "name": "",
        "trade_ins": 1,
        "subsidy_yuan": 500.0,
        "handed_to_recycler": 0,
    }
    # Every street of the district is listed, those with nothing to report too.
    assert set(rows) >= {"371402003", "371402006", "371402009", "371402100", "371402101"}
    assert rows["371402100"]["trade_ins"] == 0 and rows["371402100"]["name"] == "二屯镇"
    assert body["total"] == {"trade_ins": 3, "subsidy_yuan": 1500.0, "handed_to_recycler": 1}


def test_the_week_before_and_a_city_read_their_own_figures(week_data):
    counter, week = week_data
    world = counter.chain.world
    before = api_client(world.district_regulator).get(URL, {"week": week.shifted(-1).label}).json()
    assert before["total"] == {"trade_ins": 1, "subsidy_yuan": 500.0, "handed_to_recycler": 0}

    city = api_client(world.city_regulator).get(URL, {"week": week.label, "region_code": "371402"}).json()
    assert city["total"]["trade_ins"] == 3
    whole_city = api_client(world.city_regulator).get(URL, {"week": week.label}).json()
    assert whole_city["region_code"] == "371400" and whole_city["total"]["trade_ins"] == 3
    assert {r["region_code"][:6] for r in whole_city["rows"]} >= {"371402", "371403", "371482"}  # every county's


def test_owners_registered_by_county_only_are_a_row_of_their_county(counter):
    week = week_of(timezone.localdate())
    _traded(counter, street="371402", at=timezone.now() - dt.timedelta(minutes=5))
    body = api_client(counter.chain.world.district_regulator).get(URL).json()
    assert body["week"] == week.label
    rows = {row["region_code"]: row for row in body["rows"]}
    assert rows["371402"]["trade_ins"] == 1 and rows["371402"]["name"] == "德城区"


@pytest.mark.parametrize("week", ["2026-12", "2026-W00", "2025-W53", "W12", "2099-W01", "1999-W10"])
def test_a_bad_or_future_week_is_400(world, week):
    response = api_client(world.district_regulator).get(URL, {"week": week})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_week" and "week" in response.json()["error"]["fields"]


def test_outsiders_read_no_figures(week_data):
    counter, week = week_data
    world = counter.chain.world
    assert api_client().get(URL).status_code == 401
    for outsider in (world.other_city_regulator, world.other_district_regulator):
        response = api_client(outsider).get(URL, {"region_code": "371402", "week": week.label})
        assert response.status_code == 404, outsider
    for not_a_regulator in (world.dealer, world.police):
        assert api_client(not_a_regulator).get(URL, {"week": week.label}).status_code == 404
    # The other district's regulator reads its own district: nothing of 德城区's.
    own = api_client(world.other_district_regulator).get(URL, {"week": week.label}).json()
    assert own["region_code"] == "371403" and own["total"]["trade_ins"] == 0


# --- the page ------------------------------------------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_page_shows_the_table_the_chart_and_exports_csv(week_data):
    counter, week = week_data
    client = _logged_in(counter.chain.world.district_regulator)

    html = client.get(PAGE, {"week": week.label}).content.decode()

    assert "以旧换新" in html and "新湖街道" in html and 'data-chart="bar"' in html
    assert f'data-testid="row-{STREET}"><td>新湖街道</td><td class="mono">{STREET}</td><td>2</td>' in html
    assert 'data-testid="total-trade_ins">3<' in html
    response = client.get(PAGE, {"week": week.label, "export": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert f"{STREET},新湖街道,2,1000.00,1" in text and ",合计,3,1500.00,1" in text


def test_the_page_of_an_empty_week_says_so_and_a_bad_week_is_explained(counter):
    client = _logged_in(counter.chain.world.district_regulator)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="empty"' in html and 'data-chart="bar"' not in html
    html = client.get(PAGE, {"week": "2026-13"}).content.decode()
    assert 'data-testid="week-error"' in html


def test_the_page_is_for_the_regulators_of_the_region(counter):
    world = counter.chain.world
    assert Client().get(PAGE).status_code == 302  # to the login
    assert _logged_in(world.other_city_regulator).get(PAGE, {"region": "371402"}).status_code == 404
    assert _logged_in(world.dealer).get(PAGE).status_code == 404
    recycler = _member(OrganizationKind.RECYCLER, "371402")
    assert _logged_in(recycler).get(PAGE).status_code == 404

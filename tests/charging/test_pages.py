"""The pages: the fire department's cabinets of its region on the map, each with its alarms of the last 30 days;
one cabinet's alarms; the operator's cabinets and swaps. Outsiders see nothing of them."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.alerts.conftest import drain
from tests.charging.conftest import station

pytestmark = pytest.mark.django_db


def _page(user, url: str):
    client = Client()
    client.force_login(user)
    return client.get(url)


@pytest.fixture
def alarmed(cabinets):
    a, b, c = cabinets.pool(3)
    old = (timezone.now() - dt.timedelta(days=40)).isoformat()
    items = [
        cabinets.item(a, b, alarm="over_temperature", temperature_c=70.5),
        cabinets.item(b, c),
        cabinets.item(c, a, alarm="smoke", occurred_at=old),  # older than 30 days: not counted
    ]
    assert cabinets.send(items).json()["accepted"] == 3
    drain()
    return cabinets, a


def test_the_fire_department_sees_its_regions_cabinets_on_the_map_with_their_alarms(alarmed):
    cabinets, _hot = alarmed
    response = _page(cabinets.fire, "/charging/cabinets/")
    html = response.content.decode()

    assert response.status_code == 200
    assert 'data-testid="region-map"' in html and "/reports/maps/371400.json" in html
    assert f'data-code="{cabinets.station.code}" data-alarms="1"' in html
    assert cabinets.other_station.code not in html  # another city's cabinet
    assert "德州市换电柜" in html and "近 30 天报警" in html  # in Chinese


def test_the_map_colours_each_district_by_its_cabinets_alarms_in_the_same_queries_for_any_number_of_cabinets(
    alarmed,
):
    """德城区 has the cabinet with one alarm in 30 days (yellow); 陵城区 has no cabinet (no colour). The page reads
    districts, cabinets and alarm counts in a fixed number of queries, however many cabinets the city has."""
    cabinets, _hot = alarmed
    with CaptureQueriesContext(connection) as few:
        html = _page(cabinets.fire, "/charging/cabinets/").content.decode()
    district = html[html.index('<tr data-code="371402">') :]
    district = district[: district.index("</tr>")]
    assert 'data-colour="yellow"' in district and '<td class="number">1</td>' in district
    empty = html[html.index('<tr data-code="371403">') :]
    assert 'data-colour=""' in empty[: empty.index("</tr>")]

    for n in range(25):
        station(cabinets.operator, f"DZ-DC-{n + 100}", "371402", f"新湖大街{n}号换电柜")
    with CaptureQueriesContext(connection) as many:
        html = _page(cabinets.fire, "/charging/cabinets/").content.decode()
    assert 'data-code="DZ-DC-100"' in html
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_cabinet_list_filters_and_exports(alarmed):
    cabinets, _hot = alarmed
    export = _page(cabinets.fire, "/charging/cabinets/?alarmed=1&export=csv")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert cabinets.station.code in body and cabinets.station.name in body
    empty = _page(cabinets.fire, "/charging/cabinets/?district=371403").content.decode()
    assert 'data-testid="empty"' in empty and cabinets.station.code not in empty


def test_a_cabinet_shows_its_alarms_of_the_last_30_days_with_their_alerts(alarmed):
    cabinets, hot = alarmed
    html = _page(cabinets.fire, f"/charging/cabinets/{cabinets.station.pk}/").content.decode()
    assert f'data-alarm="over_temperature" data-serial="{hot.serial}"' in html
    assert 'data-alarm="smoke"' not in html  # 40 days ago
    assert 'data-testid="alert-link"' in html
    for outsider in (cabinets.other_fire, cabinets.other_operator, cabinets.world.dealer):
        assert _page(outsider, f"/charging/cabinets/{cabinets.station.pk}/").status_code == 404


def test_the_operator_sees_its_cabinets_and_swaps(alarmed):
    cabinets, _hot = alarmed
    html = _page(cabinets.operator, "/charging/").content.decode()
    assert f'data-testid="station-row" data-code="{cabinets.station.code}"' in html
    assert html.count('data-testid="swap-row"') == 2  # the last 30 days
    alarms_only = _page(cabinets.operator, "/charging/?alarms=1").content.decode()
    assert alarms_only.count('data-testid="swap-row"') == 1
    other = _page(cabinets.other_operator, "/charging/").content.decode()
    assert cabinets.station.code not in other and 'data-testid="no-stations"' not in other


def test_outsiders_get_nothing_and_the_department_home_links_the_cabinets(alarmed):
    cabinets, _hot = alarmed
    world = cabinets.world
    for outsider, url in (
        (world.dealer, "/charging/cabinets/"),
        (world.police, "/charging/cabinets/"),
        (cabinets.fire, "/charging/"),
        (world.dealer, "/charging/"),
    ):
        assert _page(outsider, url).status_code == 404, (outsider, url)
    assert Client().get("/charging/cabinets/").status_code == 302  # the public is sent to log in
    assert "/charging/cabinets/" in _page(cabinets.fire, "/").content.decode()
    assert "/charging/" in _page(cabinets.operator, "/").content.decode()

"""Swap cabinets in a browser: the charging operator reads its cabinets and swaps at its desk; a battery over
temperature in a cabinet reaches the fire department of 德州, which finds the cabinet on the map of its districts,
opens it and follows the alarm to its BATTERY_THERMAL_RISK alert; the regulator has the alert in its inbox.
Outsiders: other operators see none of the operator's cabinets, another city's fire department finds no cabinet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alerts.models import Alert
from core.models import OrganizationKind
from reports.svg import COLOUR_HEX
from tests.alerts.conftest import drain
from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.test_cockpit_flow import _click_district
from tests.charging.conftest import Cabinets, station
from tests.conftest import _member
from tests.factories import PASSWORD

THERMAL = "BATTERY_THERMAL_RISK"


@pytest.fixture
def cabinets(chain) -> Cabinets:
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州市安充智能充电服务有限公司")
    other_operator = _member(OrganizationKind.CHARGING_OPERATOR, "330206", name="宁波北仑快换能源有限公司")
    return Cabinets(
        chain=chain,
        operator=operator,
        other_operator=other_operator,
        station=station(operator, "DZ-DC-001", "371402", "新湖大街换电柜"),
        other_station=station(other_operator, "BL-001", "330206", "新碶换电柜"),
        fire=_member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队"),
        other_fire=_member(OrganizationKind.FIRE, "330206", name="北仑区消防救援大队"),
    )


@pytest.fixture
def rival(cabinets):
    """Another operator in the same city, with a cabinet in 陵城区 and no alarm."""
    user = _member(OrganizationKind.CHARGING_OPERATOR, "371403", name="陵城区快换科技有限公司")
    return user, station(user, "LC-009", "371403", "陵城汽车站换电柜")


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()


def _district_colours(page) -> dict[str, str]:
    page.locator('[data-testid="region-map"][data-chart-ready="true"]').wait_for(state="attached")
    return dict(
        page.evaluate(
            """() => {
                const chart = echarts.getInstanceByDom(document.querySelector('#cabinet-map .chart-canvas'));
                return chart.getOption().series[0].data.map(d => [d.name, d.itemStyle.areaColor]);
            }"""
        )
    )


def test_an_alarm_goes_from_the_operators_cabinet_to_the_fire_department_and_the_regulator(page_for, cabinets, rival):
    world = cabinets.world
    hot, cool, spare = cabinets.pool(3)
    assert cabinets.send([cabinets.item(cool, spare)]).json()["accepted"] == 1
    drain()

    # The operator's desk: its cabinet, no alarm, its one swap.
    desk = page_for(DESKTOP)
    _log_in(desk, cabinets.operator.username)
    desk.locator('a[href="/charging/"]').first.click()
    expect(desk.get_by_test_id("operator-heading")).to_have_text("换电柜与换电记录")
    own = desk.locator(f'[data-testid="station-row"][data-code="{cabinets.station.code}"]')
    expect(desk.get_by_test_id("station-row")).to_have_count(1)
    expect(own).to_contain_text("新湖大街换电柜")
    expect(own).to_contain_text("德城区")
    expect(own.locator("td").last).to_have_text("0")
    expect(desk.get_by_test_id("swaps-count")).to_have_attribute("data-count", "1")
    expect(desk.get_by_test_id("swap-row")).to_have_attribute("data-alarm", "none")

    # The cabinet reports a battery over temperature; the rule engine runs.
    alarm = cabinets.item(hot, cool, alarm="over_temperature", temperature_c=71.5)
    assert cabinets.send([alarm, cabinets.item(spare, hot)]).json()["accepted"] == 2
    drain()
    alert = Alert.objects.get(rule=THERMAL)
    assert alert.battery_serial == hot.serial

    desk.reload()
    expect(own.locator("td").last).to_have_text("1")
    expect(desk.get_by_test_id("swaps-count")).to_have_attribute("data-count", "3")
    alarmed = desk.locator('[data-testid="swap-row"][data-alarm="over_temperature"]')
    expect(alarmed).to_contain_text(hot.serial)
    expect(alarmed).to_contain_text("温度过高")
    expect(alarmed).to_contain_text("71.5")
    desk.get_by_test_id("filter-alarms").check()
    desk.get_by_role("button", name="筛选").click()
    expect(desk.get_by_test_id("swaps-count")).to_have_attribute("data-count", "1")
    expect(desk.get_by_test_id("swap-row")).to_have_attribute("data-alarm", "over_temperature")
    screenshot(desk, "charging-operator-desktop")

    # The fire department of 德州: its districts on the map, 德城区 yellow for its one alarm, 陵城区 green.
    fire = page_for(DESKTOP)
    _log_in(fire, cabinets.fire.username)
    fire.locator('a[href="/charging/cabinets/"]').first.click()
    expect(fire.get_by_test_id("cabinets-heading")).to_have_text("德州市换电柜")
    colours = _district_colours(fire)
    assert colours["371402"] == COLOUR_HEX["yellow"] and colours["371403"] == COLOUR_HEX["green"]
    assert colours["371422"] == COLOUR_HEX[""]  # 宁津县: no cabinet
    expect(fire.get_by_test_id("cabinet-row")).to_have_count(2)
    first = fire.get_by_test_id("cabinet-row").first  # the most alarmed first
    expect(first).to_have_attribute("data-code", cabinets.station.code)
    expect(first.get_by_test_id("alarm-count")).to_have_text("1")
    expect(first).to_contain_text(cabinets.operator.organization.name)
    expect(fire.locator(f'[data-testid="cabinet-row"][data-code="{rival[1].code}"]')).to_have_attribute(
        "data-alarms", "0"
    )
    expect(fire.locator(f'[data-testid="cabinet-row"][data-code="{cabinets.other_station.code}"]')).to_have_count(0)
    screenshot(fire, "charging-cabinets-fire-desktop")

    # A click on 德城区 lists its cabinets; the cabinet's page lists its alarm with the alert.
    _click_district(fire, "371402")
    fire.wait_for_url("**/charging/cabinets/?district=371402")
    expect(fire.get_by_test_id("cabinet-row")).to_have_count(1)
    fire.get_by_test_id("cabinet-link").click()
    expect(fire.get_by_test_id("cabinet-heading")).to_contain_text("新湖大街换电柜")
    expect(fire.get_by_test_id("alarms-count")).to_have_attribute("data-count", "1")
    row = fire.locator(f'[data-testid="alarm-row"][data-serial="{hot.serial}"]')
    expect(row).to_have_attribute("data-alarm", "over_temperature")
    expect(row).to_contain_text("温度过高")
    expect(row).to_contain_text("71.5")
    screenshot(fire, "charging-cabinet-fire-desktop")
    row.get_by_test_id("alert-link").click()
    expect(fire.get_by_test_id("alert-heading")).to_contain_text(f"#{alert.pk}")
    expect(fire.get_by_test_id("subject-battery")).to_have_text(hot.serial)
    expect(fire.get_by_test_id("evidence-source")).to_have_text(f"换电记录 #{alert.evidence['swap']}")
    expect(fire.get_by_test_id("evidence-alarm")).to_have_text("温度过高")
    expect(fire.get_by_test_id("evidence-temperature_c")).to_have_text("71.5")
    expect(fire.get_by_test_id("evidence-link-station_name")).to_have_attribute(
        "href", f"/charging/cabinets/{cabinets.station.pk}/"
    )
    expect(fire.get_by_test_id("enterprise-name")).to_have_text(cabinets.operator.organization.name)
    expect(fire.locator('[data-testid="delivery"][data-reason="department"]')).to_contain_text("相关部门")
    screenshot(fire, "charging-alert-fire-desktop")

    # The regulator of 德城区 has it in its inbox.
    regulator = page_for(DESKTOP)
    _log_in(regulator, world.district_regulator.username)
    regulator.locator('a[href="/alerts/"]').first.click()
    inbox_row = regulator.locator(f'[data-testid="alert-row"][data-id="{alert.pk}"]')
    expect(inbox_row).to_have_attribute("data-rule", THERMAL)
    expect(inbox_row).to_have_attribute("data-severity", "high")
    expect(inbox_row).to_contain_text(hot.serial)
    expect(inbox_row.get_by_test_id("subject-enterprise")).to_have_text(cabinets.operator.organization.name)


def test_other_operators_see_none_of_the_cabinets_and_another_citys_fire_department_finds_none(
    page_for, cabinets, rival
):
    hot, cool = cabinets.pool(2)
    assert cabinets.send([cabinets.item(hot, cool, alarm="smoke")]).json()["accepted"] == 1
    drain()
    rival_user, rival_station = rival

    for operator, own in ((rival_user, rival_station), (cabinets.other_operator, cabinets.other_station)):
        page = page_for(DESKTOP)
        _log_in(page, operator.username)
        page.locator('a[href="/charging/"]').first.click()
        expect(page.get_by_test_id("station-row")).to_have_count(1)
        expect(page.get_by_test_id("station-row")).to_have_attribute("data-code", own.code)
        expect(page.get_by_test_id("swaps-count")).to_have_attribute("data-count", "0")
        assert cabinets.station.name not in page.content() and hot.serial not in page.content()
        assert page.goto(f"/charging/cabinets/{cabinets.station.pk}/").status == 404

    far = page_for(DESKTOP)
    _log_in(far, cabinets.other_fire.username)
    far.locator('a[href="/charging/cabinets/"]').first.click()
    expect(far.get_by_test_id("cabinet-row")).to_have_count(1)
    expect(far.get_by_test_id("cabinet-row")).to_have_attribute("data-code", cabinets.other_station.code)
    assert far.goto(f"/charging/cabinets/{cabinets.station.pk}/").status == 404
    assert "新湖大街换电柜" not in far.content()

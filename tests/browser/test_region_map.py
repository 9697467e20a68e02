"""The jurisdiction map a regulator's cockpit includes: 德州's eleven districts drawn in their colours with the
legend, the figures in a table behind the 表格 button, and a click that tells the page which district it was."""

import pytest
from playwright.sync_api import expect

from reports.svg import COLOUR_HEX
from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.region_map_urls import DEZHOU
from tests.factories import PASSWORD

URLCONF = "tests.browser.region_map_urls"


@pytest.fixture
def map_page(page_for, world, settings):
    settings.ROOT_URLCONF = URLCONF
    page = page_for(DESKTOP)
    page.goto("/login/")
    page.get_by_label("用户名").fill(world.district_regulator.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("who")).to_be_visible()
    page.goto("/test/region-map/")
    expect(page.locator('[data-testid="region-map"][data-chart-ready="true"]')).to_be_attached()
    return page


def _fills(page) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#region-map .chart-canvas svg path'))
               .map(p => (p.getAttribute('fill') || '').toLowerCase())"""
    )


def test_the_map_draws_the_eleven_districts_of_dezhou_in_their_colours(map_page):
    page = map_page
    option = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.querySelector('#region-map .chart-canvas'));
            return chart.getOption().series[0].data.map(d => [d.name, d.itemStyle.areaColor]);
        }"""
    )
    drawn = dict(option)
    assert len(drawn) == 11  # every district of the city, graded or not
    for code, _name, colour, _value, _figures in DEZHOU:
        assert drawn[code] == COLOUR_HEX[colour]
    assert drawn["371481"] == drawn["371482"] == COLOUR_HEX[""]  # 乐陵市, 禹城市: not graded
    # What the browser painted: the four colours and grey, and every district's name on the map.
    fills = _fills(page)
    for colour in ("red", "orange", "yellow", "green", ""):
        assert COLOUR_HEX[colour] in fills, colour
    labels = page.locator("#region-map .chart-canvas svg text").all_text_contents()
    names = [name for _code, name, *_rest in DEZHOU] + ["乐陵市", "禹城市"]
    assert sorted(name for name in labels if name in names) == sorted(names)
    legend = page.locator("#region-map .chart-legend li")
    expect(legend).to_have_count(4)
    expect(legend).to_have_text(["红 (2)", "橙 (2)", "黄 (2)", "绿 (3)"])
    screenshot(page, "region-map-desktop")


def test_a_click_on_a_district_tells_the_page_its_code(map_page):
    page = map_page
    page.evaluate("""() => document.addEventListener('chart:region', e => { window.clicked = e.detail; })""")
    # Where 陵城区 is on the screen: its label point, through the chart's own projection.
    x, y = page.evaluate(
        """() => {
            const el = document.querySelector('#region-map .chart-canvas');
            const chart = echarts.getInstanceByDom(el);
            const feature = echarts.getMap(chart.getOption().series[0].map).geoJSON.features
                .find(f => f.properties.code === '371403');
            const [px, py] = chart.convertToPixel({seriesIndex: 0}, feature.properties.cp);
            const box = el.getBoundingClientRect();
            return [box.left + px, box.top + py];
        }"""
    )
    page.mouse.move(x, y)
    expect(page.locator("#region-map .chart-canvas")).to_contain_text("陵城区")  # the tooltip
    expect(page.locator("#region-map .chart-canvas")).to_contain_text("风险企业占比 (%): 25")
    page.mouse.click(x, y)
    page.wait_for_function("() => window.clicked !== undefined")
    assert page.evaluate("window.clicked") == {"code": "371403", "name": "陵城区"}


def test_the_table_button_shows_the_figures_and_back(map_page):
    page = map_page
    figure = page.locator("#region-map")
    table = figure.locator("table")
    # While the map shows, the table is in the page for screen readers but takes no room on the screen.
    expect(figure).to_have_attribute("data-view", "chart")
    assert figure.locator(".chart-table").bounding_box()["width"] <= 1
    expect(table.locator("tbody tr")).to_have_count(9)
    figure.get_by_role("button", name="表格").click()
    expect(figure).to_have_attribute("data-view", "table")
    assert figure.locator(".chart-table").bounding_box()["width"] > 300
    expect(figure.locator(".chart-canvas")).to_be_hidden()
    row = table.locator('tr[data-code="371402"]')
    expect(row).to_contain_text("德城区")
    expect(row).to_contain_text("红")
    expect(row).to_contain_text("42.5")
    expect(row).to_contain_text("17")
    screenshot(page, "region-map-table-desktop")
    figure.get_by_role("button", name="图表").click()
    expect(figure.locator(".chart-canvas")).to_be_visible()
    assert figure.locator(".chart-table").bounding_box()["width"] <= 1


def test_a_bar_chart_of_months_has_its_table_too(map_page):
    page = map_page
    figure = page.locator("#sales-trend")
    expect(figure.locator(".chart-canvas svg")).to_be_attached()
    figure.get_by_role("button", name="表格").click()
    expect(figure.get_by_role("button", name="图表")).to_have_attribute("aria-pressed", "true")
    table = figure.locator("table")
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_text(["月份", "销售 (辆)", "维修 (辆)"])
    expect(table.locator("tbody tr").first).to_contain_text("2026-01")
    expect(table.locator("tbody tr").first).to_contain_text("1,234")


def test_the_map_asks_for_a_login_like_every_page(page_for, world, settings):
    settings.ROOT_URLCONF = URLCONF
    page = page_for(DESKTOP)
    response = page.goto("/reports/maps/371400.json")
    assert "/login/" in page.url and response.status == 200

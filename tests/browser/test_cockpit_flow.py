"""A city regulator's cockpit in a desktop browser: the headline figures, the map, a click on a district, its
enterprises and why they are graded so, one enterprise's work, a bike's dossier; then last month's report, read as
a page and downloaded as a PDF whose text says the region and its figures."""

import io

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reports import monthly
from reports.models import MonthlyReport
from reports.risk import risk_grade_all
from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import PASSWORD
from tests.reports.activity import build_activity


@pytest.fixture
def month_of_work(chain, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    work = build_activity(chain, world)
    risk_grade_all()
    report = MonthlyReport.objects.create(region_code="371400", month=timezone.localdate().replace(day=1))
    monthly.monthly_report_deliver(report.pk)
    return work


def _log_in(page, user):
    page.goto("/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _click_district(page, code: str) -> None:
    """Click a district where the map draws it: at its label point, through the chart's own projection."""
    page.locator('[data-testid="region-map"][data-chart-ready="true"]').wait_for(state="attached")
    x, y = page.evaluate(
        """(code) => {
            const el = document.querySelector('[data-testid="region-map"] .chart-canvas');
            const chart = echarts.getInstanceByDom(el);
            const feature = echarts.getMap(chart.getOption().series[0].map).geoJSON.features
                .find(f => f.properties.code === code);
            const [px, py] = chart.convertToPixel({seriesIndex: 0}, feature.properties.cp);
            const box = el.getBoundingClientRect();
            return [box.left + px, box.top + py];
        }""",
        code,
    )
    page.mouse.click(x, y)


def test_the_regulator_drills_down_from_the_map_to_a_bike_and_downloads_the_report(page_for, world, month_of_work):
    page = page_for(DESKTOP)
    _log_in(page, world.city_regulator)
    page.get_by_role("link", name="驾驶舱与风险地图").click()
    expect(page.get_by_test_id("cockpit-heading")).to_contain_text("德州市")
    expect(page.get_by_test_id("kpi-sales")).to_be_visible()
    expect(page.locator('[data-testid="region-map"] .chart-canvas svg path').first).to_be_attached()
    screenshot(page, "cockpit-city")

    _click_district(page, "371402")  # 德城区
    page.wait_for_url("**/dashboard/?region=371402")
    expect(page.get_by_test_id("cockpit-heading")).to_contain_text("德城区")
    shop = month_of_work["shop"].organization
    row = page.locator(f'[data-testid="enterprise-row"][data-org="{shop.pk}"]')
    expect(row).to_contain_text("涉及该企业的未办结预警")  # why it has its grade
    screenshot(page, "cockpit-district")

    page.get_by_role("link", name=world.dealer.organization.name).click()
    expect(page.get_by_test_id("enterprise-name")).to_have_text(world.dealer.organization.name)
    page.get_by_test_id("bike-link").first.click()
    expect(page.get_by_test_id("timeline")).to_be_visible()  # the dossier of the bike (一车一档)

    page.goto("/dashboard/")
    page.get_by_test_id("to-reports").click()
    report = page.locator('[data-testid="report"][data-region="371400"]')
    expect(report).to_have_attribute("data-status", "done")
    with page.expect_popup() as popup:
        report.get_by_test_id("report-html").click()
    expect(popup.value.locator("h1")).to_have_text("德州市电动自行车安全治理月度报告")
    with page.expect_download() as download:
        report.get_by_test_id("report-pdf").click()
    pdf = download.value.path().read_bytes()

    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "德州市" in text and "主要指标" in text
    sales = page.evaluate("fetch('/api/v1/reports/summary/?region_code=371400').then(r => r.json())")["sales"]
    assert str(sales) in text

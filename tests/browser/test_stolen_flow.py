"""The police and a stolen bike, in a browser: the police of 德州 report a registered bike stolen from the hot sheet;
a repair shop repairs it on a phone; the police find the sighting in the inbox and on the hot sheet; a rider's scan
of its QR code says it is stolen and nothing more; the police record it found and it leaves the sheet. Outsiders: a
dealer finds no hot sheet, another city's police neither see the report nor may file one for the bike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert
from core.models import OrganizationKind
from repairs.models import Repair
from tests.alerts.conftest import drain
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.chain import BUYER
from tests.conftest import _member
from tests.factories import PASSWORD
from vehicles.models import StolenReport
from vehicles.registration import BuyerData, registration_create
from vehicles.stolen import stolen_report_open

REPORT_NO = "德公刑(2026)0417号"


@pytest.fixture
def bike(chain):
    """A bike sold in 德城区 (371402) a month ago; the city police (371400) are its police."""
    vehicle, battery = chain.in_stock(chain.world.dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=chain.world.dealer.organization,
            registered_at=timezone.now() - dt.timedelta(days=30),
        )
    vehicle.refresh_from_db()
    drain()  # its life so far is behind it
    return vehicle


@pytest.fixture
def shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")


@pytest.fixture
def far_police(world):
    return _member(OrganizationKind.POLICE, "330206", name="宁波市公安局北仑分局")


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _stolen_row(page, vehicle):
    return page.locator(f'[data-testid="stolen-row"][data-frame-no="{vehicle.frame_no}"]')


def test_the_police_report_a_bike_stolen_see_it_repaired_and_record_it_found(page_for, world, bike, shop):
    police = world.police
    reported_at = timezone.localtime() - dt.timedelta(hours=2)

    # The police home links the hot sheet; nothing on it yet.
    desk = page_for(DESKTOP)
    _log_in(desk, police.username)
    desk.locator('a[href="/records/stolen/"]').first.click()
    expect(desk.get_by_role("heading", name="被盗车辆", exact=True)).to_be_visible()
    expect(desk.get_by_test_id("stolen-count")).to_have_attribute("data-count", "0")
    expect(desk.get_by_test_id("empty")).to_be_visible()

    # Report the bike stolen: frame number, report number and when.
    desk.get_by_test_id("report-stolen").click()
    expect(desk.get_by_role("heading", name="登记被盗车辆")).to_be_visible()
    desk.get_by_test_id("frame_no").fill(bike.frame_no.lower())  # typed in small letters: read as the frame number
    desk.get_by_test_id("report_no").fill(REPORT_NO)
    desk.get_by_test_id("reported_at").fill(reported_at.strftime("%Y-%m-%dT%H:%M"))
    screenshot(desk, "stolen-form-desktop")
    desk.get_by_test_id("stolen-submit").click()

    # Back on the hot sheet: the bike, its report, not seen since.
    expect(desk.get_by_text(f"车辆 {bike.frame_no} 已登记被盗")).to_be_visible()
    expect(desk.get_by_test_id("stolen-count")).to_have_attribute("data-count", "1")
    row = _stolen_row(desk, bike)
    expect(row).to_contain_text(REPORT_NO)
    expect(row).to_contain_text("德州市公安局")
    expect(row).to_contain_text(reported_at.strftime("%Y-%m-%d %H:%M"))
    expect(row.get_by_test_id("last-seen")).to_have_text("报失后未再出现")
    report = StolenReport.objects.get()
    assert report.vehicle_id == bike.pk and report.report_no == REPORT_NO and report.found_at is None

    # A repair shop repairs the bike on a phone, its QR label at hand.
    phone = page_for(PHONE)
    _log_in(phone, shop.username)
    phone.locator('a[href="/repair/new/"]').first.click()
    phone.get_by_test_id("frame_no").fill(bike.frame_no)
    phone.get_by_test_id("kind").select_option("brake_tyre")
    phone.get_by_test_id("proof").fill(bike.code)
    phone.get_by_test_id("repair-submit").click()
    expect(phone.get_by_test_id("repair-done")).to_be_visible()
    assert Repair.objects.filter(vehicle=bike, shop=shop.organization).count() == 1
    drain()
    alert = Alert.objects.get(rule="STOLEN_SEEN")

    # The police find the sighting in the inbox, with where the bike was seen.
    desk.goto("/")
    desk.locator('a[href="/alerts/"]').first.click()
    inbox_row = desk.locator(f'[data-testid="alert-row"][data-id="{alert.pk}"]')
    expect(inbox_row).to_have_attribute("data-rule", "STOLEN_SEEN")
    expect(inbox_row).to_contain_text("被盗车辆出现")
    expect(inbox_row.get_by_test_id("subject-frame-no")).to_have_text(bike.frame_no)
    inbox_row.get_by_test_id("open-alert").click()
    expect(desk.get_by_test_id("alert-heading")).to_contain_text("被盗车辆出现")
    expect(desk.get_by_test_id("evidence-report_no")).to_have_text(REPORT_NO)
    expect(desk.get_by_test_id("evidence-seen_event")).to_have_text("维修")
    expect(desk.get_by_test_id("evidence-enterprise")).to_have_text(shop.organization.name)
    expect(desk.get_by_test_id("evidence-seen_region")).to_have_text("德城区")
    expect(desk.get_by_test_id("dossier-link")).to_have_attribute("href", f"/records/vehicles/{bike.frame_no}/")
    delivered = desk.locator(f'[data-testid="delivery"][data-organization="{police.organization_id}"]')
    expect(delivered).to_contain_text("相关部门")  # why it reached the police: the rule concerns them
    screenshot(desk, "stolen-seen-alert-desktop")

    # The hot sheet shows the last sighting, linking the alert.
    desk.goto("/records/stolen/")
    seen = _stolen_row(desk, bike).get_by_test_id("last-seen")
    expect(seen).to_contain_text("维修")
    expect(seen).to_contain_text(shop.organization.name)
    expect(seen).to_contain_text("德城区")
    expect(seen.get_by_role("link")).to_have_attribute("href", f"/alerts/{alert.pk}/")
    screenshot(desk, "stolen-hot-sheet-desktop")

    # A rider scans the bike's QR code: reported stolen, and nothing of the theft or of its owner.
    rider = page_for(PHONE)
    assert rider.goto(f"/v/{bike.code}").status == 200
    expect(rider.get_by_test_id("banner-stolen")).to_contain_text("已报失窃")
    expect(rider.get_by_test_id("verdict")).to_have_attribute("data-verdict", "compliant")
    body = rider.content()
    for private in (BUYER["name"], BUYER["phone"], BUYER["id_number"], REPORT_NO, "德州市公安局"):
        assert private not in body, private
    _no_sideways_scrolling(rider)
    screenshot(rider, "stolen-public-page-phone")

    # The police record it found: it leaves the sheet, and the QR page no longer says stolen.
    _stolen_row(desk, bike).get_by_test_id("found").click()
    expect(desk.get_by_text(f"车辆 {bike.frame_no} 已登记找回。")).to_be_visible()
    expect(desk.get_by_test_id("stolen-count")).to_have_attribute("data-count", "0")
    expect(_stolen_row(desk, bike)).to_have_count(0)
    expect(desk.get_by_test_id("empty")).to_be_visible()
    report.refresh_from_db()
    assert report.found_at is not None and report.found_by_id == police.organization_id
    rider.reload()
    expect(rider.get_by_test_id("public-record")).to_be_visible()
    expect(rider.get_by_test_id("banner-stolen")).to_have_count(0)
    assert "已报失窃" not in rider.content()


def test_a_dealer_finds_no_hot_sheet_and_another_citys_police_see_nothing_of_the_report(
    page_for, world, bike, far_police
):
    with transaction.atomic():
        stolen_report_open(
            user=world.police,
            frame_no=bike.frame_no,
            report_no=REPORT_NO,
            reported_at=timezone.now() - dt.timedelta(hours=1),
        )

    dealer = page_for(DESKTOP)
    _log_in(dealer, world.dealer.username)
    expect(dealer.locator('a[href="/records/stolen/"]')).to_have_count(0)
    assert dealer.goto("/records/stolen/").status == 404
    assert bike.frame_no not in dealer.content()

    far = page_for(DESKTOP)
    _log_in(far, far_police.username)
    far.locator('a[href="/records/stolen/"]').first.click()
    expect(far.get_by_test_id("stolen-count")).to_have_attribute("data-count", "0")
    expect(far.get_by_test_id("empty")).to_be_visible()
    assert bike.frame_no not in far.content() and REPORT_NO not in far.content()
    assert far.goto("/records/stolen/?region_code=371400").status == 404  # 德州 is not its jurisdiction
    # Nor may it file a report of its own for the bike: to it there is no such bike.
    far.goto("/records/stolen/new/")
    far.get_by_test_id("frame_no").fill(bike.frame_no)
    far.get_by_test_id("report_no").fill("甬公刑(2026)1号")
    far.get_by_test_id("reported_at").fill(timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    far.get_by_test_id("stolen-submit").click()
    expect(far.get_by_test_id("error-frame_no")).to_contain_text("本辖区内没有该车架号的车辆")
    expect(far.get_by_test_id("report_no")).to_have_value("甬公刑(2026)1号")
    assert StolenReport.objects.count() == 1

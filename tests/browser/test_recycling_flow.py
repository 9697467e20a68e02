"""The recycler on a phone: take a bike back (its QR label, once its registration is cancelled), then dispose of the
battery it carried, in two short forms."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from recycling.models import RecyclingRecord
from tests.browser.conftest import PHONE, screenshot
from tests.factories import PASSWORD
from tests.recycling.conftest import rc  # noqa: F401  (the recycling world fixture)
from vehicles.models import Battery, Vehicle
from vehicles.registration import registration_cancel

pytestmark = pytest.mark.browser


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_recycler_takes_a_bike_back_and_disposes_of_its_battery(page_for, rc):  # noqa: F811  (fixture)
    vehicle, battery = rc.sold_bike()
    page = page_for(PHONE)
    _log_in(page, rc.recycler.username)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    page.locator('a[href="/recycler/new/"]').first.click()
    page.get_by_test_id("kind-vehicle").check()
    page.get_by_test_id("ref").fill(vehicle.frame_no)
    expect(page.get_by_test_id("proof")).to_have_attribute("data-scan", "code")
    page.get_by_test_id("proof").fill(vehicle.code)  # the QR label on the bike
    page.get_by_test_id("disposal-dismantle").check()
    _no_sideways_scrolling(page)
    screenshot(page, "recycler-take-back-phone")
    page.get_by_test_id("recycling-submit").click()

    # Still registered: the owner cancels the registration first (注销). Nothing was taken back.
    expect(page.get_by_test_id("error-ref")).to_contain_text("注销")
    expect(page.get_by_test_id("proof")).to_have_value(vehicle.code)
    assert not RecyclingRecord.objects.exists()
    registration_cancel(
        user=rc.world.police, frame_no=vehicle.frame_no, reason="车主申请注销", cancelled_at=timezone.now()
    )
    page.get_by_test_id("disposal-dismantle").check()
    page.get_by_test_id("recycling-submit").click()

    expect(page.get_by_test_id("record-status")).to_have_attribute("data-status", "recycled")
    released = page.locator(f'[data-testid="released-battery"][data-serial="{battery.serial}"]')
    expect(released).to_be_visible()
    _no_sideways_scrolling(page)
    screenshot(page, "recycler-record-phone")
    assert Vehicle.objects.get(pk=vehicle.pk).status == "recycled"

    released.get_by_role("link").click()
    expect(page.get_by_test_id("ref")).to_have_value(battery.serial)
    page.get_by_test_id("disposal-cascade_refused").check()
    page.get_by_test_id("recycling-submit").click()
    expect(page.get_by_test_id("record-status")).to_have_attribute("data-disposal", "cascade_refused")
    assert Battery.objects.get(pk=battery.pk).status == "recycled"

    page.locator('a[href="/recycler/records/"]').first.click()
    expect(page.get_by_test_id("records-count")).to_have_attribute("data-count", "2")
    _no_sideways_scrolling(page)
    screenshot(page, "recycler-records-phone")
    assert RecyclingRecord.objects.count() == 2

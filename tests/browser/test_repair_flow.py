"""The repair shop in the workshop, on a phone: upload a battery replacement (the bike's QR label shows it is at hand),
then find the removed battery in the list of batteries to hand over to recycling."""

import pytest
from playwright.sync_api import expect

from repairs.models import Repair, RepairPhoto
from tests.browser.conftest import PHONE, screenshot
from tests.factories import PASSWORD
from tests.repairs.conftest import JPEG, Workshop, repair_shop


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def workshop(chain) -> Workshop:
    return Workshop(
        chain=chain, shop=repair_shop("371402", name="德城区诚信电动车维修部"), other_shop=repair_shop("371403")
    )


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_shop_uploads_a_battery_replacement_then_sees_the_battery_to_hand_over(page_for, workshop):
    shop = workshop.shop
    vehicle, [old] = workshop.bike()
    new = workshop.spare_battery()
    page = page_for(PHONE)
    _log_in(page, shop.username)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    page.locator('a[href="/repair/new/"]').first.click()
    expect(page.get_by_test_id("repair-form")).to_be_visible()
    page.get_by_test_id("frame_no").fill(vehicle.frame_no)
    page.get_by_test_id("kind").select_option("battery_replacement")
    page.get_by_test_id("removed_battery_serials").fill(old.serial)
    page.get_by_test_id("fitted_battery_serials").fill("")  # forgotten at first
    page.get_by_test_id("photos").set_input_files([{"name": "bike.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    _no_sideways_scrolling(page)
    screenshot(page, "repair-form-phone")
    page.get_by_test_id("repair-submit").click()

    # The refusal shows next to the field, and what was typed stays.
    expect(page.get_by_test_id("error-fitted_battery_serials")).to_be_visible()
    expect(page.get_by_test_id("frame_no")).to_have_value(vehicle.frame_no)
    expect(page.get_by_test_id("removed_battery_serials")).to_have_value(old.serial)
    assert not Repair.objects.exists()
    page.get_by_test_id("fitted_battery_serials").fill(new.serial)
    page.get_by_test_id("photos").set_input_files([{"name": "bike.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_test_id("repair-submit").click()

    # The frame number alone does not show the bike is in the workshop: the refusal sits by the proof field.
    expect(page.get_by_test_id("error-proof")).to_be_visible()
    expect(page.get_by_test_id("proof")).to_have_attribute("data-scan", "code")
    expect(page.get_by_test_id("fitted_battery_serials")).to_have_value(new.serial)
    assert not Repair.objects.exists()
    page.get_by_test_id("proof").fill(f"https://ebike.example.gov.cn/v/{vehicle.code}")  # the label, scanned
    page.get_by_test_id("photos").set_input_files([{"name": "bike.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_test_id("repair-submit").dblclick()  # an impatient double tap

    expect(page.get_by_test_id("repair-done")).to_be_visible()
    expect(page.get_by_test_id("success")).to_be_visible()
    expect(page.get_by_test_id("removed")).to_have_text(old.serial)
    expect(page.get_by_test_id("fitted")).to_have_text(new.serial)
    expect(page.get_by_test_id("flags")).to_have_count(0)
    _no_sideways_scrolling(page)
    screenshot(page, "repair-done-phone")
    repair = Repair.objects.get()
    assert repair.fitted_battery_serials == [new.serial] and RepairPhoto.objects.filter(repair=repair).count() == 1

    page.get_by_test_id("to-batteries").click()
    row = page.locator(f'[data-testid="battery-row"][data-serial="{old.serial}"]')
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-overdue", "false")
    expect(row).to_have_attribute("data-days-left", "30")
    expect(row.get_by_test_id("days-left")).to_be_visible()
    expect(page.get_by_test_id("batteries-count")).to_have_attribute("data-count", "1")
    _no_sideways_scrolling(page)
    screenshot(page, "repair-batteries-phone")

    page.goto("/repair/repairs/")
    expect(page.locator(f'[data-testid="repair-row"][data-frame-no="{vehicle.frame_no}"]')).to_be_visible()
    _no_sideways_scrolling(page)
    screenshot(page, "repair-list-phone")

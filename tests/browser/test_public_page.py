"""A rider scans a bike's QR code with a phone: the verdict first, in Chinese, one column, English one tap away."""

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, screenshot
from tests.vehicles.test_public import PERSONAL, cat, make_bike  # noqa: F401  (cat is a fixture)
from vehicles.codes import public_code_new


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_rider_opens_a_bike_page_on_a_phone_and_switches_to_english(page_for, cat):  # noqa: F811
    vehicle = make_bike(cat)
    page = page_for(PHONE)
    response = page.goto(f"/v/{vehicle.code}")
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")  # Chinese although the browser asks English
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-verdict", "compliant")
    expect(page.get_by_test_id("model")).to_contain_text("德骑 轻风 TDT1")
    expect(page.get_by_test_id("maker")).to_contain_text("德骑电动车有限公司")
    expect(page.get_by_test_id("repairs-empty")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "public-vehicle-phone-zh")

    page.get_by_test_id("switch-en").click()
    expect(page.get_by_test_id("verdict-text")).to_have_text("Compliant")
    expect(page.get_by_role("heading", name="Repair history")).to_be_visible()
    expect(page.get_by_test_id("model")).to_contain_text("德骑 轻风 TDT1")
    _no_sideways_scroll(page)
    body = page.content()
    assert not [value for value in PERSONAL if value in body]
    screenshot(page, "public-vehicle-phone-en")


def test_rider_sees_issues_on_a_scrapped_bike(page_for, cat):  # noqa: F811
    vehicle = make_bike(cat, status="scrapped", battery_models=[cat.other_battery_model])
    page = page_for(PHONE)
    page.goto(f"/v/{vehicle.code}")
    expect(page.get_by_test_id("banner-scrapped")).to_be_visible()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-verdict", "issues")
    expect(page.locator("[data-reason=battery_incompatible]")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "public-vehicle-scrapped-phone")


def test_rider_scanning_an_unknown_code_is_warned(page_for, db):
    page = page_for(PHONE)
    response = page.goto(f"/v/{public_code_new()}")
    assert response.status == 404
    expect(page.get_by_test_id("unknown-code")).to_be_visible()
    expect(page.get_by_test_id("advice")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "public-unknown-code-phone-zh")

    page.get_by_test_id("switch-en").click()
    expect(page.get_by_test_id("unknown-code")).to_contain_text("This code is not registered")
    expect(page.get_by_test_id("advice")).to_contain_text("12315")
    screenshot(page, "public-unknown-code-phone-en")


def test_a_forged_label_with_a_very_long_code_does_not_break_the_layout(page_for, db):
    page = page_for(PHONE)
    response = page.goto("/v/" + "W" * 300)
    assert response.status == 404
    expect(page.get_by_test_id("unknown-code")).to_be_visible()
    _no_sideways_scroll(page)

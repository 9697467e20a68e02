"""The dealer at the counter, on a phone: receive a bike and a battery, sell them, show the QR code."""

from playwright.sync_api import expect

from dealers.models import Receipt, Sale
from tests.browser.conftest import PHONE, screenshot
from tests.chain import BUYER
from tests.factories import PASSWORD
from vehicles.models import Registration


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_dealer_receives_a_bike_and_a_battery_then_sells_them(page_for, chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.vehicle(), chain.battery()
    page = page_for(PHONE)
    _log_in(page, dealer.username)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    # Receive goods (进货查验): the bike from its maker, with a mistyped frame number among the scans.
    page.locator('a[href="/dealer/receive/"]').first.click()
    page.get_by_test_id("supplier").select_option(str(chain.maker.organization_id))
    page.get_by_test_id("codes").fill(f"{vehicle.frame_no}\n140222600009999\n")
    # The verdicts show while scanning, before anything is recorded.
    expect(page.get_by_test_id(f"check-{vehicle.frame_no}")).to_have_attribute("data-verdict", "accepted")
    expect(page.get_by_test_id("check-140222600009999")).to_have_attribute("data-verdict", "rejected")
    assert not Receipt.objects.exists()
    screenshot(page, "dealer-receive-form-phone")
    page.get_by_test_id("receive-submit").click()
    expect(page.locator(f'[data-testid="verdict-item"][data-ref="{vehicle.frame_no}"]')).to_have_attribute(
        "data-verdict", "accepted"
    )
    refused = page.locator('[data-testid="verdict-item"][data-ref="140222600009999"]')
    expect(refused).to_have_attribute("data-verdict", "rejected")
    expect(refused.locator('[data-reason="unknown"]')).to_be_visible()
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-receive-result-phone")

    # Then the battery from the battery maker.
    page.get_by_test_id("receive-more").click()
    page.get_by_test_id("supplier").select_option(str(chain.battery_maker.organization_id))
    page.get_by_test_id("codes").fill(battery.serial)
    page.get_by_test_id("receive-submit").click()
    expect(page.locator(f'[data-testid="verdict-item"][data-ref="{battery.serial}"]')).to_have_attribute(
        "data-verdict", "accepted"
    )
    assert Receipt.objects.filter(dealer=dealer.organization).count() == 2

    # Stock shows both.
    page.goto("/dealer/stock/")
    expect(page.get_by_test_id("count-vehicle")).to_have_text("1")
    expect(page.get_by_test_id("count-battery")).to_have_text("1")
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-stock-phone")

    # Register the sale: the 标配 check passes before submitting.
    page.goto("/dealer/sales/new/")
    page.get_by_test_id("frame_no").fill(vehicle.frame_no)
    page.get_by_test_id("battery_serials").fill(battery.serial)
    expect(page.get_by_test_id("pair-check")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("buyer_name").fill(BUYER["name"])
    page.get_by_test_id("buyer_id_number").fill("12345")  # a typo first
    page.get_by_test_id("buyer_phone").fill(BUYER["phone"])
    expect(page.get_by_test_id("buyer_region")).to_have_value("371402")
    screenshot(page, "dealer-sale-form-phone")
    page.get_by_test_id("sale-submit").click()

    expect(page.get_by_test_id("error-buyer_id_number")).to_be_visible()
    expect(page.get_by_test_id("buyer_name")).to_have_value(BUYER["name"])
    expect(page.get_by_test_id("frame_no")).to_have_value(vehicle.frame_no)
    screenshot(page, "dealer-sale-error-phone")
    page.get_by_test_id("buyer_id_number").fill(BUYER["id_number"])
    page.get_by_test_id("sale-submit").dblclick()  # an impatient double tap

    expect(page.get_by_test_id("sale-done")).to_be_visible()
    vehicle.refresh_from_db()
    expect(page.get_by_test_id("plate")).to_have_text(vehicle.code)
    qr = page.get_by_test_id("qr")
    expect(qr).to_have_attribute("src", f"/v/{vehicle.code}/qr.svg")
    page.wait_for_function("document.querySelector('[data-testid=qr]').complete")
    assert page.evaluate("document.querySelector('[data-testid=qr]').naturalWidth") > 0
    expect(page.get_by_test_id("print")).to_be_visible()
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-sale-done-phone")

    assert Sale.objects.count() == 1 and Registration.objects.get().vehicle == vehicle

    # The ledger has it, buyer masked.
    page.goto("/dealer/sales/")
    row = page.locator(f'[data-testid="sale-row"][data-frame-no="{vehicle.frame_no}"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("sale-buyer")).to_contain_text("张**")
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-sales-ledger-phone")

"""Shipping and receiving in a browser: the vehicle maker ships bikes (one with its battery fitted at the factory)
from its desk, the dealer sees them on its way on the phone and receives them with one tap."""

from playwright.sync_api import expect

from dealers.models import Receipt, Shipment
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD
from tests.shipping import fitted_bike
from vehicles.models import Battery, Vehicle


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()


def test_a_maker_ships_bikes_and_the_dealer_receives_them_in_one_tap(page_for, chain):
    dealer = chain.world.dealer
    frame_no, (serial,) = fitted_bike(chain)
    plain = chain.vehicle()
    elsewhere = chain.vehicle(holder=chain.world.other_dealer.organization, status="in_stock")

    desk = page_for(DESKTOP)
    _log_in(desk, chain.maker.username)
    desk.locator('a[href="/dealer/shipments/"]').first.click()
    desk.get_by_test_id("receiver").select_option(str(dealer.organization_id))
    desk.get_by_test_id("codes").fill(f"{frame_no}\n{elsewhere.frame_no}\n")
    desk.get_by_test_id("ship-submit").click()
    # the bike not in stock is named next to the codes, in words; nothing is shipped and the codes stay
    expect(desk.get_by_test_id("error-codes")).to_contain_text(elsewhere.frame_no)
    expect(desk.get_by_test_id("error-codes")).to_contain_text("不在您的库存中")
    assert not Shipment.objects.filter(sender=chain.maker.organization).exists()
    desk.get_by_test_id("codes").fill(f"{frame_no}\n{plain.frame_no}\n")
    desk.get_by_test_id("ship-submit").click()
    expect(desk.locator(f'[data-testid="shipment-item"][data-ref="{serial}"]')).to_have_attribute(
        "data-status", "in_transit"
    )
    screenshot(desk, "maker-shipment-desktop")

    phone = page_for(PHONE)
    _log_in(phone, dealer.username)
    phone.locator('a[href="/dealer/receive/"]').first.click()
    shipment = phone.get_by_test_id("in-transit-shipment")
    expect(shipment).to_contain_text(chain.maker.organization.name)
    expect(shipment.locator(f'[data-ref="{serial}"]')).to_be_visible()  # the fitted battery, under its bike
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "dealer-in-transit-phone")
    shipment.get_by_test_id("confirm-shipment").click()
    for ref in (frame_no, serial, plain.frame_no):
        expect(phone.locator(f'[data-testid="verdict-item"][data-ref="{ref}"]')).to_have_attribute(
            "data-verdict", "accepted"
        )
    screenshot(phone, "dealer-shipment-received-phone")
    assert Receipt.objects.filter(dealer=dealer.organization).count() == 1
    assert Vehicle.objects.get(frame_no=frame_no).holder_id == dealer.organization_id
    assert Battery.objects.get(serial=serial).holder_id == dealer.organization_id

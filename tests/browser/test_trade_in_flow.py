"""The dealer at the counter, on a phone: an owner brings an old-standard bike (备案非标车) and leaves on a new one."""

import pytest
from playwright.sync_api import expect

from dealers.models import TradeIn
from tests.browser.conftest import PHONE, screenshot
from tests.dealers.trade_in_world import STREET, Counter, counter_for
from tests.factories import PASSWORD
from vehicles.models import Registration


@pytest.fixture
def counter(chain) -> Counter:
    return counter_for(chain)


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_dealer_trades_an_old_standard_bike_in_for_a_new_one(page_for, counter):
    old = counter.registered()  # GB 17761-2018, registered to 张三丰 on 新湖街道 before the cut-off
    new, battery = counter.chain.in_stock(counter.dealer)
    page = page_for(PHONE)
    _log_in(page, counter.dealer.username)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    page.locator('a[href="/dealer/trade-ins/new/"]').first.click()
    page.wait_for_url("**/dealer/trade-ins/new/")
    page.wait_for_load_state("load")  # the form's scripts are set up before the clerk types
    # The frame number alone is not enough: the bike must be shown to be at the counter.
    page.get_by_test_id("old").fill(old.frame_no)
    page.get_by_test_id("find").click()
    expect(page.get_by_test_id("error-proof")).to_be_visible()
    expect(page.get_by_test_id("old-bike")).to_have_count(0)

    # Its QR code (as the camera would read it) finds it: its kind, the subsidy and the owner, masked.
    page.get_by_test_id("proof").fill(old.code)
    page.get_by_test_id("find").click()
    card = page.get_by_test_id("old-bike")
    expect(card).to_have_attribute("data-kind", "old_standard")
    expect(page.get_by_test_id("kind")).to_contain_text("备案非标车")
    expect(page.get_by_test_id("subsidy")).to_contain_text("¥500.00")
    expect(page.get_by_test_id("owner")).to_contain_text("张**")
    expect(page.get_by_test_id("owner")).not_to_contain_text("张三丰")
    expect(page.get_by_test_id("buyer_region")).to_have_value(STREET)
    expect(page.get_by_test_id("subsidy_yuan")).to_have_value("500.00")
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-trade-in-found-phone")

    # The new bike and its battery: the 标配 check passes before submitting.
    page.get_by_test_id("frame_no").fill(new.frame_no)
    page.get_by_test_id("battery_serials").fill(battery.serial)
    expect(page.get_by_test_id("pair-check")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("trade-in-submit").dblclick()  # a double tap trades in once

    expect(page.get_by_test_id("trade-in-done")).to_be_visible()
    new.refresh_from_db()
    expect(page.get_by_test_id("qr")).to_have_attribute("src", f"/v/{new.code}/qr.svg")
    expect(page.get_by_test_id("old")).to_contain_text(old.frame_no)
    expect(page.get_by_test_id("subsidy")).to_contain_text("¥500.00")
    _no_sideways_scrolling(page)
    screenshot(page, "dealer-trade-in-done-phone")

    trade_in = TradeIn.objects.get()
    assert (trade_in.old_vehicle_id, trade_in.sale.vehicle_id, trade_in.old_kind) == (old.pk, new.pk, "old_standard")
    assert Registration.objects.get(vehicle=old).status == "cancelled"
    assert Registration.objects.get(vehicle=new, status="active").owner.name == "张三丰"

    # The old bike waits at the dealer for a recycler, with its days left.
    page.goto("/dealer/trade-ins/new/")
    expect(page.get_by_test_id("waiting")).to_contain_text(old.frame_no)

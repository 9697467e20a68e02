"""The closed loop end to end: the regulator's inbox (live), a rectification requested, the repair shop submitting
it on a phone with a photo, the regulator verifying and closing; the alert keeps every step."""

import pytest
from playwright.sync_api import expect

from alerts.models import Alert, AlertAttachment, DepartmentSubscription
from alerts.services import alert_transition
from core.models import OrganizationKind
from tests.alerts.conftest import drain, fit, repaired
from tests.alerts.test_pages import png
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.chain import BUYER
from tests.conftest import _member, api_client
from tests.factories import PASSWORD


@pytest.fixture
def sold(chain):
    """A bike sold and registered by the dealer in 德城区."""
    vehicle, battery = chain.in_stock(chain.world.dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(chain.world.dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    vehicle.refresh_from_db()
    return vehicle


@pytest.fixture
def shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_inbox_to_rectification_to_closure(page_for, chain, sold, shop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    regulator = chain.world.district_regulator
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    alert = Alert.objects.get()

    # The regulator opens the inbox from the home page.
    desk = page_for(DESKTOP)
    _log_in(desk, regulator.username)
    desk.locator('a[href="/alerts/"]').first.click()
    row = desk.locator(f'[data-testid="alert-row"][data-id="{alert.pk}"]')
    expect(row).to_have_attribute("data-severity", "high")
    expect(row.get_by_test_id("sla")).to_have_attribute("data-state", "due")
    expect(desk.get_by_test_id("inbox-count")).to_have_attribute("data-count", "1")

    # A new alert arrives while the inbox is open: it shows up by itself, highlighted.
    repaired(sold, shop, kind="speed_limiter", repair=2)
    drain()
    newer = Alert.objects.get(rule="MOD_SPEED_UNLOCK")
    fresh = desk.locator(f'[data-testid="alert-row"][data-id="{newer.pk}"]')
    expect(fresh).to_have_attribute("data-fresh", "true", timeout=20000)
    expect(desk.get_by_test_id("inbox-count")).to_have_attribute("data-count", "2")
    expect(row).to_have_attribute("data-fresh", "false")
    screenshot(desk, "alert-inbox-desktop")

    # The detail: evidence, the bike's ledger, the enterprise; it asks for a rectification.
    row.get_by_test_id("open-alert").click()
    expect(desk.get_by_test_id("alert-status")).to_have_attribute("data-status", "dispatched")
    expect(desk.get_by_test_id("evidence-reasons")).to_be_visible()
    expect(desk.get_by_test_id("dossier-link")).to_have_attribute("href", f"/records/vehicles/{sold.frame_no}/")
    expect(desk.locator('tr.alert-event[data-testid="event"]')).to_have_attribute("data-type", "battery_fitted")
    expect(desk.get_by_test_id("enterprise-name")).to_have_text(shop.organization.name)
    expect(desk.get_by_test_id("action-verify")).to_have_count(0)
    screenshot(desk, "alert-detail-new-desktop")
    desk.get_by_test_id("note").fill("拆除非标配电池，换回本车型认证电池，3日内提交照片。")
    desk.get_by_test_id("action-request_rectification").click()
    expect(desk.get_by_test_id("alert-status")).to_have_attribute("data-status", "rectification_requested")
    expect(desk.get_by_test_id("action-request_rectification")).to_have_count(0)

    # The repair shop, on a phone, sees what to rectify and submits it with a note and a photo.
    phone = page_for(PHONE)
    _log_in(phone, shop.username)
    phone.locator('a[href="/alerts/mine/"]').first.click()
    card = phone.locator(f'[data-testid="my-alert"][data-id="{alert.pk}"]')
    expect(card.get_by_test_id("to-rectify")).to_contain_text("换回本车型认证电池")
    _no_sideways_scrolling(phone)
    screenshot(phone, "alert-mine-to-rectify-phone")
    card.get_by_test_id("rectify-note").fill("已拆除非标电池并移交回收，换装标配 LD-4820 电池。")
    card.get_by_test_id("rectify-photos").set_input_files(
        [{"name": "after.png", "mimeType": "image/png", "buffer": png(64, 48, (40, 140, 60))}]
    )
    card.get_by_test_id("rectify-submit").click()
    expect(phone.get_by_test_id("tab-todo")).to_have_attribute("data-count", "0")
    expect(phone.locator(".notice.success")).to_be_visible()
    _no_sideways_scrolling(phone)
    screenshot(phone, "alert-mine-submitted-phone")
    assert AlertAttachment.objects.get().transition.action == "submit_rectification"

    # The regulator opens the submission; meanwhile a colleague at the city bureau verifies it first. The
    # regulator's own "verify" is then refused in words, and the page offers what the state now allows.
    desk.reload()
    expect(desk.get_by_test_id("alert-status")).to_have_attribute("data-status", "rectification_submitted")
    expect(desk.get_by_test_id("photo")).to_have_count(1)
    alert_transition(user=chain.world.city_regulator, alert_id=alert.pk, action="verify", note="市局抽查核验通过")
    desk.get_by_test_id("note").fill("现场核验：已换装标配电池。")
    desk.get_by_test_id("action-verify").click()
    expect(desk.get_by_test_id("action-error")).to_have_attribute("data-code", "wrong_state")
    expect(desk.get_by_test_id("note")).to_have_value("现场核验：已换装标配电池。")
    expect(desk.get_by_test_id("action-verify")).to_have_count(0)
    screenshot(desk, "alert-detail-refused-desktop")
    desk.get_by_test_id("action-close").click()
    expect(desk.get_by_test_id("alert-status")).to_have_attribute("data-status", "closed")
    steps = desk.get_by_test_id("step")
    expect(steps).to_have_count(5)
    assert [steps.nth(i).get_attribute("data-action") for i in range(5)] == [
        "dispatch",
        "request_rectification",
        "submit_rectification",
        "verify",
        "close",
    ]
    photo = desk.locator('[data-testid="photo"] img')
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 64  # the stored photo is served to the regulator
    expect(desk.get_by_test_id("action-reopen")).to_be_visible()
    screenshot(desk, "alert-detail-closed-desktop")

    # The shop sees the outcome on its phone, with nothing left to do.
    phone.goto(f"/alerts/{alert.pk}/")
    expect(phone.get_by_test_id("alert-status")).to_have_attribute("data-status", "closed")
    expect(phone.get_by_test_id("action-form")).to_have_count(0)
    expect(phone.get_by_test_id("step")).to_have_count(5)
    _no_sideways_scrolling(phone)
    screenshot(phone, "alert-detail-closed-phone")


def test_the_fire_brigade_sees_the_shared_alert_and_acknowledges_it(page_for, chain, sold, shop):
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    DepartmentSubscription.objects.create(organization=fire.organization, categories=["battery"])
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    repaired(sold, shop, kind="speed_limiter", repair=2)  # speed: not the fire brigade's business
    drain()
    alert = Alert.objects.get(rule="MOD_BATTERY_NONSTANDARD")

    page = page_for(DESKTOP)
    _log_in(page, fire.username)
    page.locator('a[href="/alerts/"]').first.click()
    expect(page.get_by_test_id("alert-row")).to_have_count(1)
    row = page.locator(f'[data-testid="alert-row"][data-id="{alert.pk}"]')
    expect(row.get_by_test_id("acknowledged")).to_have_attribute("data-acknowledged", "false")
    expect(page.get_by_test_id("bulk-note")).to_have_count(0)
    row.get_by_test_id("select").check()
    page.get_by_test_id("bulk-submit").click()
    expect(page.locator(f'[data-testid="bulk-result"][data-id="{alert.pk}"]')).to_have_attribute("data-ok", "true")
    page.get_by_test_id("back-to-inbox").click()
    expect(row.get_by_test_id("acknowledged")).to_have_attribute("data-acknowledged", "true")
    screenshot(page, "alert-inbox-department-desktop")
    row.get_by_test_id("open-alert").click()
    expect(page.get_by_test_id("acknowledged")).to_be_visible()
    expect(page.get_by_test_id("action-form")).to_have_count(0)

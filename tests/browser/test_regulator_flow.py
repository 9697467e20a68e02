"""The regulator at the desk: find the buyer from a phone number, open the dossier, show personal data with a reason."""

from playwright.sync_api import expect

from core.models import AuditEntry
from tests.browser.conftest import DESKTOP, screenshot
from tests.chain import BUYER
from tests.conftest import api_client
from tests.factories import PASSWORD


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_regulator_searches_by_phone_and_unmasks_the_owner_with_a_reason(page_for, chain):
    dealer, regulator = chain.world.dealer, chain.world.district_regulator
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(dealer).post("/api/v1/sales/", body, format="json").status_code == 201

    page = page_for(DESKTOP)
    _log_in(page, regulator.username)
    page.locator('a[href="/records/"]').first.click()
    page.get_by_test_id("q").fill(BUYER["phone"])
    page.get_by_test_id("search-submit").click()

    result = page.locator(f'[data-testid="result"][data-frame-no="{vehicle.frame_no}"]')
    expect(result).to_be_visible()
    expect(page.get_by_test_id("result-count")).to_have_attribute("data-kind", "phone")
    expect(result.get_by_test_id("owner")).to_contain_text("张**")
    expect(result.get_by_test_id("owner")).not_to_contain_text("张三丰")
    screenshot(page, "regulator-search-desktop")

    result.get_by_test_id("open-dossier").click()
    expect(page.get_by_test_id("dossier-frame-no")).to_have_text(vehicle.frame_no)
    expect(page.get_by_test_id("chain")).to_have_attribute("data-valid", "true")
    expect(page.get_by_test_id("owner-name")).to_have_text("张**")
    expect(page.get_by_test_id("event")).to_have_count(4)
    screenshot(page, "regulator-dossier-masked-desktop")

    # The reason is required.
    page.get_by_test_id("unmask-submit").click()
    expect(page.get_by_test_id("error-reason")).to_be_visible()
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()

    page.get_by_test_id("reason").fill("投诉核查：电池起火隐患")
    page.get_by_test_id("unmask-submit").click()
    expect(page.get_by_test_id("owner")).to_have_attribute("data-unmasked", "true")
    expect(page.get_by_test_id("owner-name")).to_have_text(BUYER["name"])
    expect(page.get_by_test_id("owner-id")).to_have_text(BUYER["id_number"])
    expect(page.get_by_test_id("owner-phone")).to_have_text(BUYER["phone"])
    screenshot(page, "regulator-dossier-unmasked-desktop")

    entry = AuditEntry.objects.get(action="personal_data.unmask")
    assert (entry.actor, entry.target_id, entry.reason) == (regulator, str(vehicle.pk), "投诉核查：电池起火隐患")
    assert AuditEntry.objects.filter(action="trace.search", actor=regulator).count() == 1

    # Shown once: reloading the dossier masks it again.
    page.goto(f"/records/vehicles/{vehicle.frame_no}/")
    expect(page.get_by_test_id("owner-name")).to_have_text("张**")

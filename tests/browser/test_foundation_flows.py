"""The first minutes of each user in a real browser: log in, land on their home, switch language, log out."""

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD


def _log_in(page, username, password=PASSWORD):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_regulator_logs_in_sees_the_jurisdiction_and_switches_to_english(page_for, world):
    page = page_for(DESKTOP)
    page.goto("/")
    assert page.url.endswith("/login/?next=/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()  # Chinese although the browser asks for English

    _log_in(page, world.city_regulator.username)
    expect(page.get_by_test_id("home-heading")).to_have_text("市场监管工作台")
    expect(page.get_by_text("山东省德州市")).to_be_visible()
    screenshot(page, "regulator-home-zh")

    page.get_by_role("link", name="辖区企业与单位").click()
    expect(page.get_by_test_id("org-count")).to_contain_text("家单位")
    expect(page.get_by_role("cell", name="陵城区车行")).to_be_visible()
    expect(page.get_by_role("cell", name="北仑区车行")).to_have_count(0)

    page.get_by_test_id("switch-en").click()
    expect(page.get_by_role("heading", name="Enterprises and agencies")).to_be_visible()
    page.goto("/")
    expect(page.get_by_test_id("home-heading")).to_have_text("Market regulator workbench")
    screenshot(page, "regulator-home-en")

    page.get_by_test_id("logout").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/")
    assert "/login/" in page.url


def test_dealer_on_a_phone_lands_on_the_counter_without_sideways_scrolling(page_for, world):
    page = page_for(PHONE)
    _log_in(page, world.dealer.username)
    expect(page.get_by_test_id("home-heading")).to_have_text("经销商工作台")
    expect(page.get_by_role("heading", name="销售登记")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "dealer-home-phone")


def test_department_sees_its_workbench(page_for, world):
    page = page_for(DESKTOP)
    _log_in(page, world.police.username)
    expect(page.get_by_test_id("home-heading")).to_have_text("部门工作台")
    expect(page.get_by_role("heading", name="共享给本部门的预警")).to_be_visible()


def test_wrong_password_is_explained_and_the_username_kept(page_for, world):
    page = page_for(PHONE)
    _log_in(page, world.dealer.username, "not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("用户名")).to_have_value(world.dealer.username)
    screenshot(page, "login-error-phone")

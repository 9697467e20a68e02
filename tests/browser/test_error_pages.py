"""The error pages as a new user meets them on a phone: in Chinese (although the browser asks for English), in the
platform's frame, with a way back."""

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, screenshot
from tests.factories import PASSWORD


def test_a_mistyped_address_shows_the_chinese_404_with_a_way_home(page_for, world):
    page = page_for(PHONE)
    response = page.goto("/dealer/stok/")
    assert response.status == 404
    expect(page.get_by_test_id("error-title")).to_have_text("页面不存在")
    expect(page.locator("link[rel=icon]").first).to_have_attribute("href", "/static/favicon.ico")
    expect(page.locator(".brand img.mark")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "error-404-phone")
    page.get_by_test_id("error-home").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()


def test_a_login_form_left_open_too_long_is_explained_and_can_be_sent_again(page_for, world):
    page = page_for(PHONE)
    page.goto("/login/")
    page.context.clear_cookies()  # the CSRF cookie expired while the page was open
    page.get_by_label("用户名").fill(world.dealer.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("error-title")).to_have_text("表单已过期")
    expect(page.get_by_test_id("error-explanation")).to_contain_text("重新提交")
    screenshot(page, "error-csrf-phone")
    page.get_by_test_id("error-back").click()
    page.get_by_label("用户名").fill(world.dealer.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_have_text("经销商工作台")


def test_a_page_of_another_role_is_refused_in_chinese(page_for, world):
    page = page_for(PHONE)
    page.goto("/login/")
    page.get_by_label("用户名").fill(world.dealer.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("home-heading")).to_have_text("经销商工作台")
    response = page.goto("/records/")  # the regulator's search: not found for a dealer (no existence leak)
    assert response.status == 404
    expect(page.get_by_test_id("error-title")).to_have_text("页面不存在")
    expect(page.get_by_test_id("error-home")).to_have_text("返回首页")

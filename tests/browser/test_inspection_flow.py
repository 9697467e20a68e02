"""An inspector completes a drawn task on a phone: the dealer's facts at hand, the checklist, a hazard, a fine
forgotten then given, a photo, submitted with an impatient double tap, recorded once; then the city's regulator
reads the enforcement table at the desk, as it is reported upward, and on the cockpit."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, RuleCode
from supervision.models import EnforcementAction, InspectionPhoto, InspectionTask
from tests.alerts.conftest import drain
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD
from tests.supervision.inspection_world import JPEG, make_plan


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def drawn(world):
    """This week's dealers of 德城区, all drawn: the world's dealer is the one."""
    plan, created = make_plan(world.district_regulator, sample={"all": True})
    assert created == 1
    return plan.tasks.get()


def _log_in(page, user):
    page.goto("/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_inspector_records_a_hazard_and_a_fine_on_a_phone_and_the_city_reads_the_figures(page_for, world, drawn):
    page = page_for(PHONE)
    _log_in(page, world.district_regulator)
    page.get_by_role("link", name="检查任务").first.click()
    expect(page.get_by_test_id("tasks-count")).to_have_attribute("data-count", "1")
    row = page.get_by_test_id("task-row")
    expect(row).to_have_attribute("data-status", "open")
    expect(row).to_contain_text(world.dealer.organization.name)
    row.get_by_test_id("task-link").click()

    expect(page.get_by_test_id("task-heading")).to_have_text(world.dealer.organization.name)
    expect(page.get_by_test_id("facts")).to_be_visible()
    expect(page.get_by_test_id("check-item")).to_have_count(3)
    page.get_by_test_id("item-0-ok").check()
    page.get_by_test_id("item-1-bad").check()
    page.get_by_test_id("item-1-note").fill("货架上 2 台无 CCC 标志")
    page.get_by_test_id("item-2-ok").check()
    page.get_by_test_id("hazards_found").fill("1")
    page.get_by_test_id("action-order_correction-taken").check()
    page.get_by_test_id("action-fine-taken").check()  # the amount forgotten at first
    page.get_by_test_id("action-fine-note").fill("销售无 CCC 产品")
    _no_sideways_scrolling(page)
    screenshot(page, "inspection-task-phone")
    page.get_by_test_id("result-submit").click()

    # Told next to the amount, in words; what was typed stays.
    expect(page.get_by_test_id("error-fine_amount")).to_be_visible()
    expect(page.get_by_test_id("item-1-note")).to_have_value("货架上 2 台无 CCC 标志")
    expect(page.get_by_test_id("action-fine-note")).to_have_value("销售无 CCC 产品")
    assert InspectionTask.objects.get(pk=drawn.pk).status == "open"
    page.get_by_test_id("fine_amount").fill("5000")
    page.get_by_test_id("photos").set_input_files([{"name": "shop.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_test_id("result-submit").dblclick()  # an impatient double tap

    expect(page.get_by_test_id("result")).to_be_visible()
    expect(page.get_by_test_id("hazards")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("taken-actions")).to_contain_text("¥5,000.00")
    expect(page.locator('[data-testid="photos"] img')).to_have_count(1)
    _no_sideways_scrolling(page)
    screenshot(page, "inspection-done-phone")

    task = InspectionTask.objects.get(pk=drawn.pk)
    assert task.status == "done" and task.performed_by == world.district_regulator
    assert [(a.kind, a.amount_yuan) for a in EnforcementAction.objects.order_by("pk")] == [
        ("order_correction", None),
        ("fine", 5000),
    ]
    assert InspectionPhoto.objects.filter(task=task).count() == 1
    drain()  # the worker's part: the hazard becomes an alert about the dealer, in the district's inbox
    alert = Alert.objects.get(rule=RuleCode.INSPECTION_HAZARD)
    assert alert.organization == world.dealer.organization and alert.regulator == world.district_regulator.organization
    page.reload()
    page.get_by_test_id("hazard-alert").click()
    expect(page).to_have_url(re.compile(rf"/alerts/{alert.pk}/$"))

    # At the desk, the city reads the table as it reports it upward.
    desk = page_for(DESKTOP)
    _log_in(desk, world.city_regulator)
    desk.get_by_role("link", name="执法检查统计").first.click()
    expect(desk.get_by_test_id("enforcement-heading")).to_contain_text("德州市")
    table = desk.get_by_test_id("enforcement-table")
    expect(table.locator('tr[data-code="inspections"]')).to_have_attribute("data-value", "1")
    expect(table.locator('tr[data-code="hazards_found"]')).to_have_attribute("data-value", "1")
    expect(table.locator('tr[data-code="fines_yuan"]')).to_contain_text("¥5,000.00")
    expect(table.locator("thead")).to_contain_text("德城区")
    expect(table.locator('tr[data-code="inspections"]')).to_contain_text("完成检查（次）")
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    desk.get_by_test_id("filter-to").fill(yesterday)
    desk.get_by_test_id("filter-from").fill(yesterday)
    desk.get_by_test_id("filter-submit").click()
    expect(table.locator('tr[data-code="inspections"]')).to_have_attribute("data-value", "0")  # before it was done
    screenshot(desk, "enforcement-table-desktop")
    with desk.expect_download() as download:
        desk.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    desk.goto("/dashboard/")
    expect(desk.get_by_test_id("enforcement-figures").locator('tr[data-code="inspections"]')).to_have_attribute(
        "data-value", "1"
    )


def test_the_district_makes_a_plan_at_the_desk_and_reads_its_ledger(page_for, world, drawn):
    desk = page_for(DESKTOP)
    _log_in(desk, world.district_regulator)
    desk.goto("/work/plans/new/")
    desk.get_by_test_id("name").fill("德城区维修企业专项检查")
    desk.get_by_test_id("kind-repair_shop").check()
    desk.get_by_test_id("kind-dealer").check()
    desk.get_by_test_id("frequency").select_option("once")
    desk.get_by_test_id("checklist").fill("维修资质是否有效\n是否拆除限速装置")
    desk.get_by_test_id("plan-submit").click()
    expect(desk.get_by_test_id("error-sample_size")).to_be_visible()  # how many: not said yet
    expect(desk.get_by_test_id("name")).to_have_value("德城区维修企业专项检查")
    desk.get_by_test_id("sample_all").check()
    screenshot(desk, "inspection-plan-form-desktop")
    desk.get_by_test_id("plan-submit").click()

    expect(desk.get_by_test_id("ledger-heading")).to_be_visible()
    expect(desk.get_by_test_id("ledger-count")).to_have_attribute("data-count", "1")  # the plan's one dealer
    desk.get_by_test_id("filter-plan").select_option(label="全部计划")
    desk.get_by_test_id("filter-submit").click()
    expect(desk.get_by_test_id("ledger-count")).to_have_attribute("data-count", "2")
    screenshot(desk, "inspection-ledger-desktop")
    desk.goto("/work/plans/")
    expect(desk.get_by_test_id("plan-row")).to_have_count(2)

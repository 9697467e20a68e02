"""A dealer's daily check (日管控) on a phone: from the home card to the checklist, every item in order by default,
one not in order with its note, signed and filed; then its duty ledger with the record and the days it missed,
exported as XLSX for an on-site inspection."""

import datetime as dt
import io

from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from core.models import Organization
from supervision.duty_reference import DUTY_CHECKLISTS
from supervision.models import DutyRecord
from tests.browser.conftest import PHONE, screenshot
from tests.factories import PASSWORD


def _log_in(page, username):
    page.goto("/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_dealer_files_its_daily_check_on_a_phone_sees_it_in_its_ledger_and_exports_it(page_for, world):
    dealer = world.dealer
    today = timezone.localdate()
    joined = today - dt.timedelta(days=2)
    Organization.objects.filter(pk=dealer.organization_id).update(
        created_at=timezone.make_aware(dt.datetime.combine(joined, dt.time(9)))
    )
    items = DUTY_CHECKLISTS["dealer"]["daily"]
    page = page_for(PHONE)
    _log_in(page, dealer.username)

    # The home card opens the duty ledger: today's check to do, two days missed since the dealer joined.
    page.locator('a[href="/work/duties/"]').first.click()
    expect(page.locator('[data-testid="standing"][data-kind="daily"]')).to_have_attribute("data-filed", "false")
    expect(page.get_by_test_id("missing-row")).to_have_count(2)
    expect(page.get_by_test_id("empty")).to_be_visible()
    _no_sideways_scrolling(page)
    screenshot(page, "duty-ledger-empty-phone")

    # Today's checklist: every item in order unless switched off.
    page.locator('[data-testid="standing"][data-kind="daily"]').get_by_test_id("standing-file").click()
    expect(page.get_by_test_id("duty-heading")).to_have_text("每日检查")
    expect(page.get_by_test_id("duty-period")).to_have_value(today.isoformat())
    expect(page.get_by_test_id("duty-item")).to_have_count(len(items))
    for switch in page.get_by_test_id("duty-ok").all():
        expect(switch).to_be_checked()
    page.get_by_text(items[5]).click()  # the charging area: not in order today
    expect(page.get_by_test_id("duty-ok").nth(5)).not_to_be_checked()
    page.get_by_test_id("duty-signed-by").fill("李质安")
    page.get_by_test_id("duty-submit").click()

    # Not in order without a note: said next to the item, nothing lost.
    expect(page.get_by_test_id("error-note_5")).to_be_visible()
    expect(page.get_by_test_id("duty-ok").nth(5)).not_to_be_checked()
    expect(page.get_by_test_id("duty-signed-by")).to_have_value("李质安")
    assert not DutyRecord.objects.exists()
    page.get_by_test_id("duty-note").nth(5).fill("充电区堆放纸箱，已当场清理")
    _no_sideways_scrolling(page)
    screenshot(page, "duty-daily-form-phone")
    page.get_by_test_id("duty-submit").click()

    # The ledger: the record filed on time, the item not in order with its note, the days still missing.
    expect(page.get_by_test_id("duty-filed")).to_be_visible()
    row = page.locator(f'[data-testid="duty-row"][data-period="{today.isoformat()}"]')
    expect(row).to_have_attribute("data-late", "false")
    expect(row.get_by_test_id("not-in-order")).to_contain_text("充电区堆放纸箱，已当场清理")
    expect(page.locator('[data-testid="standing"][data-kind="daily"]')).to_have_attribute("data-filed", "true")
    expect(page.get_by_test_id("missing-row")).to_have_count(2)
    _no_sideways_scrolling(page)
    screenshot(page, "duty-ledger-phone")
    record = DutyRecord.objects.get()
    assert record.organization_id == dealer.organization_id and record.signed_by == "李质安" and not record.late
    assert [a["ok"] for a in record.items] == [True] * 5 + [False]

    # Export for the inspector.
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][4] == "状态"
    statuses = {row[0]: row[4] for row in rows[1:]}
    assert statuses == {
        today.isoformat(): "按时填报",
        (today - dt.timedelta(days=1)).isoformat(): "未填报",
        (today - dt.timedelta(days=2)).isoformat(): "未填报",
    }
    assert "✗ " + items[5] + "：充电区堆放纸箱，已当场清理" in rows[1][8]

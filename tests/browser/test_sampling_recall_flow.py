"""Supervisory sampling, recalls and the credit record in a real browser: the district records a dealer's failed
batch at the desk and meets its alert in the inbox; the maker recalls the model's March units and a dealer remedies
one on a phone while the progress moves; the failed batch stands in the dealer's credit record, for the regulator
and for the dealer itself; outsiders get nothing."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alerts.models import Alert, RuleCode
from core.models import OrganizationKind
from supervision import recalls, sampling
from supervision.models import Recall, RecallItem, SamplingBatch
from tests.alerts.conftest import drain
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.conftest import _member
from tests.factories import PASSWORD
from vehicles.models import Vehicle

K = OrganizationKind
FAILED_ITEMS = ["最高车速", "电池过充保护"]
REASON = "控制器限速程序缺陷，车速可能超过 25 km/h；免费更换控制器。"


@pytest.fixture
def march_bikes(chain):
    """Three DQ-1 bikes produced in March in the dealer's stock in 德城区, and one produced in May."""
    bikes = [chain.in_stock(chain.world.dealer)[0] for _ in range(3)]
    may = chain.in_stock(chain.world.dealer)[0]
    Vehicle.objects.filter(pk=may.pk).update(produced_on=dt.date(2026, 5, 2))
    return bikes


@pytest.fixture
def other_maker(world):
    return _member(K.MANUFACTURER, "371402", enterprise_code="1499", name="另一家车厂")


def _log_in(page, user):
    page.goto("/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_failed_batch_recorded_at_the_desk_raises_an_alert_and_stands_in_the_dealers_credit_record(page_for, chain):
    world = chain.world
    dealer = world.dealer.organization
    desk = page_for(DESKTOP)
    _log_in(desk, world.district_regulator)
    desk.locator('a[href="/work/sampling/"]').first.click()
    expect(desk.get_by_role("heading", name="监督抽查", exact=True)).to_be_visible()
    expect(desk.get_by_test_id("sampling-count")).to_have_attribute("data-count", "0")
    desk.get_by_test_id("sampling-new").click()

    # The form: the dealer of the district, the model it sells, the lab's verdict; the failed items forgotten.
    expect(desk.get_by_label("抽样日期")).to_have_value(timezone.localdate().isoformat())
    desk.get_by_label("被抽查企业").select_option(label=f"{dealer.name} · 经销商")
    desk.get_by_label("产品类别").select_option(label="整车")
    desk.get_by_label("型号代码").fill(chain.model.code)
    desk.get_by_label("批次号").fill("DZ-2026-CC-017")
    desk.get_by_label("检验报告编号").fill("SDQI-2026-1123")
    desk.get_by_role("radio", name="不合格").check()
    desk.get_by_test_id("sampling-submit").click()

    # Said next to the items, in Chinese; everything typed is still there.
    expect(desk.get_by_test_id("error-failed_items")).to_have_text("请填写该批次不合格的项目。")
    expect(desk.get_by_label("被抽查企业")).to_have_value(str(dealer.pk))
    expect(desk.get_by_label("型号代码")).to_have_value(chain.model.code)
    expect(desk.get_by_label("批次号")).to_have_value("DZ-2026-CC-017")
    expect(desk.get_by_label("检验报告编号")).to_have_value("SDQI-2026-1123")
    expect(desk.get_by_role("radio", name="不合格")).to_be_checked()
    assert not SamplingBatch.objects.exists()
    desk.get_by_label("不合格项目").fill("\n".join(FAILED_ITEMS))
    screenshot(desk, "sampling-form-desktop")
    desk.get_by_test_id("sampling-submit").dblclick()  # an impatient double click

    # The ledger: the batch on top, failed, its items and the lab's report.
    recorded = desk.get_by_test_id("recorded")
    expect(recorded).to_have_attribute("data-result", "fail")
    expect(recorded).to_contain_text("DZ-2026-CC-017")
    expect(desk.get_by_test_id("sampling-count")).to_have_attribute("data-count", "1")
    row = desk.get_by_test_id("sampling-row")
    expect(row).to_have_attribute("data-batch", "DZ-2026-CC-017")
    expect(row).to_contain_text(dealer.name)
    expect(row).to_contain_text("整车")
    expect(row).to_contain_text("不合格")
    expect(row).to_contain_text("最高车速、电池过充保护")
    expect(row).to_contain_text("SDQI-2026-1123")
    screenshot(desk, "sampling-list-desktop")
    batch = SamplingBatch.objects.get()
    assert (batch.organization, batch.result, batch.failed_items) == (dealer, "fail", FAILED_ITEMS)

    # The worker's part: the failure becomes an alert about the dealer, in the district's inbox.
    drain()
    alert = Alert.objects.get(rule=RuleCode.SAMPLING_FAILED)
    assert alert.organization == dealer and alert.regulator == world.district_regulator.organization
    desk.goto("/")
    desk.locator('a[href="/alerts/"]').first.click()
    alert_row = desk.locator(f'[data-testid="alert-row"][data-id="{alert.pk}"]')
    expect(alert_row).to_have_attribute("data-rule", "SAMPLING_FAILED")
    expect(alert_row).to_contain_text("监督抽查不合格")
    expect(alert_row.get_by_test_id("subject-enterprise")).to_have_text(dealer.name)
    alert_row.get_by_test_id("open-alert").click()
    expect(desk).to_have_url(re.compile(rf"/alerts/{alert.pk}/$"))
    # The evidence in words: the batch, the lab's report, the items, the bureau; no key or id left raw.
    evidence = desk.get_by_test_id("evidence")
    expect(evidence.get_by_test_id("evidence-source")).to_have_text(f"监督抽查 #{batch.pk}")
    expect(evidence.get_by_test_id("evidence-batch_no")).to_have_text("DZ-2026-CC-017")
    expect(evidence.get_by_test_id("evidence-model_kind")).to_have_text("整车")
    expect(evidence.get_by_test_id("evidence-model")).to_have_text(chain.model.code)
    expect(evidence.get_by_test_id("evidence-lab_report_no")).to_have_text("SDQI-2026-1123")
    expect(evidence.get_by_test_id("evidence-failed_items").locator("li")).to_have_text(FAILED_ITEMS)
    expect(evidence.get_by_test_id("evidence-regulator")).to_have_text(world.district_regulator.organization.name)
    for label in ("批次号", "产品类别", "型号名称", "抽样日期", "不合格项目", "检验报告编号", "市场监管部门"):
        expect(evidence).to_contain_text(label)
    expect(evidence).not_to_contain_text(re.compile(r"[a-z]+ (no|kind|at|items|name)\b"))
    screenshot(desk, "sampling-alert-desktop")

    # The credit record of the dealer, on its cockpit page, reached from the ledger's row.
    desk.goto("/work/sampling/")
    desk.get_by_test_id("sampling-row").get_by_role("link", name=dealer.name).click()
    expect(desk.get_by_test_id("enterprise-name")).to_have_text(dealer.name)
    credit = desk.get_by_test_id("enterprise-credit")
    expect(credit.get_by_role("heading", name="信用记录")).to_be_visible()
    credit_row = credit.get_by_test_id("credit-row")
    expect(credit_row).to_have_count(1)
    expect(credit_row).to_have_attribute("data-source", "sampling")
    expect(credit_row).to_contain_text("监督抽查不合格")
    expect(credit_row).to_contain_text(
        f"整车 {chain.model.code}，批次 DZ-2026-CC-017，检验报告 SDQI-2026-1123：不合格项目 最高车速、电池过充保护"
    )
    expect(credit_row).to_contain_text(timezone.localdate().isoformat())
    screenshot(desk, "enterprise-credit-desktop")

    # The dealer reads the same on its phone, from its home card.
    phone = page_for(PHONE)
    _log_in(phone, world.dealer)
    phone.locator('a[href="/work/credit/"]').first.click()
    expect(phone.get_by_role("heading", name="信用记录")).to_be_visible()
    expect(phone.get_by_test_id("credit-count")).to_have_attribute("data-count", "1")
    mine = phone.get_by_test_id("credit-row")
    expect(mine).to_have_attribute("data-source", "sampling")
    expect(mine).to_contain_text("批次 DZ-2026-CC-017")
    _no_sideways_scrolling(phone)
    screenshot(phone, "credit-mine-phone")
    with phone.expect_download() as download:
        phone.get_by_test_id("export-csv").click()
    assert download.value.suggested_filename == "credit.csv"
    assert "DZ-2026-CC-017" in download.value.path().read_text(encoding="utf-8-sig")

    # Another dealer's record is empty: the batch is not about it.
    other = page_for(PHONE)
    _log_in(other, world.other_dealer)
    other.goto("/work/credit/")
    expect(other.get_by_test_id("credit-count")).to_have_attribute("data-count", "0")
    expect(other.get_by_test_id("credit-empty")).to_be_visible()


def test_the_maker_recalls_its_march_bikes_and_a_dealer_remedies_one_on_a_phone(page_for, chain, march_bikes):
    world = chain.world
    desk = page_for(DESKTOP)
    _log_in(desk, chain.maker)
    desk.locator('a[href="/work/recalls/"]').first.click()
    expect(desk.get_by_role("heading", name="召回", exact=True)).to_be_visible()
    expect(desk.get_by_test_id("recall-count")).to_have_attribute("data-count", "0")
    desk.get_by_test_id("recall-new").click()

    # The range typed backwards at first: said next to the end, the rest kept, nothing started.
    desk.get_by_label("产品类别").select_option(label="整车")
    desk.get_by_test_id("model").fill(chain.model.code)
    desk.get_by_label("生产日期自").fill("2026-03-31")
    desk.get_by_label("生产日期至").fill("2026-03-01")
    desk.get_by_label("事由").fill(REASON)
    desk.get_by_test_id("recall-submit").click()
    expect(desk.get_by_test_id("error-produced_to")).to_have_text("结束日期早于开始日期。")
    expect(desk.get_by_test_id("model")).to_have_value(chain.model.code)
    expect(desk.get_by_label("事由")).to_have_value(REASON)
    assert not Recall.objects.exists()
    desk.get_by_label("生产日期自").fill("2026-03-01")
    desk.get_by_label("生产日期至").fill("2026-03-31")
    screenshot(desk, "recall-form-desktop")
    desk.get_by_test_id("recall-submit").dblclick()

    # The recall: the three March bikes, none remedied yet, all in 德城区.
    expect(desk.get_by_test_id("recall-title")).to_contain_text(chain.model.code)
    expect(desk.get_by_test_id("recall-status")).to_have_text("进行中")
    expect(desk.get_by_test_id("recall-reason")).to_contain_text(REASON)
    expect(desk.get_by_test_id("affected")).to_have_text("3")
    expect(desk.get_by_test_id("remedied")).to_have_text("0")
    expect(desk.get_by_test_id("open")).to_have_text("3")
    district = desk.locator('[data-testid="district"][data-region="371402"]')
    expect(district).to_have_attribute("data-affected", "3")
    expect(district).to_contain_text("德城区")
    screenshot(desk, "recall-detail-desktop")
    recall = Recall.objects.get()
    assert (recall.affected, recall.maker, recall.initiated_by) == (3, chain.maker.organization, recall.maker)
    desk.goto("/work/recalls/")
    expect(desk.get_by_test_id("recall-count")).to_have_attribute("data-count", "1")
    expect(desk.get_by_test_id("recall-row")).to_contain_text("0 / 3")

    # The dealer's counter: the bike's frame number typed, its recall shown, the remedy recorded with a double tap.
    bike = march_bikes[0]
    phone = page_for(PHONE)
    _log_in(phone, world.dealer)
    phone.locator('a[href="/work/recalls/remedy/"]').first.click()
    expect(phone.get_by_role("heading", name="召回处置")).to_be_visible()
    phone.get_by_label("车架号或电池编码").fill(bike.frame_no)
    phone.get_by_test_id("lookup").click()
    open_recall = phone.locator(f'[data-testid="open-recall"][data-recall="{recall.pk}"]')
    expect(open_recall).to_contain_text("召回中")
    expect(open_recall).to_contain_text(REASON)
    _no_sideways_scrolling(phone)
    screenshot(phone, "recall-remedy-phone")
    open_recall.get_by_test_id("remedy-submit").dblclick()
    expect(phone.get_by_test_id("remedy-done")).to_be_visible()
    expect(phone.get_by_test_id("no-open-recall")).to_be_visible()
    assert RecallItem.objects.get(vehicle=bike).remedied_by == world.dealer.organization

    # A bike that is not one of the recall's: nothing to remedy.
    phone.get_by_label("车架号或电池编码").fill("NOPE123456")
    phone.get_by_test_id("lookup").click()
    expect(phone.get_by_test_id("unknown")).to_be_visible()

    # The progress moves on the maker's page, and the district's regulator follows it too.
    desk.goto(f"/work/recalls/{recall.pk}/")
    expect(desk.get_by_test_id("remedied")).to_have_text("1")
    expect(desk.get_by_test_id("open")).to_have_text("2")
    expect(district).to_have_attribute("data-remedied", "1")
    desk.goto("/work/recalls/")
    expect(desk.get_by_test_id("recall-row")).to_contain_text("1 / 3")
    regulator = page_for(DESKTOP)
    _log_in(regulator, world.district_regulator)
    regulator.locator('a[href="/work/recalls/"]').first.click()
    regulator.get_by_test_id("recall-row").get_by_role("link", name=chain.model.code).click()
    expect(regulator.get_by_test_id("remedied")).to_have_text("1")


def test_outsiders_get_no_batch_no_recall_and_no_credit_record(page_for, chain, march_bikes, other_maker):
    world = chain.world
    dealer = world.dealer.organization
    batch = sampling.sampling_record(
        user=world.district_regulator,
        organization_id=dealer.pk,
        model_kind="vehicle",
        model_code=chain.model.code,
        batch_no="DZ-2026-CC-018",
        sampled_at=timezone.localdate(),
        result="fail",
        failed_items=FAILED_ITEMS,
        lab_report_no="SDQI-2026-1124",
    )
    recall = recalls.recall_start(
        user=chain.maker,
        model_kind="vehicle",
        model_code=chain.model.code,
        produced_from=dt.date(2026, 3, 1),
        produced_to=dt.date(2026, 3, 31),
        reason=REASON,
    )
    drain()
    alert = Alert.objects.get(rule=RuleCode.SAMPLING_FAILED)
    assert batch.organization == dealer and recall.affected == 3

    # A regulator of another city: the batch is not in its ledger; the alert, the dealer and the recall are 404.
    far = page_for(DESKTOP)
    _log_in(far, world.other_city_regulator)
    far.goto("/work/sampling/")
    expect(far.get_by_test_id("sampling-count")).to_have_attribute("data-count", "0")
    expect(far.get_by_test_id("sampling-row")).to_have_count(0)
    for url in (f"/alerts/{alert.pk}/", f"/dashboard/enterprises/{dealer.pk}/", f"/work/recalls/{recall.pk}/"):
        response = far.goto(url)
        assert response.status == 404, url
        expect(far.get_by_test_id("error-title")).to_have_text("页面不存在")
    far.goto("/work/recalls/")
    expect(far.get_by_test_id("recall-count")).to_have_attribute("data-count", "0")

    # Another maker: the recall is not its own.
    maker = page_for(DESKTOP)
    _log_in(maker, other_maker)
    maker.goto("/work/recalls/")
    expect(maker.get_by_test_id("recall-count")).to_have_attribute("data-count", "0")
    expect(maker.get_by_test_id("empty")).to_be_visible()
    assert maker.goto(f"/work/recalls/{recall.pk}/").status == 404
    maker.goto("/work/credit/")
    expect(maker.get_by_test_id("credit-count")).to_have_attribute("data-count", "0")

    # The anonymous public is sent to log in, and nothing is shown on the way.
    public = page_for(PHONE)
    for url in ("/work/sampling/", f"/work/recalls/{recall.pk}/", "/work/recalls/remedy/", "/work/credit/"):
        public.goto(url)
        expect(public).to_have_url(re.compile(r"/login/\?next="))
        expect(public.get_by_role("heading", name="登录")).to_be_visible()
        expect(public.locator("body")).not_to_contain_text("DZ-2026-CC-018")

"""The enforcement figures a bureau reports upward (执法检查): every figure equals the rows behind it (inspections
done, hazards found and verified as rectified, interviews, cases, fines, confiscations, sampling, recalls, duty
records and missed ones) in the range of days and the region subtree asked for, for the API, the summary, the
monthly report, the cockpit and the enforcement page; outsiders get nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from alerts.models import Alert, AlertTransition, DepartmentSubscription, RuleCode
from alerts.services import alert_request_record, alert_transition
from core.models import OrganizationKind
from reports import monthly, selectors
from supervision.inspections import inspection_result_record
from supervision.models import DutyRecord, EnforcementAction, Recall, RecallItem, SamplingBatch
from tests.alerts.conftest import drain
from tests.conftest import _member
from tests.factories import PASSWORD
from tests.supervision.inspection_world import make_plan

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/enforcement/"
TODAY = timezone.localdate


def ago(days: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(TODAY() - dt.timedelta(days=days), dt.time(hour)))


def result(user, task, *, days: int, hazards: int, actions: list[dict]):
    return inspection_result_record(
        user=user,
        task_id=task.pk,
        performed_at=ago(days),
        findings=[{"item": "进货查验记录是否齐全", "ok": hazards == 0, "note": ""}],
        hazards_found=hazards,
        actions=actions,
    )


def fine(amount: str) -> dict:
    return {"kind": "fine", "amount_yuan": Decimal(amount), "quantity": None, "note": ""}


def act(kind: str, quantity=None) -> dict:
    return {"kind": kind, "amount_yuan": None, "quantity": quantity, "note": ""}


@pytest.fixture
def records(town, chain):
    """Ten days of work in 德州 (and some before, and some in 北仑区) of every kind the figures count."""
    world, district = town.world, town.regulator
    t1, t2, t3 = make_plan(district, sample={"size": 3})[0].tasks.order_by("pk")
    result(district, t1, days=2, hazards=2, actions=[act("interview"), fine("500.00"), act("confiscation", 3)])
    result(district, t2, days=1, hazards=0, actions=[act("case"), fine("1500.50")])
    result(district, t3, days=40, hazards=1, actions=[fine("999.00")])  # before the range
    (t4,) = make_plan(world.city_regulator, region_code="371403", sample={"all": True})[0].tasks.all()
    result(world.city_regulator, t4, days=1, hazards=1, actions=[act("interview")])  # 陵城区
    (t5,) = make_plan(world.other_city_regulator, region_code="330206", sample={"all": True})[0].tasks.all()
    result(world.other_city_regulator, t5, days=1, hazards=5, actions=[fine("100000.00")])  # 北仑区
    EnforcementAction.objects.create(  # beside any inspection
        organization=town.dealers[1], region_code="371402", kind="case", taken_at=ago(3), taken_by=district
    )

    # The hazards' alerts: t1's verified in the range, t3's verified before it, t4's still open.
    drain()
    hazard = {a.organization_id: a for a in Alert.objects.filter(rule=RuleCode.INSPECTION_HAZARD)}
    enterprise = _member(OrganizationKind.DEALER, "371402")
    for task in (t1, t3):
        enterprise.organization = task.organization
        enterprise.save()
        alert = hazard[task.organization_id]
        alert_transition(user=district, alert_id=alert.pk, action="request_rectification", note="整改")
        alert_transition(user=enterprise, alert_id=alert.pk, action="submit_rectification", note="已整改")
        alert_transition(user=district, alert_id=alert.pk, action="verify", note="复查通过")
    AlertTransition.objects.filter(alert=hazard[t3.organization_id]).update(at=ago(39))

    maker = chain.maker.organization
    for org, region, result_, days in (
        (town.dealers[0], "371402", "pass", 3),
        (town.dealers[1], "371402", "fail", 2),
        (world.other_dealer.organization, "371403", "fail", 1),
        (town.dealers[2], "371402", "fail", 50),  # before the range
        (world.far_dealer.organization, "330206", "fail", 1),
    ):
        SamplingBatch.objects.create(
            regulator=district.organization,
            organization=org,
            region_code=region,
            model_kind="vehicle",
            model_code=chain.model.code,
            batch_no=f"B-{org.pk}-{days}",
            sampled_at=TODAY() - dt.timedelta(days=days),
            result=result_,
            lab_report_no="SDQI-1",
            created_by=district,
        )

    def recall(initiator, region, units_in, days=2):
        row = Recall.objects.create(
            initiated_by=initiator.organization,
            region_code=region,
            model_kind="vehicle",
            model_code=chain.model.code,
            maker=maker,
            produced_from=dt.date(2026, 1, 1),
            produced_to=dt.date(2026, 3, 1),
            reason="电池过热",
            created_by=initiator,
        )
        Recall.objects.filter(pk=row.pk).update(created_at=ago(days))
        for code in units_in:
            RecallItem.objects.create(recall=row, region_code=code)
        return row

    recall(world.city_regulator, "371400", ["371402", "371402"])  # 德州's own, with units in 德城区
    recall(world.other_city_regulator, "330206", ["371403"])  # 北仑's, with a unit in 陵城区
    recall(world.city_regulator, "371400", ["371402"], days=60)  # before the range

    for org, region, day, kind in (
        (town.dealers[0], "371402", 1, "daily"),
        (town.dealers[0], "371402", 2, "daily"),
        (world.other_dealer.organization, "371403", 1, "daily"),
        (town.dealers[0], "371402", 60, "daily"),  # before the range
    ):
        start = TODAY() - dt.timedelta(days=day)
        DutyRecord.objects.create(
            organization=org,
            region_code=region,
            kind=kind,
            period=start.isoformat(),
            period_start=start,
            period_end=start,
            items=[{"item": "进货查验", "ok": True, "note": ""}],
            signed_by="王五",
            filed_by=district,
        )
    alert_request_record(
        rule=RuleCode.DUTY_OVERDUE,
        region_code="371402",
        source=f"duty:{town.dealers[3].pk}:daily",
        organization=town.dealers[3],
        evidence={"enterprise": town.dealers[3].pk},
    )
    drain()
    return town


def figures(api, user, **query):
    params = {"from": (TODAY() - dt.timedelta(days=10)).isoformat(), "to": TODAY().isoformat(), **query}
    response = api(user).get(URL, params)
    assert response.status_code == 200, response.json()
    return response.json()


DISTRICT = {
    "inspections": 2,
    "enterprises_inspected": 2,
    "hazards_found": 2,
    "hazards_rectified": 1,
    "interviews": 1,
    "cases": 2,
    "fines_yuan": "2000.50",
    "products_confiscated": 3,
    "sampling_batches": 2,
    "sampling_failed": 1,
    "recalls": 1,
    "duty_records": 2,
    "duty_overdue": 1,
}
CITY = {
    **DISTRICT,
    "inspections": 3,
    "enterprises_inspected": 3,
    "hazards_found": 3,
    "interviews": 2,
    "sampling_batches": 3,
    "sampling_failed": 2,
    "recalls": 2,
    "duty_records": 3,
}


def test_the_figures_equal_the_rows_of_the_range_and_the_subtree(records, api):
    world = records.world
    district = figures(api, world.district_regulator, region_code="371402")
    assert {k: district[k] for k in DISTRICT} == DISTRICT
    assert district["region_code"] == "371402" and district["name"] == "德城区"
    city = figures(api, world.city_regulator)  # its own region by default
    assert {k: city[k] for k in CITY} == CITY
    assert city["region_code"] == "371400"
    # The same counted from the rows themselves.
    assert city["fines_yuan"] == str(
        sum(a.amount_yuan for a in EnforcementAction.objects.filter(region_code__startswith="3714", kind="fine"))
        - Decimal("999.00")
    )
    # A wider range takes in what came before.
    wide = figures(api, world.district_regulator, region_code="371402", **{"from": (TODAY() - dt.timedelta(days=70))})
    assert (wide["inspections"], wide["fines_yuan"], wide["sampling_batches"], wide["recalls"]) == (
        3,
        "2999.50",
        3,
        2,
    )
    assert wide["hazards_rectified"] == 2 and wide["duty_records"] == 3
    # 北仑区 counts only its own.
    far = figures(api, world.other_city_regulator)
    assert (far["inspections"], far["hazards_found"], far["fines_yuan"], far["recalls"]) == (1, 5, "100000.00", 1)


def test_a_department_reads_the_figures_of_the_alert_rules_it_subscribed_to(records, api):
    police = _member(OrganizationKind.POLICE, "371400")
    unsubscribed = figures(api, police)
    assert unsubscribed["inspections"] == 3 and unsubscribed["hazards_rectified"] == unsubscribed["duty_overdue"] == 0
    DepartmentSubscription.objects.create(organization=police.organization, categories=["inspection", "duty"])
    subscribed = figures(api, police)
    assert {k: subscribed[k] for k in CITY} == CITY


def test_outsiders_get_no_figures(records, api):
    world = records.world
    assert api(world.other_city_regulator).get(URL, {"region_code": "371400"}).status_code == 404
    assert api(world.other_district_regulator).get(URL, {"region_code": "371402"}).status_code == 404
    assert api(world.district_regulator).get(URL, {"region_code": "371400"}).status_code == 404  # above it
    assert api(world.dealer).get(URL).status_code == 404
    assert api(world.dealer).get(URL, {"region_code": "371402"}).status_code == 404
    assert api().get(URL).status_code == 401
    assert api(world.district_regulator).get(URL, {"region_code": "000000"}).status_code == 404


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"from": "2026-13-01"}, "invalid_date"),
        ({"to": "yesterday"}, "invalid_date"),
        ({"from": "1999-12-31"}, "invalid_date"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "invalid_range"),
    ],
)
def test_a_wrong_range_is_400(world, api, query, code):
    response = api(world.city_regulator).get(URL, query)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_without_a_range_the_figures_are_this_months_so_far(records, api):
    body = api(records.world.city_regulator).get(URL).json()
    assert (body["from"], body["to"]) == (TODAY().replace(day=1).isoformat(), TODAY().isoformat())


def test_the_summary_the_cockpit_and_the_monthly_report_carry_the_months_figures(records, api):
    world = records.world
    summary = api(world.city_regulator).get("/api/v1/reports/summary/").json()
    month = figures(api, world.city_regulator, **{"from": TODAY().replace(day=1).isoformat()})
    assert summary["enforcement"] == {k: month[k] for k in CITY}

    scope = selectors.report_scope(world.city_regulator, "371400")
    html = monthly.report_html(monthly.report_content(scope, TODAY().replace(day=1)))
    assert "八、执法检查" in html and "完成检查（次）" in html and "罚款（元）" in html
    assert f'<tr data-code="inspections"><td>完成检查（次）</td><td>{month["inspections"]}</td>' in html
    assert "fines_yuan</td>" not in html  # every row reads in words

    client = Client()
    client.login(username=world.city_regulator.username, password=PASSWORD)
    page = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="enforcement-figures"' in page
    assert f'data-code="inspections" data-value="{month["inspections"]}"' in page
    assert "/work/enforcement/?region=371400" in page


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_enforcement_page_shows_the_region_and_each_district_and_exports(records):
    world = records.world
    client = _login(world.city_regulator)
    query = {"from": (TODAY() - dt.timedelta(days=10)).isoformat(), "to": TODAY().isoformat()}
    page = client.get("/work/enforcement/", query)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="enforcement-table"' in html and "德城区" in html and "陵城区" in html
    assert 'data-code="inspections" data-value="3"' in html and 'data-code="fines_yuan" data-value="2000.50"' in html

    xlsx = client.get("/work/enforcement/", {**query, "export": "xlsx"})
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    header, by_code = rows[0], {row[0]: row[1:] for row in rows[1:]}
    assert header[1] == "德州市" and "德城区" in header
    district_column = header.index("德城区") - 1
    assert len(by_code) == 13
    inspections_row = rows[1][1:]  # the figures in the order a bureau reports them, inspections first
    assert inspections_row[0] == 3 and inspections_row[district_column] == 2
    csv = client.get("/work/enforcement/", {**query, "export": "csv"})
    assert csv.status_code == 200 and "德城区" in b"".join(csv.streaming_content).decode("utf-8-sig")

    # A month, as the cockpit links it.
    month = client.get("/work/enforcement/", {"region": "371402", "month": f"{TODAY():%Y-%m}"})
    assert month.status_code == 200 and f"{TODAY().replace(day=1):%Y-%m-%d}" in month.content.decode()


def test_the_enforcement_page_is_the_jurisdictions_only(records):
    world = records.world
    assert _login(world.other_city_regulator).get("/work/enforcement/", {"region": "371400"}).status_code == 404
    assert _login(world.district_regulator).get("/work/enforcement/", {"region": "371400"}).status_code == 404
    assert _login(world.dealer).get("/work/enforcement/").status_code == 404
    anonymous = Client().get("/work/enforcement/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    police = _login(_member(OrganizationKind.POLICE, "371400"))
    assert police.get("/work/enforcement/").status_code == 200  # read-only, like its cockpit

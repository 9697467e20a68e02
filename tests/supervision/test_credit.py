"""Credit records (信用监管): an enterprise's closed violations (alerts closed after a verified rectification, not
dismissed or open ones), its enforcement actions and its failed sampling, as rows for itself and the regulators of
its subtree, and as the export of a region for the public credit platform in JSON and CSV; outsiders get 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Alert, RuleCode
from alerts.services import alert_close_by_platform, alert_request_record, alert_transition
from supervision.models import EnforcementAction, SamplingBatch
from tests.alerts.conftest import drain
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def raise_alert(org, rule=RuleCode.STOCK_MISMATCH, source="stock:1") -> Alert:
    alert_request_record(rule=rule, region_code=org.region_id, source=source, organization=org, evidence={})
    drain()
    return Alert.objects.get(evidence__source=source)


def run_loop(alert, regulator, enterprise) -> Alert:
    """Rectification requested, submitted, verified and closed: a violation established and put right."""
    for user, action, note in (
        (regulator, "request_rectification", "补齐进货查验记录"),
        (enterprise, "submit_rectification", "已补齐"),
        (regulator, "verify", "核验通过"),
        (regulator, "close", ""),
    ):
        alert = alert_transition(user=user, alert_id=alert.pk, action=action, note=note)
    return alert


def action(org, regulator, kind, days_ago, **extra) -> EnforcementAction:
    return EnforcementAction.objects.create(
        organization=org,
        region_code=org.region_id,
        kind=kind,
        taken_at=timezone.now() - dt.timedelta(days=days_ago),
        taken_by=regulator,
        **extra,
    )


def failed_batch(org, regulator, batch_no, days_ago, result="fail") -> SamplingBatch:
    return SamplingBatch.objects.create(
        regulator=regulator.organization,
        organization=org,
        region_code=org.region_id,
        model_kind="vehicle",
        model_code="DQ-1",
        batch_no=batch_no,
        sampled_at=timezone.localdate() - dt.timedelta(days=days_ago),
        result=result,
        failed_items=["最高车速"] if result == "fail" else [],
        lab_report_no="LAB-1",
        created_by=regulator,
    )


@pytest.fixture
def record(chain):
    """The dealer (德城区): one violation closed, one dismissed, one still open, a closed SAMPLING_FAILED alert; a
    fine and an order to correct; a failed and a passed batch. Another dealer (陵城区) with a fine of its own."""
    world = chain.world
    regulator, dealer = world.district_regulator, world.dealer
    org = dealer.organization
    closed = run_loop(raise_alert(org, source="stock:1"), regulator, dealer)
    dismissed = raise_alert(org, source="stock:2")
    alert_transition(user=regulator, alert_id=dismissed.pk, action="dismiss", note="误报")
    raise_alert(org, source="stock:3")  # open
    sampling_alert = raise_alert(org, rule=RuleCode.SAMPLING_FAILED, source="sampling:99")
    run_loop(sampling_alert, regulator, dealer)
    fine = action(org, regulator, "fine", 5, amount_yuan=Decimal("5000.00"), note="销售未登记车辆")
    order = action(org, regulator, "order_correction", 20, quantity=3)
    failed = failed_batch(org, regulator, "DZ-1", 10)
    failed_batch(org, regulator, "DZ-2", 12, result="pass")
    other = action(world.other_dealer.organization, world.other_district_regulator, "fine", 1, amount_yuan=100)
    return {"closed": closed, "fine": fine, "order": order, "failed": failed, "other": other}


def credit(api, user, org_id):
    return api(user).get(f"/api/v1/organizations/{org_id}/credit/")


def test_the_rows_are_the_closed_violations_the_actions_and_the_failed_sampling(chain, api, record):
    org = chain.world.dealer.organization
    response = credit(api, chain.world.district_regulator, org.pk)
    assert response.status_code == 200
    rows = response.json()
    today = timezone.localdate()
    assert [(r["date"], r["source"], r["code"], r["penalty_yuan"]) for r in rows] == [
        (today.isoformat(), "alert", "STOCK_MISMATCH", None),  # closed today
        ((today - dt.timedelta(days=5)).isoformat(), "enforcement", "fine", "5000.00"),
        ((today - dt.timedelta(days=10)).isoformat(), "sampling", "SAMPLING_FAILED", None),
        ((today - dt.timedelta(days=20)).isoformat(), "enforcement", "order_correction", None),
    ]
    # Not the dismissed alert, not the open one, not the SAMPLING_FAILED alert (its batch is the row), not the
    # passed batch, not another enterprise's fine.
    assert timezone.localdate(record["closed"].closed_at).isoformat() == rows[0]["date"]
    assert "销售未登记车辆" in rows[1]["description"]
    assert "DZ-1" in rows[2]["description"] and "最高车速" in rows[2]["description"]
    assert "3" in rows[3]["description"]


def test_an_alert_the_platform_closed_when_its_cause_went_away_is_no_credit_record(chain, api, record):
    org = chain.world.dealer.organization
    resolved = raise_alert(org, rule=RuleCode.PROOF_FAILED, source="proof:1")
    alert_close_by_platform(alert_id=resolved.pk, note="补填了缺失的记录")
    # Verified, then reopened and resolved by the platform: its last closing was not a verified rectification.
    reopened = raise_alert(org, rule=RuleCode.INSPECTION_HAZARD, source="inspection:1")
    reopened = run_loop(reopened, chain.world.district_regulator, chain.world.dealer)
    alert_transition(user=chain.world.district_regulator, alert_id=reopened.pk, action="reopen", note="复查发现未整改")
    alert_close_by_platform(alert_id=reopened.pk, note="已处理")
    rows = credit(api, chain.world.district_regulator, org.pk).json()
    assert [r["source"] for r in rows].count("alert") == 1  # only the fixture's verified and closed one
    assert {r["code"] for r in rows if r["source"] == "alert"} == {"STOCK_MISMATCH"}


def test_the_enterprise_reads_its_own_and_the_regulators_of_its_subtree_read_it(chain, api, record):
    world = chain.world
    org_id = world.dealer.organization_id
    expected = credit(api, world.district_regulator, org_id).json()
    assert len(expected) == 4
    assert credit(api, world.dealer, org_id).json() == expected
    assert credit(api, world.city_regulator, org_id).json() == expected


def test_outsiders_are_told_the_enterprise_does_not_exist(chain, api, record):
    world = chain.world
    org_id = world.dealer.organization_id
    for outsider in (world.other_district_regulator, world.other_city_regulator, world.other_dealer, world.police):
        response = credit(api, outsider, org_id)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert credit(api, None, org_id).status_code == 401
    # A regulator has no credit record: not an enterprise.
    assert credit(api, world.city_regulator, world.district_regulator.organization_id).status_code == 404


def test_the_export_has_the_region_s_rows_in_json_and_csv(chain, api, record):
    world = chain.world
    client = api(world.city_regulator)
    response = client.get("/api/v1/credit/export/?region_code=371402")
    assert response.status_code == 200
    rows = response.json()
    assert [(r["source"], r["code"]) for r in rows] == [
        ("alert", "STOCK_MISMATCH"),
        ("enforcement", "fine"),
        ("sampling", "SAMPLING_FAILED"),
        ("enforcement", "order_correction"),
    ]
    dealer = world.dealer.organization
    assert rows[0]["organization"] == {
        "id": dealer.pk,
        "name": dealer.name,
        "uscc": dealer.uscc,
        "region_code": "371402",
    }
    assert {r["organization"]["id"] for r in client.get("/api/v1/credit/export/").json()} == {
        dealer.pk,
        world.other_dealer.organization_id,
    }  # the city's own region by default: both districts

    today = timezone.localdate()
    since = (today - dt.timedelta(days=12)).isoformat()
    until = (today - dt.timedelta(days=1)).isoformat()
    period = client.get(f"/api/v1/credit/export/?region_code=371402&from={since}&to={until}").json()
    assert [(r["source"], r["code"]) for r in period] == [("enforcement", "fine"), ("sampling", "SAMPLING_FAILED")]

    as_csv = client.get("/api/v1/credit/export/?region_code=371402&format=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    text = b"".join(as_csv.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "统一社会信用代码"
    assert [line[0] for line in table[1:]] == [dealer.uscc] * 4
    assert [line[5] for line in table[1:]] == ["STOCK_MISMATCH", "fine", "SAMPLING_FAILED", "order_correction"]
    assert table[2][7] == "5000.00"
    assert client.get("/api/v1/credit/export/?format=json").status_code == 200


def test_the_export_refuses_bad_input_and_outsiders(chain, api, record):
    world = chain.world
    client = api(world.district_regulator)
    assert client.get("/api/v1/credit/export/?format=xml").status_code == 400
    assert client.get("/api/v1/credit/export/?from=2026-02-30").status_code == 400
    assert client.get("/api/v1/credit/export/?from=2026-03-02&to=2026-03-01").status_code == 400
    assert client.get("/api/v1/credit/export/?region_code=371400").status_code == 404  # above its jurisdiction
    assert client.get("/api/v1/credit/export/?region_code=371403").status_code == 404  # beside it
    far = api(world.other_city_regulator).get("/api/v1/credit/export/?region_code=371402")
    assert far.status_code == 404
    assert api(world.other_city_regulator).get("/api/v1/credit/export/").json() == []  # its own region is quiet
    for enterprise in (world.dealer, world.police):
        assert api(enterprise).get("/api/v1/credit/export/").status_code == 403
        assert api(enterprise).get("/api/v1/credit/export/?format=csv").status_code == 403
    assert api(None).get("/api/v1/credit/export/").status_code == 401


# ── Pages ────────────────────────────────────────────────────────────────────────────────────────────────────


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_enterprise_page_shows_its_own_credit_record(chain, record):
    page = _logged_in(chain.world.dealer).get("/work/credit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="credit-row"') == 4 and 'data-count="4"' in html
    assert "¥5,000.00" in html
    as_csv = _logged_in(chain.world.dealer).get("/work/credit/?export=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode("utf-8-sig"))))
    assert [line[2] for line in table[1:]] == ["STOCK_MISMATCH", "fine", "SAMPLING_FAILED", "order_correction"]
    assert table[2][4] == "5000.00" and "销售未登记车辆" in table[2][3]
    other = _logged_in(chain.world.other_dealer).get("/work/credit/").content.decode()
    assert other.count('data-testid="credit-row"') == 1  # its own fine only
    assert _logged_in(chain.world.district_regulator).get("/work/credit/").status_code == 404
    assert Client().get("/work/credit/").status_code == 302


def test_the_cockpit_enterprise_page_has_the_credit_section_for_regulators(chain, record):
    url = f"/dashboard/enterprises/{chain.world.dealer.organization_id}/"
    html = _logged_in(chain.world.district_regulator).get(url).content.decode()
    assert 'data-testid="enterprise-credit"' in html and html.count('data-testid="credit-row"') == 4
    assert _logged_in(chain.world.other_city_regulator).get(url).status_code == 404

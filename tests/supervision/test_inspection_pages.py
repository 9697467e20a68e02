"""The inspection pages: the inspector's tasks on a phone (overdue in red) and a task's page with the enterprise's
facts at hand and the result form (checklist, photos, hazards, actions) submitted once, refusals next to their
fields; the plans and the work ledger (filters, XLSX) on the desk. Outsiders are told nothing exists."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from alerts.models import Alert, AlertRequest, RuleCode
from alerts.services import alert_request_record
from core.models import OrganizationKind
from supervision.models import DutyRecord, EnforcementAction, InspectionPhoto, InspectionPlan, InspectionTask
from tests.alerts.conftest import drain
from tests.chain import BUYER
from tests.conftest import _member, api_client
from tests.factories import PASSWORD
from tests.supervision.inspection_world import CHECKLIST, JPEG, make_plan, moment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def token_of(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def dealer_task(town, chain):
    """A task about the world's dealer, which has stock, a sale, an open alert and a duty record on file."""
    dealer = town.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    chain.in_stock(dealer)
    alert_request_record(
        rule=RuleCode.STOCK_MISMATCH,
        region_code="371402",
        source="test:1",
        organization=dealer.organization,
        evidence={"reason": "sold_but_never_received"},
    )
    drain()
    day = timezone.localdate() - dt.timedelta(days=1)
    DutyRecord.objects.create(
        organization=dealer.organization,
        region_code="371402",
        kind="daily",
        period=day.isoformat(),
        period_start=day,
        period_end=day,
        items=[{"item": "进货查验", "ok": True, "note": ""}],
        signed_by="王质安",
        late=True,
        filed_by=dealer,
    )
    plan, _ = make_plan(town.regulator, sample={"all": True})
    return plan.tasks.get(organization=dealer.organization)


def result_form(token: str, **overrides) -> dict:
    data = {
        "form_token": token,
        "performed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "item_0": "ok",
        "item_1": "bad",
        "item_1_note": "2 台无 CCC 电动自行车",
        "item_2": "ok",
        "hazards_found": "1",
        "action_fine": "on",
        "fine_amount": "3000",
        "action_fine_note": "当场处罚",
        "action_interview": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ── The phone ────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_inspectors_list_shows_the_tasks_to_do_with_the_overdue_ones_in_red(town):
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 14)
    late, _ = make_plan(town.regulator, now=moment(monday), due_days=2, sample={"size": 1})
    fresh, _ = make_plan(town.regulator, name="本月维修企业检查", kinds=["repair_shop"], sample={"size": 1})
    client = login(town.regulator)
    html = client.get("/work/inspections/").content.decode()
    assert 'data-testid="tasks-count" data-count="2"' in html
    overdue = late.tasks.get()
    assert f'data-task="{overdue.pk}" data-status="overdue"' in html and "sla-overdue" in html
    assert f'data-task="{fresh.tasks.get().pk}" data-status="open"' in html
    assert html.index(f'data-task="{overdue.pk}"') < html.index(f'data-task="{fresh.tasks.get().pk}"')
    only_late = client.get("/work/inspections/?status=overdue").content.decode()
    assert 'data-count="1"' in only_late
    assert 'data-count="0"' in client.get("/work/inspections/?status=done").content.decode()

    # Outsiders: another district's inspector has nothing to do here; an enterprise, a department, the public: 404.
    assert 'data-count="0"' in login(town.world.other_district_regulator).get("/work/inspections/").content.decode()
    assert login(town.world.dealer).get("/work/inspections/").status_code == 404
    assert login(_member(OrganizationKind.POLICE, "371400")).get("/work/inspections/").status_code == 404
    assert Client().get("/work/inspections/").status_code == 302


def test_the_task_page_puts_the_enterprises_facts_at_hand(dealer_task, town):
    html = login(town.regulator).get(f"/work/inspections/{dealer_task.pk}/").content.decode()
    assert town.world.dealer.organization.name in html
    assert 'data-testid="facts-alerts" data-count="1"' in html and "进销存不符" in html
    assert 'data-testid="facts-stock" data-vehicles="1" data-batteries="1"' in html  # two received, one sold
    assert 'data-testid="facts-sales" data-count="1"' in html
    assert 'data-testid="facts-duties" data-count="1"' in html and "王质安" in html
    for item in CHECKLIST:
        assert item in html
    assert 'data-testid="result-form"' in html and 'data-testid="fine_amount"' in html
    # Another district's regulator, the enterprise itself and the public do not see the task.
    assert login(town.world.other_district_regulator).get(f"/work/inspections/{dealer_task.pk}/").status_code == 404
    assert login(town.world.dealer).get(f"/work/inspections/{dealer_task.pk}/").status_code == 404
    assert Client().get(f"/work/inspections/{dealer_task.pk}/").status_code == 302


def test_a_result_with_a_photo_a_hazard_and_a_fine_is_submitted_once(dealer_task, town):
    client = login(town.regulator)
    url = f"/work/inspections/{dealer_task.pk}/"
    token = token_of(client.get(url).content.decode())
    photo = SimpleUploadedFile("shop.jpg", JPEG, content_type="image/jpeg")
    response = client.post(url, {**result_form(token), "photos": [photo]})
    assert response.status_code == 302 and response["Location"] == url
    again = client.post(url, {**result_form(token), "photos": [SimpleUploadedFile("x.jpg", JPEG)]})  # a double tap
    assert again.status_code == 302 and again["Location"] == url

    dealer_task.refresh_from_db()
    assert dealer_task.status == "done" and dealer_task.hazards_found == 1
    assert [f["ok"] for f in dealer_task.findings] == [True, False, True]
    assert dealer_task.findings[1]["note"] == "2 台无 CCC 电动自行车"
    actions = EnforcementAction.objects.filter(task=dealer_task).order_by("pk")
    assert [(a.kind, a.amount_yuan) for a in actions] == [("interview", None), ("fine", 3000)]
    (stored,) = InspectionPhoto.objects.filter(task=dealer_task)
    assert stored.content_type == "image/jpeg" and b"GPS" not in stored.file.read()  # where it was taken: dropped
    assert AlertRequest.objects.filter(rule=RuleCode.INSPECTION_HAZARD).count() == 1

    drain()
    html = client.get(url).content.decode()
    assert 'data-testid="result"' in html and 'data-testid="result-form"' not in html
    assert 'data-testid="hazard-alert"' in html and "¥3,000.00" in html
    photo_url = f"/work/inspections/{dealer_task.pk}/photos/{stored.pk}/"
    assert photo_url in html and client.get(photo_url)["Content-Type"] == "image/jpeg"
    assert login(town.world.other_district_regulator).get(photo_url).status_code == 404
    assert login(town.world.dealer).get(photo_url).status_code == 404


def test_refusals_show_next_to_their_fields_and_keep_what_was_typed(dealer_task, town):
    client = login(town.regulator)
    url = f"/work/inspections/{dealer_task.pk}/"
    token = token_of(client.get(url).content.decode())
    response = client.post(url, result_form(token, fine_amount="", action_fine_note="当场处罚", item_2=None))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="err-fine_amount"' in html and 'id="err-item_2"' in html
    assert 'value="当场处罚"' in html and "2 台无 CCC 电动自行车" in html  # what was typed stays
    # A fine ticked without its amount: the service's refusal goes next to the amount.
    response = client.post(url, result_form(token, fine_amount=""))
    assert 'id="err-fine_amount"' in response.content.decode()
    # A confiscation without units, and a photo that is no image.
    bad = SimpleUploadedFile("notes.txt", b"not a photo", content_type="image/jpeg")
    response = client.post(url, {**result_form(token, action_confiscation="on"), "photos": [bad]})
    html = response.content.decode()
    assert 'id="err-confiscation_quantity"' in html or 'data-testid="error-photos"' in html
    dealer_task.refresh_from_db()
    assert dealer_task.status == "open" and not EnforcementAction.objects.exists()
    response = client.post(url, {**result_form(token, action_confiscation="on", confiscation_quantity="4")})
    assert response.status_code == 302
    assert EnforcementAction.objects.get(kind="confiscation").quantity == 4


def test_a_result_recorded_meanwhile_by_someone_else_is_not_overwritten(dealer_task, town):
    mine, theirs = login(town.regulator), login(town.world.city_regulator)
    url = f"/work/inspections/{dealer_task.pk}/"
    my_token, their_token = token_of(mine.get(url).content.decode()), token_of(theirs.get(url).content.decode())
    assert theirs.post(url, result_form(their_token, hazards_found="0")).status_code == 302
    response = mine.post(url, result_form(my_token))
    dealer_task.refresh_from_db()
    assert dealer_task.performed_by == town.world.city_regulator and dealer_task.hazards_found == 0
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="result"' in html
    assert "already recorded" in html or "已记录" in html  # told why, in words


# ── The desk ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_regulator_makes_a_plan_on_its_page_once(town):
    client = login(town.regulator)
    html = client.get("/work/plans/new/").content.decode()
    token = token_of(html)
    form = {
        "form_token": token,
        "name": "德城区经销企业月度抽查",
        "region_code": "371402",
        "kinds": ["dealer"],
        "frequency": "monthly",
        "sample_size": "4",
        "risk_weighted": "on",
        "checklist": "进货查验记录\n无 CCC 产品\n",
        "due_days": "10",
    }
    response = client.post("/work/plans/new/", form)
    assert response.status_code == 302
    plan = InspectionPlan.objects.get()
    assert response["Location"] == f"/work/ledger/?plan={plan.pk}"
    assert client.post("/work/plans/new/", form)["Location"] == response["Location"]  # a double click
    assert InspectionPlan.objects.count() == 1 and plan.tasks.count() == 4
    assert plan.checklist == ["进货查验记录", "无 CCC 产品"] and plan.risk_weighted and plan.due_days == 10
    listed = client.get("/work/plans/").content.decode()
    assert f'data-plan="{plan.pk}"' in listed and "0 / 4" in listed

    # No kind and no sample size: told next to the fields, the typed name kept.
    fresh = token_of(client.get("/work/plans/new/").content.decode())
    refused = client.post("/work/plans/new/", {**form, "form_token": fresh, "kinds": [], "sample_size": ""})
    html = refused.content.decode()
    assert refused.status_code == 200 and 'id="err-kinds"' in html and 'id="err-sample_size"' in html
    assert "德城区经销企业月度抽查" in html and InspectionPlan.objects.count() == 1

    # Outsiders.
    assert login(town.world.dealer).get("/work/plans/new/").status_code == 404
    assert login(town.world.dealer).get("/work/plans/").status_code == 404
    other = login(town.world.other_district_regulator)
    assert f'data-plan="{plan.pk}"' not in other.get("/work/plans/").content.decode()


def test_the_work_ledger_filters_and_exports_the_tasks_results_and_actions(dealer_task, town):
    client = login(town.regulator)
    url = f"/work/inspections/{dealer_task.pk}/"
    client.post(url, result_form(token_of(client.get(url).content.decode())))
    ledger = client.get("/work/ledger/").content.decode()
    total = InspectionTask.objects.count()
    assert f'data-testid="ledger-count" data-count="{total}"' in ledger
    assert f'data-task="{dealer_task.pk}" data-status="done"' in ledger and "¥3,000.00" in ledger
    done = client.get("/work/ledger/?status=done&hazards=on").content.decode()
    assert 'data-count="1"' in done
    assert 'data-count="0"' in client.get("/work/ledger/?enterprise=不存在的企业").content.decode()
    assert 'data-testid="empty"' in client.get("/work/ledger/?enterprise=不存在的企业").content.decode()

    xlsx = client.get("/work/ledger/?status=done&export=xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    values = list(rows[1])
    assert values[0] == dealer_task.pk and values[3] == town.world.dealer.organization.name
    assert "3,000.00" in values[12] and values[13] == "3000.00" and values[11] == 1
    assert len(row) == 16
    as_csv = client.get("/work/ledger/?export=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode("utf-8-sig"))))
    assert len(table) == total + 1 and all(len(line) == 16 for line in table)  # every task of the ledger
    done_row = next(line for line in table[1:] if line[0] == str(dealer_task.pk))
    assert done_row[3] == town.world.dealer.organization.name and done_row[13] == "3000.00"

    # Another district's ledger does not have it; enterprises have no ledger.
    other = login(town.world.other_district_regulator).get("/work/ledger/").content.decode()
    assert 'data-count="0"' in other
    assert login(town.world.dealer).get("/work/ledger/").status_code == 404


def test_the_admin_shows_plans_tasks_and_actions_and_draws_a_plan_now(dealer_task, town):
    client = Client()
    client.force_login(town.world.superuser)
    plan = dealer_task.plan
    url = f"/work/inspections/{dealer_task.pk}/"
    regulator = login(town.regulator)
    regulator.post(url, result_form(token_of(regulator.get(url).content.decode())))
    for path in (
        "/admin/supervision/inspectionplan/",
        f"/admin/supervision/inspectionplan/{plan.pk}/change/",
        "/admin/supervision/inspectiontask/",
        f"/admin/supervision/inspectiontask/{dealer_task.pk}/change/",
        "/admin/supervision/enforcementaction/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "检查计划" in client.get("/admin/supervision/inspectionplan/").content.decode()
    assert client.get("/admin/supervision/inspectionplan/add/").status_code == 403  # made on the page, drawn
    assert client.get("/admin/supervision/inspectiontask/add/").status_code == 403
    assert client.post(f"/admin/supervision/inspectiontask/{dealer_task.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/supervision/inspectionplan/", {"action": "draw_now", "_selected_action": [plan.pk]}, follow=True
    )
    assert response.status_code == 200 and plan.tasks.count() == len(town.dealers)  # this week was drawn already


def test_the_hazards_alert_reads_in_words_and_leads_to_the_inspection(dealer_task, town):
    client = login(town.regulator)
    url = f"/work/inspections/{dealer_task.pk}/"
    client.post(url, result_form(token_of(client.get(url).content.decode())))
    drain()
    alert = Alert.objects.get(rule=RuleCode.INSPECTION_HAZARD)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "是否销售无 CCC 产品：2 台无 CCC 电动自行车" in html  # the item not in order, with what was seen
    assert "发现隐患（处）" in html and "检查任务" in html and "约谈" in html and "罚款" in html
    assert f'href="{url}"' in html and "inspection:" not in html
    assert "hazards found" not in html and "order_correction" not in html

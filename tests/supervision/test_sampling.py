"""Supervisory sampling (监督抽查): a regulator records a batch of an enterprise of its region; a failure raises
SAMPLING_FAILED about the enterprise, counts in its risk grade and raises its product category's grade; the
jurisdiction and the enterprise itself read the batches; outsiders neither record nor read them."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from alerts.models import Alert, AlertRequest, RuleCode
from catalog.models import BatteryModel, Chemistry
from reports import risk
from reports.models import EnterpriseGrade, ProductCategory
from supervision.models import SamplingBatch
from tests.alerts.conftest import drain
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def batch_body(chain, **overrides) -> dict:
    body = {
        "organization": chain.maker.organization_id,
        "model_kind": "vehicle",
        "model": chain.model.code,
        "batch_no": "DZ-2026-0001",
        "sampled_at": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        "result": "pass",
        "failed_items": [],
        "lab_report_no": "SDQI-2026-118",
    }
    body.update(overrides)
    return body


def failed(chain, **overrides) -> dict:
    return batch_body(chain, result="fail", failed_items=["最高车速", "整车质量"], **overrides)


def post(api, user, body, **headers):
    return api(user).post("/api/v1/sampling/", body, format="json", **headers)


# ── Recording ────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_regulator_of_the_region_records_a_passed_batch_and_nothing_is_raised(chain, api):
    regulator = chain.world.district_regulator
    response = post(api, regulator, batch_body(chain))
    assert response.status_code == 201
    body = response.json()
    assert body["organization"]["id"] == chain.maker.organization_id
    assert body["regulator"] == {"id": regulator.organization_id, "name": regulator.organization.name}
    assert (body["model"], body["result"], body["failed_items"]) == (chain.model.code, "pass", [])
    batch = SamplingBatch.objects.get()
    assert batch.region_code == chain.maker.organization.region_id and batch.created_by == regulator
    assert not AlertRequest.objects.exists()
    assert ProductCategory.objects.get(code="vehicle").grade == "medium"


def test_a_failed_batch_raises_sampling_failed_about_the_enterprise(chain, api):
    response = post(api, chain.world.city_regulator, failed(chain))
    assert response.status_code == 201
    drain()
    alert = Alert.objects.get(rule=RuleCode.SAMPLING_FAILED)
    assert alert.organization_id == chain.maker.organization_id
    assert alert.region_code == "371402"
    assert alert.regulator == chain.world.district_regulator.organization  # routed to the district (属地)
    assert alert.evidence["batch_no"] == "DZ-2026-0001"
    assert alert.evidence["failed_items"] == ["最高车速", "整车质量"]
    # The enterprise sees the alert about itself.
    mine = api(chain.maker).get("/api/v1/alerts/").json()["results"]
    assert [a["rule"]["code"] for a in mine] == ["SAMPLING_FAILED"]


def test_a_failure_raises_the_product_category_one_grade_with_the_batch_in_its_reasons(chain, api):
    regulator = chain.world.district_regulator
    assert post(api, regulator, failed(chain)).status_code == 201
    vehicle = ProductCategory.objects.get(code="vehicle")
    assert vehicle.grade == "high"  # medium → high
    assert vehicle.reasons[-1]["code"] == "sampling_failed"
    assert "监督抽查不合格" in vehicle.reasons[-1]["text"] and "DZ-2026-0001" in vehicle.reasons[-1]["text"]
    assert len(vehicle.reasons) > 1  # the reference reasons are kept

    # A second failure keeps it high and adds its own reason.
    assert post(api, regulator, failed(chain, batch_no="DZ-2026-0002")).status_code == 201
    vehicle.refresh_from_db()
    assert vehicle.grade == "high" and sum(r["code"] == "sampling_failed" for r in vehicle.reasons) == 2
    products = {p["category"]: p for p in api(regulator).get("/api/v1/risk/products/").json()}
    assert products["vehicle"]["grade"] == "high"
    assert "DZ-2026-0002" in products["vehicle"]["reasons"][-1]["text"]


@pytest.mark.parametrize(
    ("chemistry", "category", "before", "after"),
    [
        (Chemistry.LEAD_ACID, "battery_lead_acid", "low", "medium"),
        (Chemistry.SODIUM_ION, "battery_sodium_ion", "medium", "high"),
        (Chemistry.LITHIUM_ION, "battery_lithium_ion", "high", "high"),
    ],
)
def test_a_failed_battery_raises_the_category_of_its_chemistry(chain, api, chemistry, category, before, after):
    BatteryModel.objects.filter(pk=chain.battery_model.pk).update(chemistry=chemistry)
    assert ProductCategory.objects.get(code=category).grade == before
    body = failed(chain, organization=chain.battery_maker.organization_id, model_kind="battery")
    body["model"] = chain.battery_model.code
    assert post(api, chain.world.city_regulator, body).status_code == 201
    assert ProductCategory.objects.get(code=category).grade == after
    untouched = {"battery_lead_acid", "battery_sodium_ion", "battery_lithium_ion", "vehicle"} - {category}
    assert not any(
        r["code"] == "sampling_failed" for c in ProductCategory.objects.filter(code__in=untouched) for r in c.reasons
    )


def test_failed_sampling_counts_in_the_enterprise_risk_grade_within_the_window(chain, api):
    regulator = chain.world.city_regulator
    assert post(api, regulator, failed(chain)).status_code == 201
    old = (timezone.localdate() - dt.timedelta(days=200)).isoformat()  # outside the 90-day window
    assert post(api, regulator, failed(chain, batch_no="OLD-1", sampled_at=old)).status_code == 201
    assert post(api, regulator, batch_body(chain, batch_no="PASS-1")).status_code == 201
    now = timezone.now()
    counts = risk.SIGNALS["sampling_failed"].count(risk.Moment(now=now, since=now - dt.timedelta(days=90)))
    assert counts == {chain.maker.organization_id: 1}

    risk.risk_grade_all()
    grade = EnterpriseGrade.objects.get(organization=chain.maker.organization, current=True)
    reason = next(r for r in grade.reasons if r["code"] == "sampling_failed")
    assert reason == {"code": "sampling_failed", "weight": "10.00", "count": 1}
    assert grade.grade == "risk"  # one failed batch reaches the threshold (duty_reference.py)
    other = EnterpriseGrade.objects.get(organization=chain.battery_maker.organization, current=True)
    assert not any(r["code"] == "sampling_failed" for r in other.reasons)


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"result": "fail", "failed_items": []}, 400, "failed_items_required", "failed_items"),
        ({"result": "pass", "failed_items": ["最高车速"]}, 400, "invalid", "failed_items"),
        ({"model": "NO-SUCH-MODEL"}, 400, "unknown_model", "model"),
        ({"model_kind": "battery"}, 400, "unknown_model", "model"),  # a vehicle model's code is no battery model
        ({"sampled_at": "2999-01-01"}, 400, "invalid", "sampled_at"),
        ({"result": "maybe"}, 400, "invalid", "result"),
        ({"organization": 99999999}, 400, "unknown_organization", "organization"),
    ],
)
def test_invalid_batches_are_refused_with_the_field_named(chain, api, overrides, status, code, field):
    response = post(api, chain.world.district_regulator, batch_body(chain, **overrides))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]
    assert not SamplingBatch.objects.exists()


def test_the_same_batch_number_twice_is_a_conflict_and_a_replay_is_not(chain, api):
    client = api(chain.world.district_regulator)
    first = client.post("/api/v1/sampling/", failed(chain), format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    replay = client.post("/api/v1/sampling/", failed(chain), format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert first.status_code == replay.status_code == 201 and first.json() == replay.json()
    again = client.post("/api/v1/sampling/", failed(chain), format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "batch_already_recorded"
    assert SamplingBatch.objects.count() == 1 and AlertRequest.objects.count() == 1
    assert sum(r["code"] == "sampling_failed" for r in ProductCategory.objects.get(code="vehicle").reasons) == 1


def test_outsiders_cannot_record_a_batch(chain, api):
    world = chain.world
    # A regulator of another district or city: the enterprise is not in its jurisdiction, and it is not told more.
    for outsider in (world.other_district_regulator, world.other_city_regulator):
        response = post(api, outsider, failed(chain))
        assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_organization"
    for enterprise in (world.dealer, chain.maker, world.police):
        assert post(api, enterprise, failed(chain)).status_code == 403
    assert post(api, None, failed(chain)).status_code == 401
    assert not SamplingBatch.objects.exists() and not AlertRequest.objects.exists()
    assert ProductCategory.objects.get(code="vehicle").grade == "medium"


# ── Reading ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_jurisdiction_and_the_enterprise_itself_read_the_batches(chain, api):
    world = chain.world
    assert post(api, world.district_regulator, failed(chain)).status_code == 201
    body = batch_body(chain, organization=world.other_dealer.organization_id, batch_no="LC-1")
    assert post(api, world.other_district_regulator, body).status_code == 201
    maker_batch = SamplingBatch.objects.get(batch_no="DZ-2026-0001")

    def batches(user, query=""):
        response = api(user).get(f"/api/v1/sampling/{query}")
        assert response.status_code == 200
        return sorted(b["batch_no"] for b in response.json()["results"])

    assert batches(world.city_regulator) == ["DZ-2026-0001", "LC-1"]
    assert batches(world.district_regulator) == ["DZ-2026-0001"]
    assert batches(chain.maker) == ["DZ-2026-0001"]
    assert batches(world.other_dealer) == ["LC-1"]
    assert batches(world.city_regulator, "?result=fail") == ["DZ-2026-0001"]
    assert batches(world.city_regulator, f"?organization={world.other_dealer.organization_id}") == ["LC-1"]
    assert batches(world.city_regulator, "?from=2999-01-01") == []
    # Outsiders: another city's regulator, another enterprise, the police (a department) see nothing.
    for outsider in (world.other_city_regulator, world.dealer, world.police, chain.battery_maker):
        assert batches(outsider) == []
        assert api(outsider).get(f"/api/v1/sampling/{maker_batch.pk}/").status_code == 404
    assert api(None).get("/api/v1/sampling/").status_code == 401
    detail = api(chain.maker).get(f"/api/v1/sampling/{maker_batch.pk}/")
    assert detail.status_code == 200 and detail.json()["failed_items"] == ["最高车速", "整车质量"]
    bad = api(world.city_regulator).get("/api/v1/sampling/?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.json()["error"]["fields"]


# ── Pages ────────────────────────────────────────────────────────────────────────────────────────────────────


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_the_regulator_records_a_failed_batch_on_the_page_and_finds_it_in_the_list(chain):
    client = _logged_in(chain.world.district_regulator)
    form = client.get("/work/sampling/new/")
    assert form.status_code == 200
    html = form.content.decode()
    assert f'value="{chain.maker.organization_id}"' in html  # the enterprises of the jurisdiction are offered
    assert f'value="{chain.world.other_dealer.organization_id}"' not in html  # another district's are not
    data = {
        "form_token": _token(html),
        "organization": chain.maker.organization_id,
        "model_kind": "vehicle",
        "model": chain.model.code,
        "batch_no": "PAGE-1",
        "sampled_at": timezone.localdate().isoformat(),
        "lab_report_no": "LAB-9",
        "result": "fail",
        "failed_items": "最高车速\n\n制动性能\n",
    }
    response = client.post("/work/sampling/new/", data)
    assert response.status_code == 302
    again = client.post("/work/sampling/new/", data)  # a double click
    assert again.status_code == 302 and again["Location"] == response["Location"]
    batch = SamplingBatch.objects.get()
    assert batch.failed_items == ["最高车速", "制动性能"]
    listing = client.get(response["Location"])
    page = listing.content.decode()
    assert 'data-testid="recorded" data-result="fail"' in page
    assert 'data-batch="PAGE-1"' in page and 'data-count="1"' in page
    csv = client.get("/work/sampling/?export=csv")
    assert csv.status_code == 200 and "PAGE-1" in b"".join(csv.streaming_content).decode("utf-8-sig")
    xlsx = client.get("/work/sampling/?export=xlsx")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert len(rows) == 2 and rows[1][1] == chain.maker.organization.name
    assert (rows[1][6], rows[1][8], rows[1][9]) == ("PAGE-1", "最高车速、制动性能", "LAB-9")
    assert 'data-count="0"' in client.get("/work/sampling/?result=pass").content.decode()


def test_the_page_form_keeps_the_input_and_says_what_is_wrong(chain):
    client = _logged_in(chain.world.district_regulator)
    token = _token(client.get("/work/sampling/new/").content.decode())
    data = {
        "form_token": token,
        "organization": chain.maker.organization_id,
        "model_kind": "vehicle",
        "model": "NO-SUCH",
        "batch_no": "PAGE-2",
        "sampled_at": timezone.localdate().isoformat(),
        "lab_report_no": "LAB-9",
        "result": "fail",
        "failed_items": "",
    }
    response = client.post("/work/sampling/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="error-model"' in html and 'value="PAGE-2"' in html
    assert not SamplingBatch.objects.exists()


def test_outsiders_get_no_sampling_pages(chain):
    world = chain.world
    for outsider in (world.dealer, chain.maker, world.police):
        client = _logged_in(outsider)
        assert client.get("/work/sampling/").status_code == 404
        assert client.get("/work/sampling/new/").status_code == 404
    assert Client().get("/work/sampling/").status_code == 302  # to the login
    # Another district's regulator sees its own (empty) list, not this district's batches.
    SamplingBatch.objects.create(
        regulator=world.district_regulator.organization,
        organization=chain.maker.organization,
        region_code="371402",
        model_kind="vehicle",
        model_code=chain.model.code,
        batch_no="HIDDEN-1",
        sampled_at=timezone.localdate(),
        result="fail",
        failed_items=["最高车速"],
        lab_report_no="L",
        created_by=world.district_regulator,
    )
    page = _logged_in(world.other_district_regulator).get("/work/sampling/").content.decode()
    assert "HIDDEN-1" not in page and 'data-count="0"' in page

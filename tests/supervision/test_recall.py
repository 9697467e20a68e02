"""Recalls (召回): a regulator or the maker recalls a model's units produced in a range, matched in one statement;
the regulators where the units are get a notice; dealers, repair shops and the maker remedy units once each; the
public page says 召回中 until the remedy; the initiator, the maker and the regulators with units follow it;
outsiders neither start, remedy nor see it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import Notice, OrganizationKind, Region
from supervision.models import Recall, RecallItem
from tests.conftest import _member
from tests.factories import PASSWORD
from vehicles.models import Battery, Vehicle

pytestmark = pytest.mark.django_db
K = OrganizationKind


@pytest.fixture
def units(chain):
    """Five DQ-1 bikes: three produced in March in 德城区, one in March held in 北仑区, one in May; a scrapped
    March bike; and two batteries."""
    world = chain.world
    march = [chain.vehicle() for _ in range(3)]
    far = chain.vehicle(holder=world.far_dealer.organization, status=Vehicle.Status.IN_STOCK)
    may = chain.vehicle()
    Vehicle.objects.filter(pk=may.pk).update(produced_on=dt.date(2026, 5, 2))
    scrapped = chain.vehicle(status=Vehicle.Status.SCRAPPED)
    batteries = [chain.battery(), chain.battery()]
    return {"march": march, "far": far, "may": may, "scrapped": scrapped, "batteries": batteries}


def recall_body(chain, **overrides) -> dict:
    body = {
        "model_kind": "vehicle",
        "model": chain.model.code,
        "produced_from": "2026-03-01",
        "produced_to": "2026-03-31",
        "reason": "控制器限速程序缺陷，可能超过 25 km/h。",
    }
    body.update(overrides)
    return body


def start(api, user, body):
    return api(user).post("/api/v1/recalls/", body, format="json")


def remedy(api, user, recall_id, ref):
    return api(user).post(f"/api/v1/recalls/{recall_id}/remedies/", {"ref": ref}, format="json")


# ── Starting ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_recall_matches_every_unit_on_the_road_in_one_statement(chain, api, units):
    client = api(chain.world.city_regulator)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/recalls/", recall_body(chain), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["affected"] == 4  # three in 德城区, one in 北仑区; not the May bike, not the scrapped one
    recall = Recall.objects.get(pk=body["id"])
    assert recall.affected == 4 and recall.status == "in_progress" and recall.maker == chain.maker.organization
    matched = {item.vehicle_id: item.region_code for item in RecallItem.objects.filter(recall=recall)}
    assert matched == {
        **{v.pk: "371402" for v in units["march"]},
        units["far"].pk: "330206",  # each unit's current region
    }
    # Set-based: one INSERT … SELECT writes every item; no statement per unit.
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT INTO supervision_recallitem" in q["sql"]]
    assert len(inserts) == 1 and "SELECT" in inserts[0]
    assert len(queries.captured_queries) < 25


def test_the_regulators_where_the_units_are_get_one_notice_each_with_the_count(chain, api, units):
    world = chain.world
    assert start(api, world.city_regulator, recall_body(chain)).status_code == 201
    recall = Recall.objects.get()
    notices = {n.organization_id: n for n in Notice.objects.all()}
    # 德城区's units go to 德城区's regulator (the longest prefix), 北仑区's to 北仑区's; the city hears nothing.
    assert set(notices) == {world.district_regulator.organization_id, world.other_city_regulator.organization_id}
    assert "3" in notices[world.district_regulator.organization_id].title
    assert "1" in notices[world.other_city_regulator.organization_id].title
    assert notices[world.district_regulator.organization_id].url == f"/work/recalls/{recall.pk}/"


def test_the_maker_recalls_its_own_model_and_not_anothers(chain, api, units):
    assert start(api, chain.maker, recall_body(chain)).status_code == 201
    other = _member(K.MANUFACTURER, "371402", enterprise_code="1499", name="另一家车厂")
    refused = start(api, other, recall_body(chain))
    assert refused.status_code == 403
    battery = start(api, chain.battery_maker, recall_body(chain, model_kind="battery", model=chain.battery_model.code))
    assert battery.status_code == 201 and battery.json()["affected"] == 2


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"model": "NO-SUCH"}, "unknown_model", "model"),
        ({"model_kind": "charger"}, "invalid", "model_kind"),
        ({"produced_from": "2026-04-01", "produced_to": "2026-03-01"}, "invalid", "produced_to"),
        ({"produced_from": "2020-01-01", "produced_to": "2020-01-31"}, "nothing_to_recall", "produced_from"),
        ({"reason": ""}, "invalid", "reason"),
    ],
)
def test_invalid_recalls_are_refused_and_leave_nothing(chain, api, units, overrides, code, field):
    response = start(api, chain.world.city_regulator, recall_body(chain, **overrides))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and field in response.json()["error"]["fields"]
    assert not Recall.objects.exists() and not RecallItem.objects.exists() and not Notice.objects.exists()


def test_outsiders_cannot_start_a_recall(chain, api, units):
    world = chain.world
    for outsider in (world.dealer, world.police):
        assert start(api, outsider, recall_body(chain)).status_code == 403
    assert start(api, None, recall_body(chain)).status_code == 401
    assert not Recall.objects.exists()


# ── Remedies and the public page ─────────────────────────────────────────────────────────────────────────────


def _public(code: str) -> dict:
    return Client().get(f"/api/v1/public/vehicles/{code}/").json()


def test_the_public_page_says_recalled_until_the_remedy(chain, api, units, django_capture_on_commit_callbacks):
    bike = units["march"][0]
    before = _public(bike.code)  # cached now: the recall must drop it
    assert before["recall"] is None and before["compliance"]["verdict"] == "compliant"
    with django_capture_on_commit_callbacks(execute=True):
        recall_id = start(api, chain.world.city_regulator, recall_body(chain)).json()["id"]
    record = _public(bike.code)
    assert record["recall"]["kind"] == "vehicle" and record["recall"]["model"] == chain.model.code
    assert record["recall"]["reason"].startswith("控制器限速程序缺陷")
    assert record["compliance"] == {"verdict": "issues", "reasons": ["recalled"]}
    page = Client().get(f"/v/{bike.code}").content.decode()
    assert 'data-testid="banner-recalled"' in page and "召回中" in page
    assert _public(units["may"].code)["recall"] is None  # produced outside the range

    with django_capture_on_commit_callbacks(execute=True):
        response = remedy(api, chain.world.dealer, recall_id, bike.frame_no)
    assert response.status_code == 201
    body = response.json()
    assert body["ref"] == bike.frame_no and body["remedied_by"]["id"] == chain.world.dealer.organization_id
    assert body["recall"] == {"id": recall_id, "affected": 4, "remedied": 1, "status": "in_progress"}
    after = _public(bike.code)
    assert after["recall"] is None and after["compliance"]["verdict"] == "compliant"
    assert 'data-testid="banner-recalled"' not in Client().get(f"/v/{bike.code}").content.decode()
    assert _public(units["march"][1].code)["recall"] is not None  # the others still wait


def test_a_recalled_battery_shows_on_its_page_and_on_the_bike_it_is_fitted_in(
    chain, api, units, django_capture_on_commit_callbacks
):
    battery = units["batteries"][0]
    bike = units["march"][0]
    Battery.objects.filter(pk=battery.pk).update(vehicle=bike, status=Battery.Status.FITTED)
    body = recall_body(chain, model_kind="battery", model=chain.battery_model.code)
    recall_id = start(api, chain.world.city_regulator, body).json()["id"]
    assert _public(battery.code)["recall"]["kind"] == "battery"
    on_bike = _public(bike.code)
    assert on_bike["recall"]["kind"] == "battery" and "battery_recalled" in on_bike["compliance"]["reasons"]
    with django_capture_on_commit_callbacks(execute=True):
        assert remedy(api, chain.world.dealer, recall_id, battery.serial).status_code == 201
    assert _public(battery.code)["recall"] is None
    assert _public(bike.code)["recall"] is None  # the bike's cached page is dropped with its battery's


def test_a_cold_public_lookup_of_a_recalled_bike_stays_at_three_queries(
    chain, api, units, django_assert_max_num_queries
):
    start(api, chain.world.city_regulator, recall_body(chain))
    bike = units["march"][0]
    with django_assert_max_num_queries(3):
        assert _public(bike.code)["recall"] is not None


def test_a_unit_is_remedied_once_and_the_last_remedy_ends_the_recall(chain, api, units):
    world = chain.world
    shop = _member(K.REPAIR_SHOP, "330206", name="北仑区维修部")
    recall_id = start(api, chain.maker, recall_body(chain)).json()["id"]
    march = units["march"]
    assert remedy(api, world.dealer, recall_id, march[0].frame_no).status_code == 201
    twice = remedy(api, world.other_dealer, recall_id, march[0].frame_no)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_remedied"
    assert remedy(api, shop, recall_id, units["far"].code).status_code == 201  # a scanned QR label is a code too
    assert remedy(api, chain.maker, recall_id, march[1].frame_no).status_code == 201
    outside = remedy(api, world.dealer, recall_id, units["may"].frame_no)
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_in_recall"
    last = remedy(api, world.dealer, recall_id, march[2].frame_no)
    assert last.status_code == 201 and last.json()["recall"]["status"] == "done"
    recall = Recall.objects.get()
    assert (recall.affected, recall.remedied, recall.status) == (4, 4, "done")
    assert RecallItem.objects.filter(remedied_at__isnull=True).count() == 0


def test_outsiders_cannot_remedy(chain, api, units):
    world = chain.world
    recall_id = start(api, world.city_regulator, recall_body(chain)).json()["id"]
    ref = units["march"][0].frame_no
    for role in (world.city_regulator, world.police):
        assert remedy(api, role, recall_id, ref).status_code == 403
    other_maker = _member(K.MANUFACTURER, "371402", enterprise_code="1499", name="另一家车厂")
    assert remedy(api, other_maker, recall_id, ref).status_code == 404
    assert remedy(api, None, recall_id, ref).status_code == 401
    assert remedy(api, world.dealer, 999999, ref).status_code == 404
    assert not RecallItem.objects.filter(remedied_at__isnull=False).exists()


# ── Who follows it ───────────────────────────────────────────────────────────────────────────────────────────


def test_the_initiator_the_maker_and_the_regulators_with_units_see_it_with_their_districts(chain, api, units):
    world = chain.world
    initiator = _member(K.REGULATOR, "371482", name="禹城市市场监督管理局")
    recall_id = start(api, initiator, recall_body(chain)).json()["id"]
    remedy(api, world.dealer, recall_id, units["march"][0].frame_no)

    def detail(user):
        return api(user).get(f"/api/v1/recalls/{recall_id}/")

    full = detail(chain.maker)
    assert full.status_code == 200
    body = full.json()
    assert (body["model"], body["affected"], body["remedied"], body["status"]) == (
        chain.model.code,
        4,
        1,
        "in_progress",
    )
    assert body["districts"] == [
        {"region_code": "330206", "name": Region.objects.get(code="330206").name, "affected": 1, "remedied": 0},
        {"region_code": "371402", "name": Region.objects.get(code="371402").name, "affected": 3, "remedied": 1},
    ]
    assert detail(initiator).json()["districts"] == body["districts"]
    assert detail(world.city_regulator).status_code == 200  # its subtree holds the initiator and units
    # A regulator that sees it through its units reads its own districts only.
    assert [d["region_code"] for d in detail(world.other_city_regulator).json()["districts"]] == ["330206"]
    assert [d["region_code"] for d in detail(world.district_regulator).json()["districts"]] == ["371402"]
    # Outsiders: a district with no units, another enterprise (even the dealer that remedied), the police.
    for outsider in (world.other_district_regulator, world.dealer, world.police, chain.battery_maker):
        assert detail(outsider).status_code == 404
        assert api(outsider).get("/api/v1/recalls/").json()["results"] == []
    assert detail(None).status_code == 401
    listed = api(world.other_city_regulator).get("/api/v1/recalls/?status=in_progress").json()["results"]
    assert [r["id"] for r in listed] == [recall_id]
    assert api(world.other_city_regulator).get("/api/v1/recalls/?status=done").json()["results"] == []


# ── Pages ────────────────────────────────────────────────────────────────────────────────────────────────────


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_the_regulator_starts_a_recall_on_the_page_and_follows_it(chain, units):
    client = _logged_in(chain.world.city_regulator)
    token = _token(client.get("/work/recalls/new/").content.decode())
    data = {"form_token": token, **recall_body(chain)}
    response = client.post("/work/recalls/new/", data)
    assert response.status_code == 302
    assert client.post("/work/recalls/new/", data)["Location"] == response["Location"]  # a double click
    recall = Recall.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="affected">4<' in page and 'data-testid="remedied">0<' in page
    assert 'data-region="371402" data-affected="3" data-remedied="0"' in page
    listing = client.get("/work/recalls/").content.decode()
    assert f'data-recall="{recall.pk}"' in listing
    listed = client.get("/work/recalls/?export=csv")
    assert listed.status_code == 200 and listed["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(listed.streaming_content).decode("utf-8-sig"))))
    assert len(table) == 2 and table[1][2] == chain.model.code and table[1][6:8] == ["4", "0"]
    per_district = client.get(f"/work/recalls/{recall.pk}/?export=csv")
    assert "371402" in b"".join(per_district.streaming_content).decode("utf-8-sig")
    # A wrong model code: said next to the field, what was typed kept, nothing started.
    token = _token(client.get("/work/recalls/new/").content.decode())
    refused = client.post("/work/recalls/new/", {**data, "form_token": token, "model": "NO-SUCH"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert 'data-testid="error-model"' in html and 'value="NO-SUCH"' in html
    assert Recall.objects.count() == 1


def test_a_dealer_scans_a_recalled_bike_on_the_phone_and_records_its_remedy(chain, api, units):
    recall_id = start(api, chain.world.city_regulator, recall_body(chain)).json()["id"]
    bike = units["march"][0]
    client = _logged_in(chain.world.dealer)
    page = client.get("/work/recalls/remedy/").content.decode()
    assert 'data-scan="any"' in page and 'id="scanner"' in page
    found = client.get(f"/work/recalls/remedy/?ref={bike.code}").content.decode()  # a scanned QR label
    assert f'data-recall="{recall_id}"' in found
    response = client.post(
        "/work/recalls/remedy/record/", {"form_token": _token(found), "recall": recall_id, "ref": bike.frame_no}
    )
    assert response.status_code == 302
    done = client.get(response["Location"]).content.decode()
    assert 'data-testid="remedy-done"' in done and 'data-testid="no-open-recall"' in done
    assert RecallItem.objects.get(vehicle=bike).remedied_by == chain.world.dealer.organization
    unknown = client.get("/work/recalls/remedy/?ref=NOPE123456").content.decode()
    assert 'data-testid="unknown"' in unknown


def test_outsiders_get_no_recall_pages(chain, api, units):
    world = chain.world
    recall_id = start(api, world.city_regulator, recall_body(chain)).json()["id"]
    assert _logged_in(world.other_district_regulator).get(f"/work/recalls/{recall_id}/").status_code == 404
    assert _logged_in(world.dealer).get(f"/work/recalls/{recall_id}/").status_code == 404
    assert _logged_in(world.police).get("/work/recalls/remedy/").status_code == 404
    assert _logged_in(world.city_regulator).get("/work/recalls/remedy/").status_code == 404
    assert Client().get("/work/recalls/").status_code == 302


# ── Demo ─────────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_demo_has_a_failed_batch_and_a_recall_in_progress(db):
    from alerts.models import Alert, RuleCode
    from core import demo as core_demo
    from core.models import User
    from reports.models import ProductCategory
    from supervision.demo import seed_recall, seed_sampling
    from supervision.models import SamplingBatch
    from vehicles.demo import seed_catalog
    from vehicles.production import vehicles_produce

    orgs = core_demo.seed()
    seed_catalog(orgs)
    maker = User.objects.get(username="maker")
    items = [{"frame_no": f"1402225{n:08d}", "motor_no": f"M{n:08d}", "produced_on": "2026-03-01"} for n in range(60)]
    vehicles_produce(actor=maker, model_code="DQ-S2", items=items)

    assert seed_sampling(orgs) == {"sampling_batches": 4}
    assert set(SamplingBatch.objects.values_list("result", flat=True)) == {"pass", "fail"}
    failed = SamplingBatch.objects.get(result="fail")
    assert Alert.objects.filter(rule=RuleCode.SAMPLING_FAILED, organization=failed.organization).exists()
    assert ProductCategory.objects.get(code="vehicle").grade == "high"

    made = seed_recall(orgs)
    assert made == {"recall_affected": 60, "recall_remedied": 40}
    recall = Recall.objects.get()
    assert (recall.status, recall.affected, recall.remedied) == ("in_progress", 60, 40)
    assert seed_sampling(orgs) == {} and seed_recall(orgs) == {}  # a second run adds nothing
    assert SamplingBatch.objects.count() == 4 and Recall.objects.count() == 1

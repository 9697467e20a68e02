"""Stolen bikes: the police report a bike stolen and found; every later step of a stolen bike (a repair, a swap of its
battery, a sale…) and an enterprise's scan of its QR page raise STOLEN_SEEN to the police of its region, with where
it was seen; the hot sheet; the QR page says "已报失窃" and nothing more. Outsiders: another city's police, a
regulator, the dealer who sold it, another dealer, the anonymous public."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertDelivery, AlertRequest
from core.models import AuditEntry, OrganizationKind
from tests.alerts.conftest import drain, repaired
from tests.chain import BUYER
from tests.conftest import _member, api_client
from tests.factories import PASSWORD
from vehicles.ledger import chain_verify, event_append
from vehicles.models import Battery, EventType, LifecycleEvent, StolenReport, Vehicle
from vehicles.registration import BuyerData, registration_create

pytestmark = pytest.mark.django_db


def _sold(chain) -> Vehicle:
    """A bike sold in 德城区 (371402) a month ago, its battery fitted; the city police (371400) are its police."""
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=dealer.organization,
            registered_at=timezone.now() - dt.timedelta(days=30),
        )
    vehicle.refresh_from_db()
    drain()  # its life so far (produced just now) is behind it
    return vehicle


@pytest.fixture
def bike(chain):
    return _sold(chain)


@pytest.fixture
def shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")


@pytest.fixture
def far_police(world):
    return _member(OrganizationKind.POLICE, "330206", name="宁波市公安局北仑分局")


def report(user, vehicle, **body):
    body = {"report_no": "德公刑(2026)1234号", "reported_at": timezone.now() - dt.timedelta(hours=2), **body}
    return api_client(user).post(f"/api/v1/vehicles/{vehicle.frame_no}/stolen/", body, format="json")


def found(user, vehicle, **body):
    return api_client(user).post(f"/api/v1/vehicles/{vehicle.frame_no}/found/", body, format="json")


def stolen_alerts():
    return Alert.objects.filter(rule="STOLEN_SEEN").order_by("id")


def visible_alerts(user) -> set[int]:
    return {a["id"] for a in api_client(user).get("/api/v1/alerts/?rule=STOLEN_SEEN").json()["results"]}


# ── Reporting ────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_police_report_a_bike_stolen_on_its_ledger_with_an_audit_entry(world, bike):
    response = report(world.police, bike)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["frame_no"] == bike.frame_no and body["report_no"] == "德公刑(2026)1234号"
    assert body["region_code"] == "371402" and body["found_at"] is None
    assert body["reported_by"] == {"id": world.police.organization_id, "name": "德州市公安局"}
    last = LifecycleEvent.objects.filter(vehicle=bike).order_by("-seq").first()
    assert last.type == EventType.STOLEN_REPORTED and last.payload["report_no"] == "德公刑(2026)1234号"
    assert last.organization_id == world.police.organization_id
    bike.refresh_from_db()
    assert chain_verify(bike).valid
    audit = AuditEntry.objects.get(action="vehicle.stolen_reported")
    assert audit.actor == world.police and audit.data["frame_no"] == bike.frame_no


def test_a_second_report_while_one_is_open_is_a_conflict(world, bike):
    assert report(world.police, bike).status_code == 201
    again = report(world.police, bike, report_no="另一个")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reported"
    assert StolenReport.objects.count() == 1


def test_a_report_needs_its_number_and_no_future_time(world, bike):
    assert report(world.police, bike, report_no="").status_code == 400
    future = report(world.police, bike, reported_at=timezone.now() + dt.timedelta(days=1))
    assert future.status_code == 400 and "reported_at" in future.json()["error"]["fields"]
    assert not StolenReport.objects.exists()


def test_only_the_police_of_the_jurisdiction_report_a_bike(world, bike, far_police):
    assert report(far_police, bike).status_code == 404  # another city's police: no such bike for them
    assert report(world.other_dealer, bike).status_code == 404
    assert report(world.far_dealer, bike).status_code == 404
    refused = report(world.district_regulator, bike)  # sees the bike, but a regulator reports nothing stolen
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "police_only"
    assert report(world.dealer, bike).status_code == 403  # the dealer who sold it sees its record
    assert api_client().post(f"/api/v1/vehicles/{bike.frame_no}/stolen/", {}, format="json").status_code == 401
    assert not StolenReport.objects.exists()
    assert not LifecycleEvent.objects.filter(type=EventType.STOLEN_REPORTED).exists()


def test_the_police_close_the_report_when_the_bike_is_found(world, bike, far_police):
    assert found(world.police, bike).json()["error"]["code"] == "not_reported"
    assert report(world.police, bike).status_code == 201
    assert found(far_police, bike).status_code == 404
    assert found(world.district_regulator, bike).status_code == 403
    response = found(world.police, bike, note="在德城区找回")
    assert response.status_code == 200, response.content
    assert response.json()["found_at"] and response.json()["found_by"]["id"] == world.police.organization_id
    assert StolenReport.objects.get().found_at is not None
    last = LifecycleEvent.objects.filter(vehicle=bike).order_by("-seq").first()
    assert last.type == EventType.FOUND and last.payload["note"] == "在德城区找回"
    assert AuditEntry.objects.filter(action="vehicle.found").count() == 1
    again = found(world.police, bike)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_reported"
    assert report(world.police, bike, report_no="再次被盗").status_code == 201  # stolen again later


def test_a_report_is_idempotent_by_key(world, bike):
    client = api_client(world.police)
    body = {"report_no": "A-1", "reported_at": timezone.now().isoformat()}
    url = f"/api/v1/vehicles/{bike.frame_no}/stolen/"
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="stolen-1")
    second = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="stolen-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert StolenReport.objects.count() == 1


# ── Seen: the rule engine ────────────────────────────────────────────────────────────────────────────────────


def test_a_repair_of_a_stolen_bike_raises_stolen_seen_to_the_police_with_where_it_was_seen(
    world, bike, shop, far_police
):
    assert report(world.police, bike).status_code == 201
    drain()  # the report's own step raises nothing
    assert not stolen_alerts().exists()
    repaired(bike, shop, repair=41)
    drain()
    alert = stolen_alerts().get()
    assert alert.region_code == "371402" and alert.frame_no == bike.frame_no and alert.vehicle_id == bike.pk
    assert alert.organization_id is None  # the shop is where it was seen, not the enterprise concerned
    assert alert.evidence["enterprise"] == shop.organization_id
    assert alert.evidence["seen_event"] == "repaired" and alert.evidence["seen_region"] == "371402"
    assert alert.evidence["report_no"] == "德公刑(2026)1234号" and alert.evidence["seen_at"]
    delivered = set(AlertDelivery.objects.filter(alert=alert).values_list("organization_id", "reason"))
    assert (world.police.organization_id, "department") in delivered
    assert (world.district_regulator.organization_id, "jurisdiction") in delivered
    assert visible_alerts(world.police) == {alert.pk}
    assert visible_alerts(far_police) == set()
    assert visible_alerts(shop) == set()  # the shop holding the bike is not told
    assert visible_alerts(world.other_city_regulator) == set()
    drain()
    assert stolen_alerts().count() == 1  # one alert per event, however often it is drained


def test_a_swap_of_a_stolen_bikes_battery_raises_stolen_seen(world, bike):
    battery = Battery.objects.get(vehicle=bike)
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371403", name="陵城区安充换电")
    assert report(world.police, bike).status_code == 201
    with transaction.atomic():  # the swap service writes a `swapped` step on the chain of the bike it is in
        locked = Vehicle.objects.select_for_update().get(pk=bike.pk)
        event_append(
            vehicle=locked,
            battery=battery,
            type=EventType.SWAPPED,
            occurred_at=timezone.now(),
            region_code="371403",
            organization_id=operator.organization_id,
            payload={"swap": 1, "station": 1, "direction": "in", "alarm": "none"},
        )
    drain()
    alert = stolen_alerts().get()
    assert alert.evidence["seen_event"] == "swapped" and alert.evidence["seen_region"] == "371403"
    assert alert.evidence["enterprise"] == operator.organization_id and alert.battery_id == battery.pk
    assert alert.region_code == "371402"  # the police of where it was stolen, not of the cabinet


def test_a_swap_on_a_batterys_own_chain_finds_the_stolen_bike_it_is_fitted_in(world, bike):
    battery = Battery.objects.get(vehicle=bike)
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德城区安充换电")
    assert report(world.police, bike).status_code == 201
    with transaction.atomic():
        locked = Battery.objects.select_for_update().get(pk=battery.pk)
        event_append(
            battery=locked,
            type=EventType.SWAPPED,
            occurred_at=timezone.now(),
            region_code="371402",
            organization_id=operator.organization_id,
            payload={"swap": 2, "station": 1, "direction": "out", "alarm": "none"},
        )
    drain()
    alert = stolen_alerts().get()
    assert alert.vehicle_id == bike.pk and alert.frame_no == bike.frame_no and alert.battery_id == battery.pk


def test_steps_before_the_theft_after_the_find_and_complaints_raise_nothing(world, bike, shop):
    assert report(world.police, bike, reported_at=timezone.now() - dt.timedelta(hours=1)).status_code == 201
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=bike.pk)
        event_append(  # a repair done the day before the theft, uploaded late
            vehicle=locked,
            type=EventType.REPAIRED,
            occurred_at=timezone.now() - dt.timedelta(days=1),
            region_code="371402",
            organization_id=shop.organization_id,
            payload={"repair": 7, "kind": "other", "shop_qualified": True},
        )
        event_append(
            vehicle=locked,
            type=EventType.COMPLAINT,
            occurred_at=timezone.now(),
            region_code="371402",
            payload={"complaint": 1, "category": "quality"},
        )
    drain()
    assert not stolen_alerts().exists()
    assert found(world.police, bike).status_code == 200
    repaired(bike, shop, repair=8)
    drain()
    assert not stolen_alerts().exists()


def test_a_bike_never_reported_raises_nothing(bike, shop):
    repaired(bike, shop, repair=9)
    drain()
    assert not stolen_alerts().exists()


# ── The QR page ──────────────────────────────────────────────────────────────────────────────────────────────


def _json(code):
    return api_client().get(f"/api/v1/public/vehicles/{code}/")


def test_the_public_page_says_reported_stolen_and_nothing_more(
    world, bike, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    assert _json(bike.code).json()["stolen"] is False
    with django_capture_on_commit_callbacks(execute=True):
        assert report(world.police, bike).status_code == 201  # drops the cached record
    with django_assert_max_num_queries(3):  # the cold lookup stays at three queries
        body = _json(bike.code).json()
    assert body["stolen"] is True
    assert "stolen_reported" not in {step["type"] for step in body["events"]}
    assert body["compliance"]["verdict"] == "compliant"  # a theft is not a defect of the bike
    page = Client().get(f"/v/{bike.code}")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="banner-stolen"' in text
    assert "德公刑" not in text and "德州市公安局" not in text and "德公刑" not in str(body)
    with django_capture_on_commit_callbacks(execute=True):
        assert found(world.police, bike).status_code == 200
    assert _json(bike.code).json()["stolen"] is False  # the find clears it at once
    assert 'data-testid="banner-stolen"' not in Client().get(f"/v/{bike.code}").content.decode()


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_an_enterprise_scanning_a_stolen_bike_raises_stolen_seen_once_a_day(world, bike):
    assert report(world.police, bike).status_code == 201
    drain()
    Client().get(f"/v/{bike.code}")  # the anonymous public: nothing
    _logged_in(world.district_regulator).get(f"/v/{bike.code}")  # a regulator: nothing
    assert not AlertRequest.objects.filter(rule="STOLEN_SEEN").exists()
    scanner = _logged_in(world.far_dealer)
    assert scanner.get(f"/v/{bike.code}").status_code == 200
    assert scanner.get(f"/v/{bike.code}").status_code == 200
    request = AlertRequest.objects.get(rule="STOLEN_SEEN")
    assert request.frame_no == bike.frame_no and request.region_code == "371402" and request.organization is None
    drain()
    alert = stolen_alerts().get()
    assert alert.evidence["enterprise"] == world.far_dealer.organization_id
    assert alert.evidence["seen_event"] == "public_page_scan" and alert.evidence["seen_region"] == "330206"
    assert visible_alerts(world.police) == {alert.pk} and visible_alerts(world.far_dealer) == set()
    _logged_in(world.other_dealer).get(f"/v/{bike.code}")  # another enterprise the same day: a repeat of it
    drain()
    alert.refresh_from_db()
    assert stolen_alerts().count() == 1 and alert.evidence["occurrences"] == 2
    assert alert.evidence["repeats"][0]["enterprise"] == world.other_dealer.organization_id


def test_scanning_a_bike_not_stolen_raises_nothing(world, bike):
    page = _logged_in(world.far_dealer).get(f"/v/{bike.code}")
    assert page.status_code == 200 and 'data-testid="banner-stolen"' not in page.content.decode()
    assert not AlertRequest.objects.exists()


# ── The hot sheet ────────────────────────────────────────────────────────────────────────────────────────────


def test_the_hot_sheet_lists_open_reports_with_the_bike_and_where_it_was_last_seen(world, bike, shop, chain):
    assert report(world.police, bike).status_code == 201
    repaired(bike, shop, repair=11)
    drain()
    other = chain.vehicle()  # reported and found: not on the sheet
    with transaction.atomic():
        StolenReport.objects.create(
            vehicle=other,
            region_code="371402",
            report_no="X",
            reported_at=timezone.now(),
            reported_by=world.police.organization,
            found_at=timezone.now(),
        )
    response = api_client(world.police).get("/api/v1/stolen/")
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    assert row["vehicle"]["frame_no"] == bike.frame_no and row["vehicle"]["code"] == bike.code
    assert row["vehicle"]["plate_no"] == bike.code and row["vehicle"]["model"]["code"] == "DQ-1"
    assert row["report"]["report_no"] == "德公刑(2026)1234号"
    seen = row["last_seen"]
    assert seen["event"] == "repaired" and seen["enterprise"]["name"] == "德城区诚信维修部"
    assert seen["region_code"] == "371402" and seen["region_name"] == "德城区" and seen["at"]
    for reader in (world.city_regulator, world.district_regulator):
        assert [r["vehicle"]["frame_no"] for r in api_client(reader).get("/api/v1/stolen/").json()["results"]] == [
            bike.frame_no
        ]
    district = api_client(world.police).get("/api/v1/stolen/?region_code=371402").json()["results"]
    assert len(district) == 1


def test_the_hot_sheet_is_for_the_police_and_regulators_of_the_region_only(world, bike, far_police):
    assert report(world.police, bike).status_code == 201
    assert api_client(far_police).get("/api/v1/stolen/").json()["results"] == []
    assert api_client(far_police).get("/api/v1/stolen/?region_code=371400").status_code == 404
    assert api_client(world.other_city_regulator).get("/api/v1/stolen/?region_code=371402").status_code == 404
    assert api_client(world.other_district_regulator).get("/api/v1/stolen/").json()["results"] == []
    assert api_client(world.dealer).get("/api/v1/stolen/").status_code == 403
    assert api_client().get("/api/v1/stolen/").status_code == 401
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    assert api_client(fire).get("/api/v1/stolen/").status_code == 403


# ── The police's pages ───────────────────────────────────────────────────────────────────────────────────────


def _token() -> str:
    from core.submissions import form_token_new

    return form_token_new()


def test_the_police_home_links_the_hot_sheet_and_the_police_report_and_find_a_bike_there(world, bike):
    police = _logged_in(world.police)
    assert 'href="/records/stolen/"' in police.get("/").content.decode()
    empty = police.get("/records/stolen/")
    assert empty.status_code == 200 and 'data-testid="empty"' in empty.content.decode()
    body = {
        "form_token": _token(),
        "frame_no": bike.frame_no,
        "report_no": "德公刑(2026)77号",
        "reported_at": (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    done = police.post("/records/stolen/new/", body)
    assert done.status_code == 302 and done["Location"] == "/records/stolen/"
    assert police.post("/records/stolen/new/", body).status_code == 302  # a double click: still one report
    assert StolenReport.objects.filter(report_no="德公刑(2026)77号").count() == 1
    sheet = police.get("/records/stolen/").content.decode()
    assert bike.frame_no in sheet and "德公刑(2026)77号" in sheet and 'data-testid="found"' in sheet
    csv = police.get("/records/stolen/?export=csv")
    assert csv.status_code == 200 and bike.frame_no in b"".join(csv.streaming_content).decode()
    assert police.post(f"/records/stolen/{bike.frame_no}/found/", {"form_token": _token()}).status_code == 302
    assert StolenReport.objects.get().found_at is not None
    after = police.get("/records/stolen/").content.decode()
    assert 'data-count="0"' in after
    assert 'data-testid="stolen-row"' not in after


def test_the_report_form_says_what_is_wrong_next_to_the_field(world, bike, far_police):
    police = _logged_in(world.police)
    stamp = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    page = police.post(
        "/records/stolen/new/",
        {"form_token": _token(), "frame_no": "140222699999999", "report_no": "X-1", "reported_at": stamp},
    )
    assert page.status_code == 200 and 'data-testid="error-frame_no"' in page.content.decode()
    assert 'value="X-1"' in page.content.decode()  # what was typed is kept
    far = _logged_in(far_police).post(
        "/records/stolen/new/",
        {"form_token": _token(), "frame_no": bike.frame_no, "report_no": "X-2", "reported_at": stamp},
    )
    assert far.status_code == 200 and 'data-testid="error-frame_no"' in far.content.decode()
    assert not StolenReport.objects.exists()


def test_regulators_read_the_hot_sheet_and_others_find_no_page(world, bike):
    assert report(world.police, bike).status_code == 201
    sheet = _logged_in(world.city_regulator).get("/records/stolen/")
    assert sheet.status_code == 200 and bike.frame_no in sheet.content.decode()
    assert 'data-testid="report-stolen"' not in sheet.content.decode()  # reading only
    assert _logged_in(world.city_regulator).get("/records/stolen/new/").status_code == 404
    assert _logged_in(world.dealer).get("/records/stolen/").status_code == 404
    assert _logged_in(world.other_city_regulator).get("/records/stolen/?region_code=371400").status_code == 404
    assert bike.frame_no not in _logged_in(world.other_city_regulator).get("/records/stolen/").content.decode()
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    assert _logged_in(fire).get("/records/stolen/").status_code == 404
    assert Client().get("/records/stolen/").status_code == 302  # to the login
    found_by_dealer = _logged_in(world.dealer).post(f"/records/stolen/{bike.frame_no}/found/", {"form_token": _token()})
    assert found_by_dealer.status_code == 404 and StolenReport.objects.get().found_at is None


def test_the_hot_sheet_reads_a_fixed_number_of_queries_however_many_bikes_are_on_it(
    world, chain, django_assert_max_num_queries
):
    """Each row's bike, model, plate, reporting police and last sighting (where and by whom) come with the page, on
    the page, in its CSV and from the API: no query per row."""
    police = _logged_in(world.police)
    shops = [_member(OrganizationKind.REPAIR_SHOP, "371402", name=f"德城区维修部{n}") for n in range(4)]

    def stolen_and_seen(n: int) -> None:
        vehicle = _sold(chain)
        assert report(world.police, vehicle, report_no=f"德公刑(2026){n}号").status_code == 201
        repaired(vehicle, shops[n], repair=500 + n)
        drain()

    def read() -> tuple[str, str, list[dict]]:
        page = police.get("/records/stolen/").content.decode()
        csv = b"".join(police.get("/records/stolen/?export=csv").streaming_content).decode()
        return page, csv, api_client(world.police).get("/api/v1/stolen/").json()["results"]

    stolen_and_seen(0)
    with CaptureQueriesContext(connection) as small:
        read()
    queries = len(small)  # now: the next request empties the connection's log
    for n in range(1, 4):
        stolen_and_seen(n)
    with django_assert_max_num_queries(queries):
        page, csv, rows = read()
    assert page.count('data-testid="stolen-row"') == 4
    for n, shop in enumerate(shops):
        assert f"德公刑(2026){n}号" in page and shop.organization.name in page and shop.organization.name in csv
    assert sorted(row["last_seen"]["enterprise"]["name"] for row in rows) == sorted(
        shop.organization.name for shop in shops
    )
    assert {row["vehicle"]["plate_no"] for row in rows} == {row["vehicle"]["code"] for row in rows}

"""Department data feeds: each department reads its own kind's feed of its region, page by page from a cursor, and a
consumer killed mid-page and restarted from its last cursor misses nothing and repeats nothing, also when a
transaction that started later commits first. Outsiders: another city's department, another kind of department,
a regulator, an enterprise, the anonymous public.

These tests commit (transaction=True): a feed shows only what finished transactions wrote."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert
from catalog.models import Chemistry
from charging.models import SwapEvent, SwapStation
from core.models import OrganizationKind, Region
from feeds.cursor import Position, cursor_encode
from feeds.models import FeedEntry
from recycling.services import recycling_record
from tests.chain import BUYER, _battery_model, valid_id_number
from tests.conftest import _member, api_client
from vehicles.registration import BuyerData, registration_cancel, registration_create, registration_transfer
from vehicles.stolen import stolen_report_close, stolen_report_open

pytestmark = pytest.mark.django_db(transaction=True)

K = OrganizationKind


def read(user, feed: str, **params):
    return api_client(user).get(f"/api/v1/feeds/{feed}/", params)


def walk(user, feed: str, *, page_size: int = 2, after: str | None = None) -> list[dict]:
    """Every entry from `after` to the end, following `next`."""
    entries, params = [], {"page_size": page_size, **({"after": after} if after else {})}
    while True:
        body = read(user, feed, **params).json()
        entries += body["results"]
        if body["next"] is None:
            return entries
        params = {"page_size": page_size, "after": body["cursor"]}


@pytest.fixture
def departments(world):
    return {
        "police": world.police,
        "far_police": _member(K.POLICE, "330206", name="宁波市公安局北仑分局"),
        "environment": _member(K.ENVIRONMENT, "371400", name="德州市生态环境局"),
        "fire": _member(K.FIRE, "371400", name="德州市消防救援支队"),
        "far_fire": _member(K.FIRE, "330206", name="北仑区消防救援大队"),
        "housing": _member(K.HOUSING, "371400", name="德州市住房和城乡建设局"),
    }


def sold(chain, registered_at=None):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=chain.world.dealer.organization,
            registered_at=registered_at or timezone.now() - dt.timedelta(days=3),
        )
    vehicle.refresh_from_db()
    return vehicle


def station(operator, code: str, region: str = "371402") -> SwapStation:
    return SwapStation.objects.create(
        operator=operator.organization,
        code=code,
        name=f"{code} 换电柜",
        region=Region.objects.get(code=region),
        address="德城区新湖大街 1 号",
    )


# ── What each feed carries ───────────────────────────────────────────────────────────────────────────────────


def test_the_police_feed_carries_registrations_transfers_cancellations_and_stolen_reports(world, chain, departments):
    vehicle = sold(chain)
    new_owner = BuyerData.clean({**BUYER, "name": "李四", "id_number": valid_id_number("37140219990303456")})
    registration_transfer(
        user=world.police, frame_no=vehicle.frame_no, new_owner=new_owner, transferred_at=timezone.now()
    )
    frame_no = vehicle.frame_no
    stolen_report_open(user=world.police, frame_no=frame_no, report_no="德公(2026)9号", reported_at=timezone.now())
    stolen_report_close(user=world.police, frame_no=vehicle.frame_no, found_at=timezone.now())
    registration_cancel(user=world.police, frame_no=vehicle.frame_no, reason="车辆报废", cancelled_at=timezone.now())
    response = read(departments["police"], "police")
    assert response.status_code == 200, response.content
    body = response.json()
    kinds = [e["kind"] for e in body["results"]]
    assert kinds == ["registered", "transferred", "stolen_reported", "found", "registration_cancelled"]
    registered = body["results"][0]
    assert registered["region_code"] == "371402" and registered["occurred_at"] and registered["recorded_at"]
    record = registered["record"]
    assert record["frame_no"] == vehicle.frame_no and record["code"] == vehicle.code and record["model"] == "DQ-1"
    assert record["plate_no"] == vehicle.code and record["organization"]["id"] == world.dealer.organization_id
    assert body["results"][2]["record"]["report_no"] == "德公(2026)9号"
    assert body["results"][4]["record"]["reason"] == "车辆报废"
    text = response.content.decode()
    for personal in ("张三丰", "李四", BUYER["id_number"], BUYER["phone"]):  # owners are never in a feed
        assert personal not in text
    assert body["next"] is None and body["cursor"] == body["results"][-1]["cursor"]


def test_the_environment_feed_carries_lead_acid_packs_only(world, chain, departments):
    recycler = _member(K.RECYCLER, "371425", name="德州市绿源再生资源回收有限公司")
    lead_acid = _battery_model(chain.battery_maker.organization, "LD-4812Q", chemistry=Chemistry.LEAD_ACID)
    pack = chain.battery(model=lead_acid)
    lithium = chain.battery()
    recycling_record(user=recycler, kind="battery", ref=pack.serial, disposal="hazardous_transfer", manifest_no="HW-1")
    recycling_record(user=recycler, kind="battery", ref=lithium.serial, disposal="dismantle")
    (entry,) = read(departments["environment"], "environment").json()["results"]
    assert entry["kind"] == "hazardous_transfer" and entry["region_code"] == "371425"
    record = entry["record"]
    assert record["serial"] == pack.serial and record["battery_model"] == "LD-4812Q"
    assert record["chemistry"] == "lead_acid" and record["manifest_no"] == "HW-1"
    assert record["organization"]["name"] == "德州市绿源再生资源回收有限公司" and record["handed_to"] is None


def test_the_fire_feed_carries_cabinet_alarms_and_battery_alerts(world, chain, departments):
    operator = _member(K.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    cabinet = station(operator, "DZ-001")
    battery = chain.battery()
    now = timezone.now()
    common = {"station": cabinet, "operator": operator.organization, "region_code": "371402", "received_at": now}
    SwapEvent.objects.create(**common, battery_in_serial=battery.serial, occurred_at=now)  # no alarm
    SwapEvent.objects.create(
        **common,
        battery_in_serial=battery.serial,
        battery_in=battery,
        occurred_at=now + dt.timedelta(minutes=1),
        temperature_c=Decimal("78.5"),
        alarm="over_temperature",
    )
    fields = {"severity": "high", "region_code": "371402", "event_at": now, "dispatch_due_at": now, "due_at": now}
    Alert.objects.create(rule="BATTERY_THERMAL_RISK", category="battery", dedup_key="t:1", **fields)
    Alert.objects.create(rule="MOD_SPEED_UNLOCK", category="speed", dedup_key="t:2", **fields)
    entries = read(departments["fire"], "fire").json()["results"]
    assert [e["kind"] for e in entries] == ["swap_alarm", "battery_alert"]
    swap = entries[0]["record"]
    assert swap["alarm"] == "over_temperature" and swap["temperature_c"] == 78.5
    assert swap["battery_in"] == battery.serial
    assert swap["station"]["code"] == "DZ-001" and swap["operator"]["name"] == "德州市安充换电"
    assert entries[1]["record"]["rule"] == "BATTERY_THERMAL_RISK"
    assert read(departments["far_fire"], "fire").json()["results"] == []


def test_the_housing_feed_carries_cabinets_added_and_changed(world, departments):
    operator = _member(K.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    cabinet = station(operator, "DZ-002")
    cabinet.address = "德城区东风路 8 号"
    cabinet.save()
    cabinet.save()  # nothing changed: nothing more to say
    entries = read(departments["housing"], "housing").json()["results"]
    assert [e["kind"] for e in entries] == ["station_added", "station_changed"]
    assert entries[1]["record"]["address"] == "德城区东风路 8 号" and entries[1]["record"]["operator"]["id"]


# ── Who reads what ───────────────────────────────────────────────────────────────────────────────────────────


def test_a_department_reads_only_its_kind_of_feed_in_its_region(world, chain, departments):
    sold(chain)
    assert len(read(departments["police"], "police").json()["results"]) == 1
    assert read(departments["far_police"], "police").json()["results"] == []  # another city's police
    for user in (departments["fire"], departments["housing"], world.city_regulator, world.dealer):
        response = read(user, "police")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert read(departments["police"], "fire").status_code == 404
    assert read(departments["police"], "weather").status_code == 404
    assert read(None, "police").status_code == 401
    assert len(read(world.superuser, "police").json()["results"]) == 1  # the platform reads every region


def test_a_cursor_is_checked(world, departments):
    police = departments["police"]
    for bad in ("nonsense", cursor_encode("fire", Position(1, 1)), "%%%"):
        response = read(police, "police", after=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
    assert read(police, "police", page_size=501).status_code == 400
    empty = read(police, "police").json()
    assert empty["results"] == [] and empty["next"] is None
    assert read(police, "police", after=empty["cursor"]).json()["results"] == []


# ── No gap, no repeat ────────────────────────────────────────────────────────────────────────────────────────


def test_pages_follow_each_other_without_gap_or_repeat(world, departments):
    operator = _member(K.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    for n in range(7):
        station(operator, f"P-{n}")
    entries = walk(departments["housing"], "housing", page_size=3)
    assert [e["record"]["code"] for e in entries] == [f"P-{n}" for n in range(7)]
    assert len({e["id"] for e in entries}) == 7


def _connect():
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


def _insert_station(conn, operator_id: int, code: str) -> None:
    conn.execute(
        "INSERT INTO charging_swapstation (operator_id, code, name, region_id, address, created_at) "
        "VALUES (%s, %s, %s, '371402', '德城区', now())",
        [operator_id, code, code],
    )


def test_a_transaction_committing_late_is_never_skipped_and_a_restarted_consumer_repeats_nothing(world, departments):
    """Two writers on real connections: the one that started first commits last. A consumer reading in between
    sees neither (the late one holds the feed back); killed mid-page and restarted from the last cursor it kept,
    it gets every entry once, in the end in the writers' order."""
    housing = departments["housing"]
    operator = _member(K.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    for n in range(3):
        station(operator, f"BEFORE-{n}")
    consumer_kept: list[dict] = []

    # A consumer takes a page of two and is killed after handling the first entry: it kept that entry's cursor.
    page = read(housing, "housing", page_size=2).json()
    consumer_kept.append(page["results"][0])
    saved_cursor = page["results"][0]["cursor"]

    early, late = _connect(), _connect()
    try:
        early.execute("BEGIN")
        _insert_station(early, operator.organization_id, "EARLY")  # takes its transaction id first
        late.execute("BEGIN")
        _insert_station(late, operator.organization_id, "LATE")
        late.execute("COMMIT")  # the later transaction commits first
        # Restarted from its cursor while EARLY is still open: LATE, committed, must not be given yet.
        restarted = walk(housing, "housing", after=saved_cursor)
        assert [e["record"]["code"] for e in restarted] == ["BEFORE-1", "BEFORE-2"]
        consumer_kept += restarted
        saved_cursor = restarted[-1]["cursor"]
        early.execute("COMMIT")
    finally:
        early.close()
        late.close()
    consumer_kept += walk(housing, "housing", after=saved_cursor)
    codes = [e["record"]["code"] for e in consumer_kept]
    assert codes == ["BEFORE-0", "BEFORE-1", "BEFORE-2", "EARLY", "LATE"]
    assert len({e["id"] for e in consumer_kept}) == 5
    # A plain `id > cursor` would have skipped EARLY: its entry's id is below LATE's.
    early_id, late_id = (FeedEntry.objects.get(record__code=code).pk for code in ("EARLY", "LATE"))
    assert early_id < late_id


def test_entries_come_in_transaction_order_whatever_the_number_of_digits(departments):
    """Transaction 99 before transaction 100, although it wrote its entry later: (txid, id) order, never text."""
    at = timezone.now()
    common = {"feed": "housing", "kind": "station_added", "region_code": "371402", "occurred_at": at}
    later = FeedEntry.objects.create(txid=100, record={"code": "T-100"}, **common)
    earlier = FeedEntry.objects.create(txid=99, record={"code": "T-99"}, **common)
    assert earlier.pk > later.pk
    entries = walk(departments["housing"], "housing", page_size=1)
    assert [e["record"]["code"] for e in entries] == ["T-99", "T-100"]


def test_a_page_reads_a_fixed_number_of_queries_however_many_entries_it_holds(
    departments, django_assert_max_num_queries
):
    def entries(count: int, start: int) -> None:
        FeedEntry.objects.bulk_create(
            FeedEntry(
                txid=start + n,
                feed="housing",
                kind="station_added",
                region_code="371402",
                occurred_at=timezone.now(),
                record={"code": f"Q-{start + n}"},
            )
            for n in range(count)
        )

    housing = departments["housing"]
    entries(1, 10)
    with CaptureQueriesContext(connection) as small:
        assert len(read(housing, "housing").json()["results"]) == 1
    queries = len(small)  # now: the next request empties the connection's log
    entries(40, 20)
    with django_assert_max_num_queries(queries):
        body = read(housing, "housing").json()
    assert [e["record"]["code"] for e in body["results"]] == ["Q-10", *(f"Q-{n}" for n in range(20, 60))]

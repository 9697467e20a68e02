"""Bulk production (API.md "Production"): makers register what they produced, all or nothing, with the ledger."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import BatteryModel, Standard, VehicleModel
from catalog.standards import load_standards
from core.models import AuditEntry, OrganizationKind, User
from tests.catalog.factories import BatteryModelFactory, VehicleModelFactory
from tests.conftest import World, _member, api_client
from vehicles import production
from vehicles.codes import public_code_valid
from vehicles.ledger import OUTBOX_TOPIC, Verdict, chain_verify, event_append
from vehicles.models import Battery, EventType, LifecycleEvent, OutboxMessage, Vehicle

K = OrganizationKind
VEHICLES = "/api/v1/vehicles/bulk/"
BATTERIES = "/api/v1/batteries/bulk/"
DAY = "2025-06-01"
SHANGHAI = production.PRODUCTION_TZ


@dataclass
class Makers:
    world: World
    maker: User  # 德城区, frame numbers open with 3714
    other_maker: User  # 北仑区, frame numbers open with 3302
    battery_maker: User
    other_battery_maker: User
    model: VehicleModel
    other_model: VehicleModel
    battery_model: BatteryModel
    other_battery_model: BatteryModel


@pytest.fixture
def makers(world) -> Makers:
    maker = _member(K.MANUFACTURER, "371402", name="德州德骑电动车有限公司", enterprise_code="3714")
    other_maker = _member(K.MANUFACTURER, "330206", name="宁波北仑电动车有限公司", enterprise_code="3302")
    battery_maker = _member(K.BATTERY_MAKER, "371402", name="山东鲁电新能源电池有限公司")
    other_battery_maker = _member(K.BATTERY_MAKER, "330206", name="宁波甬电电池有限公司")
    return Makers(
        world=world,
        maker=maker,
        other_maker=other_maker,
        battery_maker=battery_maker,
        other_battery_maker=other_battery_maker,
        model=VehicleModelFactory(code="TDT-2024A", maker=maker.organization, compatible_battery_models=[]),
        other_model=VehicleModelFactory(code="NB-2024", maker=other_maker.organization, compatible_battery_models=[]),
        battery_model=BatteryModelFactory(code="LD-48V20AH", maker=battery_maker.organization),
        other_battery_model=BatteryModelFactory(code="YD-48V20AH", maker=other_battery_maker.organization),
    )


def frame(n: int, enterprise: str = "3714") -> str:
    return f"{enterprise}225{n:08d}"


def vehicle_items(start: int, count: int, **overrides) -> list[dict]:
    return [
        {"frame_no": frame(n), "motor_no": f"MT48{n:08d}", "produced_on": DAY, **overrides}
        for n in range(start, start + count)
    ]


def battery_items(start: int, count: int) -> list[dict]:
    return [{"serial": f"LD48V20AH{n:08d}", "produced_on": DAY} for n in range(start, start + count)]


def post(user: User | None, url: str, body, **headers):
    return api_client(user).post(url, body, format="json", **headers)


def written() -> tuple[int, int, int, int]:
    return (Vehicle.objects.count(), Battery.objects.count(), LifecycleEvent.objects.count(),
            OutboxMessage.objects.count())  # fmt: skip


# Happy paths ---------------------------------------------------------------------------------------------------


def test_manufacturer_registers_produced_vehicles_with_their_ledger(makers):
    maker = makers.maker.organization
    items = vehicle_items(1, 3)
    items[2]["produced_on"] = "2025-06-02"

    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": items})

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 3}
    vehicles = list(Vehicle.objects.filter(frame_no__in=[i["frame_no"] for i in items]).order_by("frame_no"))
    assert [v.frame_no for v in vehicles] == [i["frame_no"] for i in items]
    assert len({v.code for v in vehicles}) == 3
    for vehicle, item in zip(vehicles, items, strict=True):
        assert vehicle.status == Vehicle.Status.PRODUCED
        assert vehicle.holder_id == vehicle.manufacturer_id == maker.pk
        assert vehicle.model == makers.model and vehicle.region_id == "371402"
        assert vehicle.motor_no == item["motor_no"] and vehicle.produced_on.isoformat() == item["produced_on"]
        assert public_code_valid(vehicle.code)

        [event] = LifecycleEvent.objects.filter(vehicle=vehicle)
        assert (event.seq, event.type, event.prev_hash, event.battery_id) == (1, EventType.PRODUCED, "", None)
        assert event.occurred_at == dt.datetime.fromisoformat(item["produced_on"]).replace(tzinfo=SHANGHAI)
        assert event.organization_id == maker.pk and event.region_code == "371402"
        assert event.payload == {"model": "TDT-2024A", "motor_no": item["motor_no"]}
        assert (vehicle.ledger_seq, vehicle.ledger_head) == (1, event.hash)
        assert chain_verify(vehicle) == Verdict(valid=True, events=1, first_bad_seq=None)

        [message] = OutboxMessage.objects.filter(event_id=event.pk)
        assert message.topic == OUTBOX_TOPIC and message.published_at is None
        assert message.event_recorded_at == event.recorded_at
        assert message.payload == {
            "event_id": event.pk,
            "type": "produced",
            "vehicle_id": vehicle.pk,
            "battery_id": None,
            "region_code": "371402",
        }
    assert AuditEntry.objects.filter(action="vehicles.produced", actor=makers.maker, data__count=3).exists()


def test_the_chain_of_a_bulk_produced_vehicle_continues_with_event_append(makers):
    post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 1)})

    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(frame_no=frame(1))
        event_append(
            vehicle=vehicle,
            type=EventType.RECEIVED,
            occurred_at=timezone.now(),
            region_code="371402",
            organization_id=makers.world.org("dealer").pk,
        )

    assert chain_verify(Vehicle.objects.get(frame_no=frame(1))) == Verdict(valid=True, events=2, first_bad_seq=None)


def test_battery_maker_registers_produced_batteries_on_their_own_chains(makers):
    maker = makers.battery_maker.organization
    items = [{"serial": " ld48v20ah00000001 ", "produced_on": DAY}, {"serial": "LD48V20AH00000002", "produced_on": DAY}]

    response = post(makers.battery_maker, BATTERIES, {"model": "LD-48V20AH", "items": items})

    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2}
    batteries = list(Battery.objects.filter(maker=maker).order_by("serial"))
    assert [b.serial for b in batteries] == ["LD48V20AH00000001", "LD48V20AH00000002"]
    for battery in batteries:
        assert battery.status == Battery.Status.PRODUCED and battery.holder_id == maker.pk
        assert battery.vehicle_id is None and battery.region_id == "371402"
        assert public_code_valid(battery.code)
        [event] = LifecycleEvent.objects.filter(battery=battery)
        assert (event.seq, event.vehicle_id, event.payload) == (1, None, {"model": "LD-48V20AH"})
        assert battery.ledger_head == event.hash
        assert chain_verify(battery) == Verdict(valid=True, events=1, first_bad_seq=None)
        [message] = OutboxMessage.objects.filter(event_id=event.pk)
        assert message.payload["battery_id"] == battery.pk and message.payload["vehicle_id"] is None


def test_ten_thousand_vehicles_in_one_request(makers):
    before = written()

    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 10_000)})

    assert response.status_code == 201, response.content[:500]
    assert response.json() == {"created": 10_000}
    after = written()
    assert (after[0] - before[0], after[2] - before[2], after[3] - before[3]) == (10_000, 10_000, 10_000)
    assert Vehicle.objects.filter(manufacturer=makers.maker.organization).values("code").distinct().count() == 10_000
    for n in (1, 5_000, 10_000):
        assert chain_verify(Vehicle.objects.get(frame_no=frame(n))).valid


def test_ten_thousand_batteries_in_one_request(makers):
    response = post(makers.battery_maker, BATTERIES, {"model": "LD-48V20AH", "items": battery_items(1, 10_000)})

    assert response.status_code == 201, response.content[:500]
    assert Battery.objects.filter(maker=makers.battery_maker.organization).count() == 10_000


def test_a_maker_without_an_enterprise_code_may_use_any_well_formed_frame_no(makers):
    maker = _member(K.MANUFACTURER, "371403", enterprise_code="")
    VehicleModelFactory(code="LC-1", maker=maker.organization, compatible_battery_models=[])
    items = [{"frame_no": frame(1, "5555"), "motor_no": "M1", "produced_on": DAY}]

    assert post(maker, VEHICLES, {"model": "LC-1", "items": items}).status_code == 201


# All or nothing ------------------------------------------------------------------------------------------------


def test_bad_vehicle_rows_are_listed_by_index_and_nothing_is_written(makers):
    post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 1)})
    before = written()
    tomorrow = (timezone.localdate(timezone=SHANGHAI) + dt.timedelta(days=1)).isoformat()
    good = vehicle_items(2, 1)[0]
    items = [
        good,
        {**good, "frame_no": "12345"},
        {**good, "frame_no": frame(3, "3302")},
        {**good},  # the same frame number again
        {**good, "frame_no": frame(1)},
        {**good, "frame_no": frame(4), "produced_on": tomorrow},
        {**good, "frame_no": frame(5), "produced_on": "2025-02-30"},
        "371422500000006",
        {"frame_no": frame(7), "produced_on": DAY},
        {**good, "frame_no": "３７１４２２５００００００００８"},  # full-width digits
        {**good, "frame_no": "371429900000009"},  # made in 2099
        {**good, "frame_no": frame(10), "produced_on": "1999-12-31"},
        {**good, "frame_no": frame(11), "motor_no": "M\tX"},
    ]

    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": items})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_items"
    assert error["fields"] == {
        "items": {
            "1": ["malformed_frame_no"],
            "2": ["wrong_enterprise_code"],
            "3": ["duplicate_in_request"],
            "4": ["already_registered"],
            "5": ["future_date"],
            "6": ["malformed_produced_on"],
            "7": ["not_an_object"],
            "8": ["missing_motor_no"],
            "9": ["malformed_frame_no"],
            "10": ["future_year"],
            "11": ["date_too_early"],
            "12": ["malformed_motor_no"],
        }
    }
    assert "12" in error["message"]
    assert written() == before


def test_bad_battery_rows_are_listed_by_index_and_nothing_is_written(makers):
    post(makers.battery_maker, BATTERIES, {"model": "LD-48V20AH", "items": battery_items(1, 1)})
    before = written()
    items = [
        {"serial": "LD48V20AH00000002", "produced_on": DAY},
        {"serial": " ld48v20ah00000002", "produced_on": DAY},  # the same pack once normalised
        {"serial": "LD48V20AH00000001", "produced_on": DAY},
        {"serial": "ab", "produced_on": DAY},
        {"serial": 48200001, "produced_on": DAY},
        {"serial": "LD48V20AH00000003"},
        [],
        {"serial": "LD48V20AH/0004", "produced_on": "01/06/2025"},
    ]

    response = post(makers.battery_maker, BATTERIES, {"model": "LD-48V20AH", "items": items})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "items": {
            "1": ["duplicate_in_request"],
            "2": ["already_registered"],
            "3": ["malformed_serial"],
            "4": ["malformed_serial"],
            "5": ["missing_produced_on"],
            "6": ["not_an_object"],
            "7": ["malformed_serial", "malformed_produced_on"],
        }
    }
    assert written() == before


@pytest.mark.parametrize(
    ("who", "url", "items"), [("maker", VEHICLES, vehicle_items), ("battery_maker", BATTERIES, battery_items)]
)
def test_more_than_ten_thousand_items_are_refused(makers, who, url, items):
    model = "TDT-2024A" if url == VEHICLES else "LD-48V20AH"

    response = post(getattr(makers, who), url, {"model": model, "items": items(1, 10_001)})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_items"
    assert written()[:2] == (0, 0)


def test_an_empty_list_is_refused(makers):
    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_items"


@pytest.mark.parametrize(
    ("who", "url", "model"),
    [
        ("maker", VEHICLES, "NB-2024"),  # another maker's
        ("maker", VEHICLES, "NO-SUCH-MODEL"),
        ("maker", VEHICLES, "LD-48V20AH"),  # a battery model
        ("battery_maker", BATTERIES, "YD-48V20AH"),
        ("battery_maker", BATTERIES, "TDT-2024A"),
    ],
)
def test_a_model_that_is_not_the_callers_own_is_400_on_the_model_field(makers, who, url, model):
    items = vehicle_items(1, 1) if url == VEHICLES else battery_items(1, 1)

    response = post(getattr(makers, who), url, {"model": model, "items": items})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_model" and "model" in error["fields"]
    assert written()[:2] == (0, 0)


# Who may call --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("battery_maker", VEHICLES),
        ("dealer", VEHICLES),
        ("city_regulator", VEHICLES),
        ("police", VEHICLES),
        ("superuser", VEHICLES),
        ("maker", BATTERIES),
        ("other_dealer", BATTERIES),
        ("district_regulator", BATTERIES),
    ],
)
def test_other_kinds_of_organization_are_403(makers, who, url):
    user = getattr(makers, who, None) or getattr(makers.world, who)
    body = {"model": "TDT-2024A", "items": vehicle_items(1, 1)}
    if url == BATTERIES:
        body = {"model": "LD-48V20AH", "items": battery_items(1, 1)}

    response = post(user, url, body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert written()[:2] == (0, 0)


@pytest.mark.parametrize("url", [VEHICLES, BATTERIES])
def test_anonymous_is_401(makers, url):
    response = post(None, url, {"model": "TDT-2024A", "items": vehicle_items(1, 1)})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# Idempotency and concurrency ------------------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_answer_without_a_second_insert(makers):
    body = {"model": "TDT-2024A", "items": vehicle_items(1, 3)}

    first = post(makers.maker, VEHICLES, body, HTTP_IDEMPOTENCY_KEY="erp-batch-1")
    second = post(makers.maker, VEHICLES, body, HTTP_IDEMPOTENCY_KEY="erp-batch-1")

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() == {"created": 3}
    assert second["Idempotent-Replayed"] == "true"
    assert written() == (3, 0, 3, 3)


def test_the_same_idempotency_key_with_other_items_is_409(makers):
    post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 1)}, HTTP_IDEMPOTENCY_KEY="k")

    response = post(
        makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(2, 1)}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert written()[0] == 1


def test_a_frame_no_taken_after_the_check_is_409_already_registered(makers, monkeypatch):
    """The unique index is the last word: a row that slipped past the pre-check (a concurrent request) is a 409."""
    post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 1)})
    monkeypatch.setattr(production, "_flag_registered", lambda *args: None)
    before = written()

    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(2, 1) + vehicle_items(1, 1)})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_registered"
    assert error["fields"] == {"items": {"1": ["already_registered"]}}
    assert written() == before


def test_a_public_code_collision_is_drawn_again(makers, monkeypatch):
    post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(1, 1)})
    fresh = production.codes.public_code_new
    taken, unused = Vehicle.objects.get().code, fresh()
    draws = iter([taken, unused])
    monkeypatch.setattr(production.codes, "public_code_new", lambda: next(draws, None) or fresh())

    response = post(makers.maker, VEHICLES, {"model": "TDT-2024A", "items": vehicle_items(2, 1)})

    assert response.status_code == 201
    assert Vehicle.objects.get(frame_no=frame(2)).code == unused


@pytest.fixture
def _standards_back_after_flush(django_db_blocker):
    """A transactional test ends with a flush that also empties the standards loaded by migration."""
    yield
    with django_db_blocker.unblock():
        load_standards(Standard)


def test_concurrent_submissions_of_the_same_units_register_them_once(_standards_back_after_flush, transactional_db):
    maker = _member(K.MANUFACTURER, "371402", enterprise_code="3714")
    VehicleModelFactory(code="TDT-2024A", maker=maker.organization, compatible_battery_models=[])
    items = vehicle_items(1, 50)
    client = api_client(maker)
    held, release, results = threading.Event(), threading.Event(), []

    def first_request_holds_its_transaction():
        try:
            with transaction.atomic():
                production.vehicles_produce(actor=maker, model_code="TDT-2024A", items=items)
                held.set()
                release.wait(20)
        finally:
            connection.close()

    def second_request():
        try:
            response = client.post(VEHICLES, {"model": "TDT-2024A", "items": items}, format="json")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    first = threading.Thread(target=first_request_holds_its_transaction)
    first.start()
    assert held.wait(20)
    second = threading.Thread(target=second_request)
    second.start()
    # The second request passes the pre-check (the first has not committed) and waits on the unique index.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    release.set()
    first.join(20)
    second.join(20)

    [(status_code, body)] = results
    assert status_code == 409
    assert body["error"]["code"] == "already_registered"
    assert body["error"]["fields"] == {"items": {"0": ["already_registered"]}}
    assert Vehicle.objects.filter(manufacturer=maker.organization).count() == 50
    assert LifecycleEvent.objects.filter(vehicle__manufacturer=maker.organization).count() == 50


# Malformed input never 500 --------------------------------------------------------------------------------------

HUGE = "3" * 1_000_000
BAD_BODIES = [
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    "\ufeff{}".encode(),
    b"\xff\xfe\x00",
    {"items": []},
    {"model": None, "items": []},
    {"model": ["TDT-2024A"], "items": {}},
    {"model": "A\u0000B", "items": []},
    {"model": "M" * 100_000, "items": []},
    {"model": "{model}", "items": "not a list"},
    {"model": "{model}", "items": {"0": {"frame_no": "371422500000001"}}},
    {"model": "{model}", "items": None},
    {"model": "{model}", "items": [1, "x", None, [], True, 1.5]},
    {
        "model": "{model}",
        "items": [{"frame_no": 371422500000001, "serial": 12345678, "motor_no": 5, "produced_on": 20250601}],
    },
    {"model": "{model}", "items": [{"frame_no": None, "serial": None, "motor_no": None, "produced_on": None}]},
    *[
        {
            "model": "{model}",
            "items": [
                {"frame_no": "371422500000001", "serial": "LD48V20AH00000001", "motor_no": "M", "produced_on": day}
            ],
        }
        for day in [
            "2025-13-45",
            "25-06-01",
            "2025-06-01T00:00:00",
            "0001-01-01",
            "9999-12-31",
            "２０２５-０６-０１",
            HUGE,
        ]
    ],
    {"model": "{model}", "items": [{"frame_no": HUGE, "serial": HUGE, "motor_no": HUGE, "produced_on": DAY}]},
    {
        "model": "{model}",
        "items": [
            {
                "frame_no": "371422500000001\u0000",
                "serial": "LD48V20AH\u00000001",
                "motor_no": "M\u0000",
                "produced_on": DAY,
            }
        ],
    },
    {"model": "{model}", "items": [{"frame_no": {"a": 1}, "serial": ["x"], "motor_no": {}, "produced_on": []}]},
]


@pytest.mark.parametrize(
    "who,url,model", [("maker", VEHICLES, "TDT-2024A"), ("battery_maker", BATTERIES, "LD-48V20AH")]
)
@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_bodies_get_a_4xx_envelope_and_write_nothing(makers, who, url, model, body):
    if isinstance(body, dict):
        body = json.dumps({**body, "model": model} if body.get("model") == "{model}" else body).encode()

    response = api_client(getattr(makers, who)).post(url, body, content_type="application/json")

    assert 400 <= response.status_code < 500, response.content[:500]
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert written()[:2] == (0, 0)


def test_a_body_over_the_upload_limit_is_413_with_the_envelope(makers, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"model": "TDT-2024A", "items": vehicle_items(1, 20)}

    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "big"}):  # the idempotency fingerprint reads the body too
        response = post(makers.maker, VEHICLES, body, **headers)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
    assert written()[:2] == (0, 0)


def test_the_schema_describes_both_endpoints(db):
    paths = api_client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "post" in paths[VEHICLES] and "post" in paths[BATTERIES]

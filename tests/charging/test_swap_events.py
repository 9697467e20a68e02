"""Swaps in batches (POST /api/v1/swap-events/): each item recorded or refused by its index; every swap on its
batteries' ledgers as a `swapped` event, the chains still verifying; outsiders refused."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import AlertRequest
from charging.models import SwapEvent
from charging.swaps import MAX_ITEMS
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import LifecycleEvent, OutboxMessage

pytestmark = pytest.mark.django_db


def _swapped(**lookup):
    return LifecycleEvent.objects.filter(type="swapped", **lookup).order_by("seq")


def test_a_batch_is_recorded_item_by_item(cabinets):
    a, b, c, d = cabinets.pool(4)
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    items = [
        cabinets.item(a, b),  # 0: accepted
        {**cabinets.item(c, d), "station": cabinets.other_station.code},  # 1: another operator's cabinet
        {**cabinets.item(c, d), "station": cabinets.other_station.pk},  # 2: … named by its id
        cabinets.item("NOT A SERIAL", d),  # 3
        cabinets.item(c, d, occurred_at=future),  # 4
        cabinets.item(c, d, alarm="fire"),  # 5
        cabinets.item(c, d, temperature_c="hot"),  # 6
        cabinets.item(c, c),  # 7
        cabinets.item(None, None),  # 8
        "a swap",  # 9
        {**cabinets.item(c, d), "station": cabinets.station.pk},  # 10: accepted, the cabinet by its id
        cabinets.item(c, d, occurred_at="yesterday"),  # 11
    ]
    items.append(dict(items[10]))  # 12: the same swap twice in one batch

    response = cabinets.send(items)

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "accepted": 2,
        "rejected": [
            {"index": 1, "code": "unknown_station"},
            {"index": 2, "code": "unknown_station"},
            {"index": 3, "code": "malformed_serial"},
            {"index": 4, "code": "future_time"},
            {"index": 5, "code": "unknown_alarm"},
            {"index": 6, "code": "malformed_temperature"},
            {"index": 7, "code": "same_battery"},
            {"index": 8, "code": "missing_battery"},
            {"index": 9, "code": "not_an_object"},
            {"index": 11, "code": "malformed_occurred_at"},
            {"index": 12, "code": "duplicate_in_request"},
        ],
    }
    swaps = list(SwapEvent.objects.order_by("occurred_at"))
    assert [(s.battery_in_serial, s.battery_out_serial) for s in swaps] == [(a.serial, b.serial), (c.serial, d.serial)]
    assert {s.station_id for s in swaps} == {cabinets.station.pk}
    assert all(s.region_code == "371402" and s.operator_id == cabinets.operator.organization_id for s in swaps)
    assert swaps[0].battery_in_id == a.pk and swaps[0].temperature_c == pytest.approx(31.5)
    assert str(swaps[0].voltage_v) == "52.40" and swaps[0].alarm == "none"
    assert not SwapEvent.objects.filter(station=cabinets.other_station).exists()


def test_each_swap_lands_on_both_batteries_chains_and_they_verify(cabinets):
    a, b = cabinets.pool(2)
    vehicle, fitted = cabinets.bike()
    first, second = cabinets.item(a, b, temperature_c=36.2), cabinets.item(fitted, a, voltage_v=51.3)
    bike_events_before = vehicle.ledger_seq

    assert cabinets.send([second, first]).status_code == 201  # out of order: the chains follow the swaps' times

    swap_1, swap_2 = SwapEvent.objects.order_by("occurred_at")
    assert [(e.payload["swap"], e.payload["direction"]) for e in _swapped(battery=a)] == [
        (swap_1.pk, "in"),
        (swap_2.pk, "out"),
    ]
    into_b = _swapped(battery=b).get()
    assert into_b.vehicle_id is None and into_b.organization_id == cabinets.operator.organization_id
    assert into_b.region_code == "371402"
    assert into_b.payload == {
        "swap": swap_1.pk,
        "station": cabinets.station.pk,
        "direction": "out",
        "temperature_c": "36.2",
        "voltage_v": "52.40",
        "alarm": "none",
    }
    # A battery fitted in a bike: its event is on the bike's chain (docs/decisions/005).
    on_bike = _swapped(battery=fitted).get()
    assert on_bike.vehicle_id == vehicle.pk and on_bike.seq == bike_events_before + 1
    assert on_bike.payload["voltage_v"] == "51.30"
    for head in (a, b, fitted, vehicle):
        head.refresh_from_db()
        assert chain_verify(head).valid, head
    vehicle.refresh_from_db()
    assert vehicle.ledger_seq == bike_events_before + 1
    # Each event has its outbox message for the rule engine.
    events = set(_swapped().values_list("pk", flat=True))
    assert set(OutboxMessage.objects.filter(event_id__in=events).values_list("event_id", flat=True)) == events


def test_a_battery_unknown_to_the_platform_is_recorded_with_no_ledger_event(cabinets):
    (a,) = cabinets.pool(1)
    assert cabinets.send([cabinets.item("ZZ9900000001", a)]).json()["accepted"] == 1
    swap = SwapEvent.objects.get()
    assert swap.battery_in_id is None and swap.battery_in_serial == "ZZ9900000001"
    assert _swapped().count() == 1  # battery a's only
    assert AlertRequest.objects.filter(rule="PRODUCT_UNREGISTERED", battery_serial="ZZ9900000001").exists()


def test_a_batch_sent_again_records_nothing_twice(cabinets):
    a, b, c = cabinets.pool(3)
    items = [cabinets.item(a, b), cabinets.item(b, c)]
    assert cabinets.send(items).json() == {"accepted": 2, "rejected": []}

    again = cabinets.send([*items, cabinets.item(c, a)])

    assert again.json() == {
        "accepted": 1,
        "rejected": [{"index": 0, "code": "already_recorded"}, {"index": 1, "code": "already_recorded"}],
    }
    assert SwapEvent.objects.count() == 3 and _swapped().count() == 6
    b.refresh_from_db()
    assert chain_verify(b).valid and b.ledger_seq == 3  # produced, then in and out once each


def test_an_idempotency_key_replays_the_first_answer(cabinets):
    a, b = cabinets.pool(2)
    items = [cabinets.item(a, b)]
    first = cabinets.send(items, HTTP_IDEMPOTENCY_KEY="batch-1")
    replay = cabinets.send(items, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert replay.status_code == 201 and replay.json() == first.json() == {"accepted": 1, "rejected": []}
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert SwapEvent.objects.count() == 1


def test_a_batch_holds_at_most_5000_swaps(cabinets):
    (a,) = cabinets.pool(1)
    too_many = [cabinets.item(a, f"XX{n:010d}") for n in range(MAX_ITEMS + 1)]
    response = cabinets.send(too_many)
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_items"
    empty = cabinets.send([])
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "no_items"
    not_a_list = api_client(cabinets.operator).post("/api/v1/swap-events/", {"items": "many"}, format="json")
    assert not_a_list.status_code == 400
    assert not SwapEvent.objects.exists()


def test_a_full_batch_of_5000_is_accepted(cabinets):
    pool = cabinets.pool(20)
    items = [cabinets.item(pool[n % 20], pool[(n + 1) % 20]) for n in range(MAX_ITEMS)]
    assert cabinets.send(items).json() == {"accepted": MAX_ITEMS, "rejected": []}
    assert _swapped().count() == 2 * MAX_ITEMS
    for battery in pool:
        battery.refresh_from_db()
        assert battery.ledger_seq == 1 + 500 and chain_verify(battery).valid


def test_a_batch_costs_the_same_statements_whatever_its_size(cabinets):
    """The fast path (charging/swaps.py): stations, swaps recorded before, locks, models, COPY and one UPDATE per
    head table, the alert requests: a batch of 40 swaps with alarms, an unknown battery and a bike's battery is
    written in as many statements as a batch of 2."""
    _vehicle, fitted = cabinets.bike()
    counted = []
    for size in (2, 40):
        pool = cabinets.pool(size)
        items = [cabinets.item(pool[n], pool[n - 1], alarm="smoke" if n % 3 == 0 else "none") for n in range(size)]
        items.append(cabinets.item(f"ZZ99000000{size:02d}", fitted))
        with CaptureQueriesContext(connection) as queries:
            assert cabinets.send(items).json() == {"accepted": size + 1, "rejected": []}
        counted.append(len(queries.captured_queries))
    assert counted[0] == counted[1]
    assert SwapEvent.objects.exclude(alarm="none").count() == 1 + 14


def test_only_a_charging_operator_reports_swaps(cabinets):
    a, b = cabinets.pool(2)
    items = [{**cabinets.item(a, b), "station": cabinets.station.pk}]
    world = cabinets.world
    for outsider in (world.dealer, world.district_regulator, cabinets.fire):
        response = cabinets.send(items, user=outsider)
        assert response.status_code == 403, outsider
    assert api_client().post("/api/v1/swap-events/", {"items": items}, format="json").status_code == 401
    # Another operator may not report swaps of this operator's cabinet, by its id or by its code.
    other = cabinets.send([*items, cabinets.item(a, b)], user=cabinets.other_operator)
    assert other.json() == {
        "accepted": 0,
        "rejected": [{"index": 0, "code": "unknown_station"}, {"index": 1, "code": "unknown_station"}],
    }
    assert not SwapEvent.objects.exists() and not _swapped().exists()

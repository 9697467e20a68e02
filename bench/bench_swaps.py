"""Swap batches through the API beside a raw COPY of the same rows, and a cabinet's thermal alarm → the fire
department's inbox with a real worker (API.md "More of the chain": charging and swap operators).

    .venv/bin/python bench/bench_swaps.py [--server-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database ebike_swaps_scratch] [--redis-url redis://127.0.0.1:6379/9] [--batteries 300000]
        [--rounds 5] [--items 5000] [--rate 50] [--seconds 30] [--senders 4] [--keep]

It creates a scratch database on the server (`--database`, dropped at the end unless `--keep`; an existing one of
that name is dropped first), migrates it, and writes with COPY a battery maker's `--batteries` packs (a fifth of
them fitted in bikes, whose chains then hold their events), a charging operator with 200 cabinets in the
districts of 德州, the regulators and the fire brigade of 德州.

1. Throughput. Batches of `--items` swaps, each swap two batteries drawn at random from the pool (every battery at
   most once a batch: 2 × items chains moved), through the whole WSGI stack in-process (Django's test client:
   middleware, bearer token, DRF parsing, the idempotency decorator, checks, locks, hashing, the COPYs, the heads'
   UPDATEs, commit). Baseline: the floor of the same database work, the same kind of rows (the swaps, their
   `swapped` events with their hashes, the outbox messages), prepared in memory beforehand on a separate part of
   the pool, written by plain psycopg with three COPYs in one transaction (no locks, no head moved). API and
   baseline rounds alternate; the first round of each warms up and is not counted.
2. Latency. A real `celery -A config worker` (solo pool) on `--redis-url`; this process reports one alarm per
   request (a batch of one swap with `alarm` set, each about another battery, so each raises its own alert), open
   loop at `--rate` per second for `--seconds`, from `--senders` threads (many cabinets report at once; each
   alarm is sent when due by the first sender free). A poller thread on its own connection runs the fire department's
   scoped inbox query (alerts.selectors.alerts_visible_to for the 德州 fire brigade) every 10 ms and records, per
   alarm, the time from the request's scheduled send to the first answer that shows its alert. Baseline, with the
   same worker and poller: an alert row and its delivery to the fire brigade inserted by hand in one transaction
   at the same rate (visible at commit: what polling itself adds). Target p99 ≤ 2 s.

The throughput rounds' outbox messages are marked published before the worker starts (their `swapped` events
concern no rule), so the worker drains only the alarms. The Redis database's `celery` list is emptied first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.httpbench import machine, ms, percentile

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "ebike_swaps_scratch"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
FITTED_SHARE = 5  # one battery in this many is fitted in a bike
STATIONS = 200
THERMAL = "BATTERY_THERMAL_RISK"


def pcts(values: list[float]) -> str:
    return " / ".join(ms(percentile(values, p)) for p in (50, 95, 99))


# The scratch database -------------------------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def scratch_create(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def scratch_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _text(rows) -> bytes:
    """COPY text format; the values here need no escaping (JSON without tabs, backslashes or newlines)."""
    return "".join("\t".join(r"\N" if v is None else str(v) for v in row) + "\n" for row in rows).encode()


def _ids(conn, table: str, count: int) -> list[int]:
    rows = conn.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
    ).fetchall()
    return [row[0] for row in rows]


def _copy(conn, table: str, columns: str, data: bytes) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(data)


EVENT_COLUMNS = "id, recorded_at, occurred_at, vehicle_id, battery_id, seq, type, organization_id, region_code, "
EVENT_COLUMNS += "payload, prev_hash, hash"
SWAP_COLUMNS = "id, station_id, operator_id, region_code, battery_in_serial, battery_out_serial, battery_in_id, "
SWAP_COLUMNS += "battery_out_id, occurred_at, temperature_c, voltage_v, alarm, received_at"
OUTBOX_COLUMNS = "event_id, event_recorded_at, topic, payload, created_at"


class World:
    """What the runs need: the operator and its token, the cabinets, the pool, the fire brigade's user."""

    def __init__(self, conn, batteries: int):
        from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
        from charging.models import SwapStation
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User
        from core.tokens import token_issue

        K = OrganizationKind
        started = time.perf_counter()
        city = Region.objects.get(code="371400")
        districts = list(Region.objects.filter(parent=city).order_by("code"))

        def org(kind, region, name, n, **extra):
            return Organization.objects.create(
                name=name, kind=kind, region_id=region, uscc=make_uscc(f"91{region}BW{n:07d}"), **extra
            )

        self.regulators = [org(K.REGULATOR, "371400", "德州市市场监督管理局", 1)]
        self.regulators += [
            org(K.REGULATOR, d.code, f"{d.name}市场监督管理局", 10 + i) for i, d in enumerate(districts)
        ]
        fire = org(K.FIRE, "371400", "德州市消防救援支队", 2)
        self.operator = org(K.CHARGING_OPERATOR, "371402", "基准换电运营有限公司", 3)
        self.battery_maker = org(K.BATTERY_MAKER, "371402", "基准电池有限公司", 4)
        self.maker = org(K.MANUFACTURER, "371402", "基准车业有限公司", 5, enterprise_code="9402")
        self.fire_user = User.objects.create(username="bench_fire", organization=fire, role=User.Role.STAFF)
        operator_user = User.objects.create(username="bench_operator", organization=self.operator, role="admin")
        self.token = token_issue(user=operator_user)
        certified = {"ccc_cert_no": "2024011119000001", "ccc_valid_until": dt.date(2030, 12, 31)}
        battery_model = BatteryModel.objects.create(
            code="BENCH-SWAP-B",
            name="基准换电电池",
            maker=self.battery_maker,
            chemistry=Chemistry.LITHIUM_ION,
            nominal_voltage_v=48,
            capacity_ah=20,
            **certified,
        )
        vehicle_model = VehicleModel.objects.create(
            code="BENCH-SWAP-V",
            name="基准车型",
            maker=self.maker,
            standard=Standard.objects.get(code="GB17761-2024"),
            max_speed_kmh=25,
            mass_kg=50,
            nominal_voltage_v=48,
            motor_power_w=350,
            **certified,
        )
        vehicle_model.compatible_battery_models.add(battery_model)
        self.stations = [
            SwapStation.objects.create(
                operator=self.operator,
                code=f"SB-{n:04d}",
                name=f"基准换电柜 {n}",
                region=districts[n % len(districts)],
                address=f"{districts[n % len(districts)].name} {n} 号",
            )
            for n in range(STATIONS)
        ]
        self.serials = self._pool(conn, batteries, battery_model.pk, vehicle_model.pk)
        for table in ("vehicles_battery", "vehicles_vehicle", "vehicles_lifecycleevent", "charging_swapevent"):
            conn.execute(f"VACUUM ANALYZE {table}")
        print(
            f"  world: {len(self.serials):,} batteries ({len(self.serials) // FITTED_SHARE:,} fitted in bikes), "
            f"{STATIONS} cabinets in {len(districts)} districts, written in {time.perf_counter() - started:.0f}s",
            flush=True,
        )

    def _pool(self, conn, count: int, battery_model: int, vehicle_model: int) -> list[str]:
        """The batteries, each with its `produced` event; every fifth fitted in a bike whose chain holds its
        `produced` and `battery_fitted` events (hashed like the ledger's)."""
        from django.utils import timezone

        from vehicles.codes import public_code_new
        from vehicles.ledger import canonical, event_hash

        now = timezone.now()
        produced = now - dt.timedelta(days=90)
        region = "371402"
        serials = [f"SB48V{n:09d}" for n in range(count)]
        battery_ids = _ids(conn, "vehicles_battery", count)
        bikes = count // FITTED_SHARE
        vehicle_ids = _ids(conn, "vehicles_vehicle", bikes)
        event_ids = iter(_ids(conn, "vehicles_lifecycleevent", count + 2 * bikes))
        vehicles, batteries, events = [], [], []
        for n, vehicle_id in enumerate(vehicle_ids):
            frame_no = f"94022250{n:07d}"
            first = event_hash(
                prev_hash="",
                seq=1,
                type="produced",
                occurred_at=produced,
                frame_no=frame_no,
                serial=None,
                organization_id=self.maker.pk,
                region_code=region,
                payload={},
            )
            fitted_payload = {"fitted_by": self.maker.pk}
            second = event_hash(
                prev_hash=first,
                seq=2,
                type="battery_fitted",
                occurred_at=produced,
                frame_no=frame_no,
                serial=serials[n * FITTED_SHARE],
                organization_id=self.maker.pk,
                region_code=region,
                payload=fitted_payload,
            )
            maker = self.maker.pk
            vehicles.append(
                (
                    *(vehicle_id, frame_no, f"M{n}", vehicle_model, maker, produced.date(), public_code_new()),
                    *("in_stock", maker, region, 2, second, now, now),
                )
            )
            battery_id = battery_ids[n * FITTED_SHARE]
            events.append(
                (next(event_ids), now, produced, vehicle_id, None, 1, "produced", maker, region, "{}", "", first)
            )
            events.append(
                (
                    *(next(event_ids), now, produced, vehicle_id, battery_id, 2, "battery_fitted", maker, region),
                    *(canonical(fitted_payload), first, second),
                )
            )
        battery_maker = self.battery_maker.pk
        for n, (battery_id, serial) in enumerate(zip(battery_ids, serials, strict=True)):
            digest = event_hash(
                prev_hash="",
                seq=1,
                type="produced",
                occurred_at=produced,
                frame_no=None,
                serial=serial,
                organization_id=battery_maker,
                region_code=region,
                payload={},
            )
            fitted = n % FITTED_SHARE == 0 and n // FITTED_SHARE < bikes
            vehicle_id = vehicle_ids[n // FITTED_SHARE] if fitted else None
            status, holder = ("fitted", None) if fitted else ("in_stock", self.operator.pk)
            batteries.append(
                (
                    *(battery_id, serial, battery_model, battery_maker, produced.date(), public_code_new()),
                    *(status, holder, vehicle_id, region, 1, digest, now, now),
                )
            )
            events.append(
                (
                    next(event_ids),
                    now,
                    produced,
                    None,
                    battery_id,
                    1,
                    "produced",
                    battery_maker,
                    region,
                    "{}",
                    "",
                    digest,
                )
            )
        with conn.transaction():
            _copy(
                conn,
                "vehicles_vehicle",
                "id, frame_no, motor_no, model_id, manufacturer_id, produced_on, code, status, holder_id, region_id, "
                "ledger_seq, ledger_head, created_at, updated_at",
                _text(vehicles),
            )
            _copy(
                conn,
                "vehicles_battery",
                "id, serial, model_id, maker_id, produced_on, code, status, holder_id, vehicle_id, region_id, "
                "ledger_seq, ledger_head, created_at, updated_at",
                _text(batteries),
            )
            _copy(conn, "vehicles_lifecycleevent", EVENT_COLUMNS, _text(events))
        return serials


# 1. Throughput ------------------------------------------------------------------------------------------------


def batch_items(world: World, rng: random.Random, serials: list[str], count: int) -> list[dict]:
    from django.utils import timezone

    drawn = rng.sample(serials, 2 * count)
    start = timezone.now() - dt.timedelta(hours=20)
    return [
        {
            "station": world.stations[rng.randrange(STATIONS)].code,
            "battery_in": drawn[2 * n],
            "battery_out": drawn[2 * n + 1],
            "occurred_at": (start + dt.timedelta(seconds=rng.randrange(0, 19 * 3600), microseconds=n)).isoformat(),
            "temperature_c": rng.randrange(200, 400) / 10,
            "voltage_v": f"{rng.randrange(4900, 5400) / 100:.2f}",
            "alarm": "none",
        }
        for n in range(count)
    ]


def api_batch(client, world: World, items: list[dict]) -> float:
    body = json.dumps({"items": items}).encode()
    started = time.perf_counter()
    response = client.post(
        "/api/v1/swap-events/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world.token}"
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201 or response.json()["accepted"] != len(items):
        raise SystemExit(f"swap batch: {response.status_code} {response.content[:500]!r}")
    return elapsed


def raw_prepare(conn, world: World, items: list[dict], ids: dict[str, int]) -> list[tuple[str, str, bytes]]:
    """The rows the API writes for these items, prepared in memory: swap rows, one `swapped` event per battery
    (hashed onto the battery's chain head as it stands) and its outbox message."""
    from django.utils import timezone

    from vehicles.ledger import OUTBOX_TOPIC, canonical, event_hash

    stations = {s.code: s for s in world.stations}
    heads = {
        serial: (seq, head)
        for serial, seq, head in conn.execute(
            "SELECT serial, ledger_seq, ledger_head FROM vehicles_battery WHERE serial = ANY(%s)",
            [[s for item in items for s in (item["battery_in"], item["battery_out"])]],
        )
    }
    now = timezone.now().isoformat()
    swap_ids = _ids(conn, "charging_swapevent", len(items))
    event_ids = iter(_ids(conn, "vehicles_lifecycleevent", 2 * len(items)))
    swaps, events, outbox = [], [], []
    for swap_id, item in zip(swap_ids, items, strict=True):
        station = stations[item["station"]]
        at = dt.datetime.fromisoformat(item["occurred_at"])
        battery_in, battery_out = item["battery_in"], item["battery_out"]
        swaps.append(
            (
                *(swap_id, station.pk, world.operator.pk, station.region_id, battery_in, battery_out),
                *(ids[battery_in], ids[battery_out], at.isoformat(), item["temperature_c"], item["voltage_v"]),
                *("none", now),
            )
        )
        for direction, serial in (("in", item["battery_in"]), ("out", item["battery_out"])):
            payload = {
                "swap": swap_id,
                "station": station.pk,
                "temperature_c": str(item["temperature_c"]),
                "voltage_v": item["voltage_v"],
                "alarm": "none",
                "direction": direction,
            }
            seq, prev = heads[serial]
            digest = event_hash(
                prev_hash=prev,
                seq=seq + 1,
                type="swapped",
                occurred_at=at,
                frame_no=None,
                serial=serial,
                organization_id=world.operator.pk,
                region_code=station.region_id,
                payload=payload,
            )
            event_id = next(event_ids)
            region = station.region_id
            events.append(
                (
                    *(event_id, now, at.isoformat(), None, ids[serial], seq + 1, "swapped", world.operator.pk),
                    *(region, canonical(payload), prev, digest),
                )
            )
            message = (
                f'{{"event_id": {event_id}, "type": "swapped", "vehicle_id": null, "battery_id": {ids[serial]}, '
                f'"region_code": "{region}"}}'
            )
            outbox.append((event_id, now, OUTBOX_TOPIC, message, now))
    return [
        ("charging_swapevent", SWAP_COLUMNS, _text(swaps)),
        ("vehicles_lifecycleevent", EVENT_COLUMNS, _text(events)),
        ("vehicles_outboxmessage", OUTBOX_COLUMNS, _text(outbox)),
    ]


def raw_copy(conn, parts: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    with conn.transaction():
        for table, columns, data in parts:
            _copy(conn, table, columns, data)
    return time.perf_counter() - started


def phase_throughput(conn, world: World, args) -> dict:
    from django.test import Client

    rng = random.Random(2026)
    half, quarter = len(world.serials) // 2, 3 * len(world.serials) // 4
    api_serials = world.serials[:half]
    # The baseline's batteries are unfitted ones of the third quarter: its rows go on their own chains.
    raw_serials = [s for n, s in enumerate(world.serials) if half <= n < quarter and n % FITTED_SHARE]
    ids = dict(conn.execute("SELECT serial, id FROM vehicles_battery WHERE serial = ANY(%s)", [raw_serials]))
    client = Client()
    api, raw = [], []
    for round_no in range(args.rounds + 1):
        api_time = api_batch(client, world, batch_items(world, rng, api_serials, args.items))
        parts = raw_prepare(conn, world, batch_items(world, rng, raw_serials, args.items), ids)
        raw_time = raw_copy(conn, parts)
        if round_no:
            api.append(api_time)
            raw.append(raw_time)
            print(
                f"  round {round_no}: API {args.items / api_time:8,.0f} swaps/s ({api_time:.3f}s)   "
                f"raw COPY {args.items / raw_time:8,.0f} swaps/s ({raw_time:.3f}s)",
                flush=True,
            )
    return {"api": api, "raw": raw, "touched": api_serials}


def chains_check(world: World, serials: list[str], sample: int = 200) -> tuple[int, int]:
    """Verify the chains of a sample of the batteries the API moved (and of the bikes holding them)."""
    from vehicles.ledger import chain_verify
    from vehicles.models import Battery

    rng = random.Random(7)
    checked = bad = 0
    for battery in Battery.objects.filter(serial__in=rng.sample(serials, sample)).select_related("vehicle"):
        head = battery.vehicle or battery
        checked += 1
        bad += not chain_verify(head).valid
    return checked, bad


# 2. Latency ---------------------------------------------------------------------------------------------------


class Poller(threading.Thread):
    """Polls the fire brigade's scoped inbox for the thermal alerts of the batteries waiting; records send →
    visible."""

    def __init__(self, user, interval: float):
        super().__init__(daemon=True)
        self.user, self.interval = user, interval
        self.pending: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.query_times: list[float] = []
        self.lock, self.done = threading.Lock(), threading.Event()
        self.error: BaseException | None = None

    def add(self, serial: str, sent: float) -> None:
        with self.lock:
            self.pending[serial] = sent

    def waiting(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self) -> None:
        from django.db import connection

        from alerts.selectors import alerts_visible_to

        try:
            while not self.done.is_set():
                with self.lock:
                    serials = list(self.pending)
                if serials:
                    started = time.perf_counter()
                    visible = alerts_visible_to(self.user).filter(rule=THERMAL, battery_serial__in=serials)
                    found = list(visible.values_list("battery_serial", flat=True))
                    answered = time.perf_counter()
                    self.query_times.append(answered - started)
                    with self.lock:
                        for serial in found:
                            sent = self.pending.pop(serial, None)
                            if sent is not None:
                                self.seen[serial] = answered - sent
                time.sleep(self.interval)
        except BaseException as error:  # reported by the main thread
            self.error = error
        finally:
            connection.close()


BASELINE_ALERT = """
WITH alert AS (
    INSERT INTO alerts_alert (rule, category, severity, status, region_code, regulator_id, organization_id,
        frame_no, battery_serial, evidence, dedup_key, event_at, created_at, dispatched_at, dispatch_due_at, due_at,
        escalation_level)
    VALUES ('BATTERY_THERMAL_RISK', 'battery', 'high', 'dispatched', %(region)s, %(regulator)s, %(operator)s, '',
        %(serial)s, '{"alarm": "smoke"}', %(key)s, now(), now(), now(), now() + interval '10 minutes',
        now() + interval '3 days', 0)
    RETURNING id)
INSERT INTO alerts_alertdelivery (alert_id, organization_id, reason, delivered_at)
SELECT id, %(fire)s, 'department', now() FROM alert
"""


def phase_latency(conn, world: World, args) -> dict:
    import redis
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from bench.bench_alerts import Worker

    conn.execute("UPDATE vehicles_outboxmessage SET published_at = now() WHERE published_at IS NULL")
    conn.execute("VACUUM ANALYZE vehicles_outboxmessage")
    redis.Redis.from_url(args.redis_url).delete("celery")
    warmup = 10
    count = int(args.rate * args.seconds)
    # The last quarter of the pool, unfitted ones: neither phase 1 touched them. Each raises its own alert.
    quarter = 3 * len(world.serials) // 4
    subjects = iter(s for n, s in enumerate(world.serials) if n >= quarter and n % FITTED_SHARE)
    poller = Poller(world.fire_user, 0.01)
    poller.start()
    log = Path(tempfile.gettempdir()) / f"bench_swaps_worker_{os.getpid()}.log"
    url = database_url(args.server_url, args.database)
    results = {}
    try:
        with Worker(f"{url}?application_name=bench_swaps_worker", args.redis_url, "solo", 1, log, "config"):

            def send(client, i: int, serial: str, baseline: bool) -> None:
                if baseline:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            BASELINE_ALERT,
                            {
                                "region": "371402",
                                "regulator": world.regulators[0].pk,
                                "operator": world.operator.pk,
                                "serial": serial,
                                "key": f"BENCH-SWAPS:{serial}",
                                "fire": world.fire_user.organization_id,
                            },
                        )
                    return
                item = {
                    "station": world.stations[i % STATIONS].code,
                    "battery_in": serial,
                    "battery_out": None,
                    "occurred_at": timezone.now().isoformat(),
                    "temperature_c": 78.5,
                    "voltage_v": "53.20",
                    "alarm": "over_temperature",
                }
                api_batch(client, world, [item])

            def alarms(n: int, label: str, baseline: bool) -> list[float]:
                """`n` alarms open loop at the rate, each sent when due by the first of the senders free."""
                serials = [next(subjects) for _ in range(n)]
                jobs: queue.Queue = queue.Queue()
                requests, lags, lock = [], [], threading.Lock()
                started = time.perf_counter() + 0.1
                for i, serial in enumerate(serials):
                    jobs.put((i, serial, started + i / args.rate))

                def sender() -> None:
                    client = Client()
                    try:
                        while True:
                            try:
                                i, serial, scheduled = jobs.get_nowait()
                            except queue.Empty:
                                return
                            pause = scheduled - time.perf_counter()
                            if pause > 0:
                                time.sleep(pause)
                            poller.add(serial, scheduled)
                            sent = time.perf_counter()
                            send(client, i, serial, baseline)
                            with lock:
                                requests.append(time.perf_counter() - sent)
                                lags.append(max(0.0, sent - scheduled))
                    finally:
                        connection.close()

                threads = [threading.Thread(target=sender) for _ in range(args.senders)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                written = time.perf_counter() - started
                deadline = time.perf_counter() + 30
                while poller.waiting() and time.perf_counter() < deadline:
                    time.sleep(0.05)
                latencies = [poller.seen.get(s, float("inf")) for s in serials]
                missing = sum(1 for s in serials if s not in poller.seen)
                print(
                    f"  {label:9s} {n:5,d} alarms in {written:5.1f}s ({n / written:5.1f}/s): sent → in the fire "
                    f"brigade's inbox p50/p95/p99 {pcts(latencies)} ms; request p50/p95/p99 {pcts(requests)} ms, "
                    f"sent late by up to {ms(max(lags))} ms; missing {missing}",
                    flush=True,
                )
                return latencies

            alarms(warmup, "warm-up", False)
            results["engine"] = alarms(count, "engine", False)
            results["baseline"] = alarms(count, "baseline", True)
    finally:
        poller.done.set()
        poller.join(10)
    if poller.error:
        raise poller.error
    results["poll"] = poller.query_times
    return results


# Main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="a database of the server, to create it")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="the scratch database's name")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--batteries", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--senders", type=int, default=4, help="threads reporting alarms (operators, cabinets)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    print(machine(), flush=True)
    scratch_create(args.server_url, args.database)
    try:
        os.environ["REDIS_URL"] = args.redis_url
        from bench.environment import django_setup, psycopg_connect

        started = time.perf_counter()
        django_setup(database_url(args.server_url, args.database))
        print(f"  scratch database {args.database} migrated in {time.perf_counter() - started:.0f}s", flush=True)
        from django.db import connection

        conn = psycopg_connect(autocommit=True)
        world = World(conn, args.batteries)
        server = conn.execute("SHOW server_version").fetchone()[0]

        print("1. Throughput", flush=True)
        throughput = phase_throughput(conn, world, args)
        checked, bad = chains_check(world, throughput["touched"])
        print("2. Latency", flush=True)
        latency = phase_latency(conn, world, args)
        conn.close()
        connection.close()
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            scratch_drop(args.server_url, args.database)

    api, raw = statistics.median(throughput["api"]), statistics.median(throughput["raw"])
    print()
    print(f"Swap batches of {args.items:,}, median of {args.rounds} rounds; PostgreSQL {server}")
    print(f"{args.batteries:,} batteries, a fifth of them fitted in bikes")
    print("API through Django's in-process test client (full WSGI stack, no network); a swap is its row, two")
    print("`swapped` events and their outbox messages: 5 rows (the API also locks and moves 2 chain heads).")
    print(f"{'':10s}{'swaps/s':>10s}{'events/s':>10s}{'s/batch':>9s}")
    print(f"{'API':10s}{args.items / api:10,.0f}{2 * args.items / api:10,.0f}{api:9.3f}")
    print(f"{'raw COPY':10s}{args.items / raw:10,.0f}{2 * args.items / raw:10,.0f}{raw:9.3f}")
    ratio = raw / api
    print(
        f"API / raw COPY: {ratio:.0%} (target ≥ 25%: {'met' if ratio >= 0.25 else 'MISSED'}); "
        f"≥ 5,000 swaps/s: {'met' if args.items / api >= 5000 else 'MISSED'}"
    )
    print(f"chains verified after the runs: {checked - bad} of {checked} sampled (bikes' chains for fitted batteries)")
    engine, baseline = latency["engine"], latency["baseline"]
    print()
    print(f"Thermal alarm → the fire brigade's inbox at {args.rate:g} alarms/s (celery worker, solo pool; poll 10 ms)")
    print(f"{'':30s}{'alarms':>8s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}{'max ms':>9s}")
    for label, values in (("engine (API → worker)", engine), ("baseline (alert inserted)", baseline)):
        print(
            f"{label:30s}{len(values):8,d}{ms(percentile(values, 50)):>9s}{ms(percentile(values, 95)):>9s}"
            f"{ms(percentile(values, 99)):>9s}{ms(max(values)):>9s}"
        )
    p99 = percentile(engine, 99)
    print(f"p99 ≤ 2 s: {'met' if p99 <= 2 else 'MISSED'}; poll query p50 {ms(percentile(latency['poll'], 50))} ms")
    print(f"scratch database {'kept' if args.keep else 'dropped'}: {args.database}")


if __name__ == "__main__":
    main()

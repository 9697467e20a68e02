"""Sale registration (卖车即备案) over HTTP through real gunicorn, beside the same database work in plain psycopg.

    .venv/bin/python bench/bench_sales.py [--database-url URL] [--workers 4] [--threads 1] [--clients 8]
                                          [--seconds 10] [--rounds 2] [--rate 50,10] [--latency-seconds 20]
                                          [--profile 200]

What it does, against a database loaded by bench/generate.py (1,000,000 bikes by default):
1. Stock: a bench maker, battery maker, certified models (the battery model in the bike model's 标配) and a bench
   dealer with a user and a Bearer token, through the ORM; then N bikes and N batteries in that dealer's stock,
   with their `produced` and `received` events hash-chained exactly as vehicles.ledger writes them, by COPY.
2. gunicorn (`gunicorn config.wsgi`, sync workers by default) on a free port of 127.0.0.1.
3. Throughput: `--clients` threads, each posting its next distinct sale (`POST /api/v1/sales/` with an
   Idempotency-Key) as soon as the previous one answered; and the baseline with the same number of threads,
   each on its own psycopg connection, doing the same database work in hand-written SQL. API and baseline
   alternate for `--rounds` rounds of `--seconds` each, so noise on this shared machine hits both.
4. Latency: sales sent on a fixed schedule (`--rate` per second, open loop; 50/s, then 10/s by default) for
   `--latency-seconds`: p50, p95, p99, counted from the scheduled send time. The baseline gets the same schedule
   for half as long.
5. A sample of the sold bikes' hash chains is verified, the API's and the baseline's.
6. With `--profile N`: N more sales in-process (Django's test client, no gunicorn): wall time, Python CPU and
   PostgreSQL CPU per sale, the same for `GET /api/v1/me/` (the floor of any API request), the statements of one
   sale, and a cProfile (CPU clock) of the rest, to show where a request's time goes.

The baseline, per sale, in one transaction (10 statements and the commit): lock the bike (joined to its model
and standard) and the batteries (joined to their model, with the 标配 check), check stock and certificates;
upsert the owner (ID number and phone hashed, personal data encrypted, as the API does); insert the registration
and the fitment; insert the three ledger events (hashes computed by vehicles.ledger.event_hash) and their outbox
rows in one statement; update the bike and the batteries (state and chain head); insert the sale and the
idempotency key row.

Each run adds a maker, a dealer and their stock: point it at a bench database, not real data.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import pstats
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.httpbench import (
    REDIS_URL,
    CpuMeter,
    Gunicorn,
    HttpClient,
    Pool,
    analyze,
    closed_loop,
    load_average,
    machine,
    ms,
    open_loop,
    percentile,
    tagged,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEALER_REGION = "371402"
BUYER_REGIONS = ("371402", "371402", "371402", "371402", "371403", "371422", "371481")
NAMES = [s + g for s in "王李张刘陈杨黄赵吴周" for g in ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰")]


# Stock: a dealer with bikes and batteries ready to sell ---------------------------------------------------------


class World:
    """A maker, a battery maker, certified compatible models, a dealer with a user and a token (ORM)."""

    def __init__(self):
        from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User
        from core.tokens import token_issue

        self.tag = secrets.token_hex(3).upper()
        used = set(Organization.objects.exclude(enterprise_code="").values_list("enterprise_code", flat=True))
        self.enterprise_code = random.choice([c for c in (f"{n:04d}" for n in range(1000, 10000)) if c not in used])
        region = Region.objects.get(code=DEALER_REGION)
        kinds = OrganizationKind

        def org(kind, name, suffix, **extra):
            uscc = make_uscc(f"91{DEALER_REGION}{self.tag}{suffix}")
            return Organization.objects.create(name=f"{name} {self.tag}", kind=kind, uscc=uscc, region=region, **extra)

        self.maker = org(kinds.MANUFACTURER, "基准销售压测车厂", "011", enterprise_code=self.enterprise_code)
        self.battery_maker = org(kinds.BATTERY_MAKER, "基准销售压测电池厂", "012")
        self.dealer = org(kinds.DEALER, "基准销售压测专卖店", "013", qualification_no=f"BENCH-SALE-{self.tag}")
        certified = {"ccc_cert_no": "2025011119000001", "ccc_valid_until": dt.date(2030, 12, 31)}
        self.vehicle_model = VehicleModel.objects.create(
            code=f"BENCH-SALE-V-{self.tag}",
            name="基准销售车型",
            maker=self.maker,
            standard=Standard.objects.get(code="GB17761-2024"),
            max_speed_kmh=25,
            mass_kg=50,
            nominal_voltage_v=48,
            motor_power_w=350,
            **certified,
        )
        self.battery_model = BatteryModel.objects.create(
            code=f"BENCH-SALE-B-{self.tag}",
            name="48V 20Ah",
            maker=self.battery_maker,
            chemistry=Chemistry.LITHIUM_ION,
            nominal_voltage_v=48,
            capacity_ah=20,
            **certified,
        )
        self.vehicle_model.compatible_battery_models.add(self.battery_model)
        self.user = User.objects.create(
            username=f"bench_sale_dealer_{self.tag}", organization=self.dealer, role=User.Role.STAFF
        )
        self.token = token_issue(user=self.user)


class Rows:
    """Rows for COPY, with ids reserved from each table's sequence (safe beside concurrent writers)."""

    def __init__(self, conn, counts: dict[str, int]):
        self.ids = {}
        for table, count in counts.items():
            rows = conn.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            ).fetchall()
            self.ids[table] = iter(row[0] for row in rows)
        self.rows: dict[str, list[tuple]] = {table: [] for table in counts}

    def next_id(self, table: str) -> int:
        return next(self.ids[table])

    def put(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)


def stock_load(world: World, count: int) -> list[tuple[str, str]]:
    """`count` bikes and batteries produced three days ago and received by the dealer yesterday; (frame, serial)."""
    import psycopg

    from bench.environment import psycopg_connect
    from bench.generate import TABLES, Ledger
    from vehicles.codes import public_code_new

    now = dt.datetime.now(tz=dt.UTC)
    produced_on = (now - dt.timedelta(days=3)).astimezone(SHANGHAI).date()
    produced_at = dt.datetime.combine(produced_on, dt.time(), tzinfo=SHANGHAI)
    uploaded_at = produced_at + dt.timedelta(days=1, hours=9)
    received_at = now - dt.timedelta(days=1)
    maker, battery_maker, dealer = world.maker, world.battery_maker, world.dealer
    model, battery_model = world.vehicle_model, world.battery_model
    units = []
    with psycopg_connect() as conn:
        with conn.transaction():
            rows = Rows(
                conn,
                {
                    "vehicles_vehicle": count,
                    "vehicles_battery": count,
                    "vehicles_lifecycleevent": 4 * count,
                    "dealers_receipt": 2,
                    "dealers_receiptitem": 2 * count,
                },
            )
        ledger = Ledger(rows)
        vehicle_receipt, battery_receipt = rows.next_id("dealers_receipt"), rows.next_id("dealers_receipt")
        rows.put("dealers_receipt", (vehicle_receipt, dealer.pk, maker.pk, received_at, world.user.pk))
        rows.put("dealers_receipt", (battery_receipt, dealer.pk, battery_maker.pk, received_at, world.user.pk))
        for n in range(1, count + 1):
            frame_no = f"{world.enterprise_code}2{produced_on:%y}{n:08d}"
            serial, motor_no = f"BS{world.tag}{n:08d}", f"MS{world.tag}{n:08d}"
            vehicle_id, battery_id = rows.next_id("vehicles_vehicle"), rows.next_id("vehicles_battery")
            vehicle, battery = (vehicle_id, frame_no), (battery_id, serial)
            v_chain, b_chain = ["", 0], ["", 0]
            payload = {"model": model.code, "motor_no": motor_no}
            ledger.append(
                v_chain, "produced", produced_at, uploaded_at, maker.pk, maker.region_id, payload, vehicle=vehicle
            )
            payload = {"model": battery_model.code}
            ledger.append(
                b_chain, "produced", produced_at, uploaded_at, battery_maker.pk, battery_maker.region_id, payload,
                battery=battery,
            )  # fmt: skip
            recorded = received_at + dt.timedelta(seconds=30)
            payload = {"receipt": vehicle_receipt, "supplier": maker.pk}
            ledger.append(
                v_chain, "received", received_at, recorded, dealer.pk, dealer.region_id, payload, vehicle=vehicle
            )
            payload = {"receipt": battery_receipt, "supplier": battery_maker.pk}
            ledger.append(
                b_chain, "received", received_at, recorded, dealer.pk, dealer.region_id, payload, battery=battery
            )
            for receipt, kind, ref, v_id, b_id in (
                (vehicle_receipt, "vehicle", frame_no, vehicle_id, None),
                (battery_receipt, "battery", serial, None, battery_id),
            ):
                item = (rows.next_id("dealers_receiptitem"), receipt, kind, ref, v_id, b_id, "accepted", "[]")
                rows.put("dealers_receiptitem", item)
            head = ("in_stock", dealer.pk)
            rows.put(
                "vehicles_vehicle",
                (vehicle_id, frame_no, motor_no, model.pk, maker.pk, produced_on, public_code_new(), *head, None,
                 dealer.region_id, None, v_chain[1], v_chain[0], uploaded_at, uploaded_at),
            )  # fmt: skip
            rows.put(
                "vehicles_battery",
                (battery_id, serial, battery_model.pk, battery_maker.pk, produced_on, public_code_new(), *head, None,
                 dealer.region_id, b_chain[1], b_chain[0], uploaded_at, uploaded_at),
            )  # fmt: skip
            units.append((frame_no, serial))
        with conn.transaction(), conn.cursor() as cursor:
            try:
                with conn.transaction():
                    cursor.execute("SET LOCAL session_replication_role = replica")  # rows are consistent; as pg_restore
            except psycopg.Error:
                pass  # not a superuser: foreign keys are checked, slower but correct
            for table in ("dealers_receipt", "vehicles_vehicle", "vehicles_battery", "vehicles_lifecycleevent",
                          "dealers_receiptitem"):  # fmt: skip
                with cursor.copy(f"COPY {table} ({TABLES[table]}) FROM STDIN") as copy:
                    for row in rows.rows[table]:
                        copy.write_row(row)
    return units


class Sales:
    """Distinct sales: each bike with its battery, a new buyer (valid ID number and phone), an Idempotency-Key."""

    def __init__(self, world: World, units: list[tuple[str, str]], label: str):
        from bench.generate import owner_id_number, owner_phone

        self.world, self.units, self.label = world, units, label
        # Owners k < ~21.9 million have valid birth dates (1996–2005); the generator uses k < 6.4 million at 10M.
        first = random.randrange(7_000_000, 21_000_000 - len(units))
        rng = random.Random(first)
        self.buyers = [
            {
                "name": rng.choice(NAMES),
                "id_number": owner_id_number(first + i),
                "phone": owner_phone(first + i),
                "region_code": rng.choice(BUYER_REGIONS),
            }
            for i in range(len(units))
        ]
        self.next = 0

    def take(self, count: int) -> list[dict]:
        start, self.next = self.next, min(self.next + count, len(self.units))
        return [
            {
                "frame_no": frame_no,
                "battery_serials": [serial],
                "buyer": self.buyers[i],
                "key": f"bench-sale-{self.world.tag}-{self.label}-{i}",
            }
            for i, (frame_no, serial) in enumerate(self.units[start : self.next], start)
        ]


# The API ------------------------------------------------------------------------------------------------------


def api_sender(token: str):
    def send(client: HttpClient, sale: dict):
        body = json.dumps({k: sale[k] for k in ("frame_no", "battery_serials", "buyer")}).encode()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": sale["key"],
        }
        return client.request("POST", "/api/v1/sales/", body, headers)

    return send


# The baseline: the same database work in hand-written SQL --------------------------------------------------------

LOCK_VEHICLE = """
SELECT v.id, v.status, v.holder_id, v.model_id, v.code, v.ledger_seq, v.ledger_head,
       m.ccc_cert_no, m.ccc_valid_until, s.sale_cutoff
FROM vehicles_vehicle v
JOIN catalog_vehiclemodel m ON m.id = v.model_id
JOIN catalog_standard s ON s.id = m.standard_id
WHERE v.frame_no = %s
FOR UPDATE OF v"""
LOCK_BATTERIES = """
SELECT b.id, b.serial, b.status, b.holder_id, b.vehicle_id, bm.code, bm.chemistry, bm.ccc_cert_no, bm.ccc_valid_until,
       EXISTS (SELECT 1 FROM catalog_vehiclemodel_compatible_battery_models c
               WHERE c.vehiclemodel_id = %s AND c.batterymodel_id = b.model_id)
FROM vehicles_battery b
JOIN catalog_batterymodel bm ON bm.id = b.model_id
WHERE b.serial = ANY(%s)
ORDER BY b.id
FOR UPDATE OF b"""
UPSERT_OWNER = """
INSERT INTO vehicles_owner (name_enc, id_number_enc, phone_enc, id_number_hash, phone_hash, region_id, created_at,
                            updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id_number_hash) DO UPDATE SET name_enc = EXCLUDED.name_enc, phone_enc = EXCLUDED.phone_enc,
    phone_hash = EXCLUDED.phone_hash, region_id = EXCLUDED.region_id, updated_at = EXCLUDED.updated_at
RETURNING id"""
INSERT_REGISTRATION = """
INSERT INTO vehicles_registration (vehicle_id, owner_id, dealer_id, region_id, plate_no, registered_at, status,
                                   end_reason)
VALUES (%s, %s, %s, %s, %s, %s, 'active', '') RETURNING id"""
INSERT_FITMENT = """
INSERT INTO vehicles_fitment (battery_id, vehicle_id, fitted_at, fitted_by_id) VALUES (%s, %s, %s, %s)"""
EVENT_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
INSERT_EVENTS = """
WITH event AS (
    INSERT INTO vehicles_lifecycleevent (recorded_at, occurred_at, vehicle_id, battery_id, seq, type, organization_id,
                                         region_code, payload, prev_hash, hash)
    VALUES {rows}
    RETURNING id, recorded_at, type, vehicle_id, battery_id, region_code
)
INSERT INTO vehicles_outboxmessage (event_id, event_recorded_at, topic, payload, created_at)
SELECT id, recorded_at, %s, jsonb_build_object('event_id', id, 'type', type, 'vehicle_id', vehicle_id,
                                               'battery_id', battery_id, 'region_code', region_code), %s
FROM event"""
UPDATE_VEHICLE = """
UPDATE vehicles_vehicle SET status = 'registered', holder_id = NULL, dealer_id = %s, region_id = %s,
                            registered_at = %s, ledger_seq = %s, ledger_head = %s
WHERE id = %s"""
UPDATE_BATTERIES = """
UPDATE vehicles_battery SET status = 'fitted', holder_id = NULL, vehicle_id = %s, region_id = %s WHERE id = ANY(%s)"""
INSERT_SALE = """
INSERT INTO dealers_sale (dealer_id, vehicle_id, registration_id, battery_serials, sold_at, created_by_id, created_at)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s) RETURNING id"""
INSERT_IDEMPOTENCY_KEY = """
INSERT INTO core_idempotencykey (principal, key, fingerprint, status_code, response_body, created_at)
VALUES (%s, %s, %s, 201, %s::jsonb, %s)"""


class Baseline:
    """One psycopg connection doing sales in hand-written SQL (the floor of the database work)."""

    def __init__(self, world: World):
        from bench.environment import psycopg_connect

        self.conn = psycopg_connect()
        self.world = world
        self.dealer_id, self.dealer_region = world.dealer.pk, world.dealer.region_id

    def close(self) -> None:
        self.conn.close()

    def sell(self, sale: dict) -> tuple[int, bytes]:
        import psycopg

        try:
            with self.conn.transaction():
                return self._sell(sale)
        except psycopg.Error as error:
            return 500, repr(error).encode()

    def _sell(self, sale: dict) -> tuple[int, bytes]:
        from catalog.standards import BATTERY_CCC_REQUIRED_FROM
        from core.personal_data import encrypt, lookup_hash, mask_id_number, mask_name, mask_phone
        from vehicles.ledger import OUTBOX_TOPIC, canonical, event_hash

        conn, dealer_id, dealer_region = self.conn, self.dealer_id, self.dealer_region
        now = dt.datetime.now(tz=dt.UTC)
        today = now.astimezone(SHANGHAI).date()
        buyer = sale["buyer"]
        region = buyer["region_code"]
        vehicle = conn.execute(LOCK_VEHICLE, [sale["frame_no"]]).fetchone()
        if vehicle is None or vehicle[1] != "in_stock" or vehicle[2] != dealer_id:
            return 409, b"not_in_stock"
        vehicle_id, _, _, model_id, code, seq, head, ccc_no, ccc_until, cutoff = vehicle
        if (cutoff is not None and today >= cutoff) or not ccc_no or ccc_until is None or ccc_until < today:
            return 422, b"uncertified"
        batteries = conn.execute(LOCK_BATTERIES, [model_id, sale["battery_serials"]]).fetchall()
        if len(batteries) != len(sale["battery_serials"]):
            return 409, b"not_in_stock"
        for _, _, status, holder, fitted_in, _, chemistry, b_ccc_no, b_ccc_until, compatible in batteries:
            if fitted_in is not None or status != "in_stock" or holder != dealer_id:
                return 409, b"not_in_stock"
            if not compatible:
                return 422, b"battery_incompatible"
            ccc_required = chemistry == "lithium_ion" and today >= BATTERY_CCC_REQUIRED_FROM
            if ccc_required and (not b_ccc_no or b_ccc_until is None or b_ccc_until < today):
                return 422, b"uncertified"

        owner_id = conn.execute(
            UPSERT_OWNER,
            [encrypt(buyer["name"]), encrypt(buyer["id_number"]), encrypt(buyer["phone"]),
             lookup_hash(buyer["id_number"]), lookup_hash(buyer["phone"]), region, now, now],
        ).fetchone()[0]  # fmt: skip
        registration_id = conn.execute(
            INSERT_REGISTRATION, [vehicle_id, owner_id, dealer_id, region, code, now]
        ).fetchone()[0]
        serials = [b[1] for b in batteries]
        events = [
            (vehicle_id, None, "sold", dealer_region, {"batteries": serials}, sale["frame_no"], None),
            *((vehicle_id, b[0], "battery_fitted", region, {"model": b[5]}, sale["frame_no"], b[1]) for b in batteries),
            (vehicle_id, None, "registered", region, {"registration": registration_id, "plate_no": code,
                                                      "owner": owner_id}, sale["frame_no"], None),
        ]  # fmt: skip
        params = []
        for v_id, b_id, kind, event_region, payload, frame_no, serial in events:
            seq += 1
            digest = event_hash(
                prev_hash=head,
                seq=seq,
                type=kind,
                occurred_at=now,
                frame_no=frame_no,
                serial=serial,
                organization_id=dealer_id,
                region_code=event_region,
                payload=payload,
            )
            params += [now, now, v_id, b_id, seq, kind, dealer_id, event_region, canonical(payload), head, digest]
            head = digest
        for battery in batteries:
            conn.execute(INSERT_FITMENT, [battery[0], vehicle_id, now, dealer_id])
        conn.execute(INSERT_EVENTS.format(rows=", ".join([EVENT_ROW] * len(events))), [*params, OUTBOX_TOPIC, now])
        conn.execute(UPDATE_VEHICLE, [dealer_id, region, now, seq, head, vehicle_id])
        conn.execute(UPDATE_BATTERIES, [vehicle_id, region, [b[0] for b in batteries]])
        sale_id = conn.execute(
            INSERT_SALE, [dealer_id, vehicle_id, registration_id, json.dumps(serials), now, self.world.user.pk, now]
        ).fetchone()[0]
        response = {
            "id": sale_id,
            "sold_at": now.isoformat(),
            "vehicle": {"frame_no": sale["frame_no"], "code": code},
            "batteries": serials,
            "plate_no": code,
            "buyer": {
                "name": mask_name(buyer["name"]),
                "id_number": mask_id_number(buyer["id_number"]),
                "phone": mask_phone(buyer["phone"]),
            },
        }
        fingerprint = hashlib.sha256(json.dumps(sale, sort_keys=True).encode()).hexdigest()
        conn.execute(
            INSERT_IDEMPOTENCY_KEY,
            [f"user:{self.world.user.pk}", sale["key"], fingerprint, json.dumps(response, ensure_ascii=False), now],
        )
        return 201, b""


# Profile ------------------------------------------------------------------------------------------------------


def profile(world: World, sales: list[dict], top: int = 22) -> None:
    """The same requests in-process under cProfile: where a sale's time goes, and its queries."""
    from django.db import connection
    from django.test import Client

    client = Client()
    counter = {"queries": 0, "db": 0.0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counter["db"] += time.perf_counter() - started
            counter["queries"] += 1

    def post(sale: dict) -> None:
        body = json.dumps({k: sale[k] for k in ("frame_no", "battery_serials", "buyer")})
        response = client.post(
            "/api/v1/sales/",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.token}",
            HTTP_IDEMPOTENCY_KEY=sale["key"],
        )
        if response.status_code != 201:
            raise SystemExit(f"profile: {response.status_code} {response.content[:300]!r}")

    for sale in sales[:20]:  # warm up: imports, connection, translations
        post(sale)
    sales = sales[20:]
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(" ".join(sql.split())[:150])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        post(sales[0])
    # Without the profiler first: wall time, this process's CPU, and the CPU of its PostgreSQL backend.
    plain, sales = sales[1 : 1 + len(sales) // 2], sales[1 + len(sales) // 2 :]
    backend = psutil.Process(connection.connection.info.backend_pid)
    backend_cpu = sum(backend.cpu_times()[:2])
    cpu, wall = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(timed):
        for sale in plain:
            post(sale)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    backend_cpu = sum(backend.cpu_times()[:2]) - backend_cpu
    count = len(plain)
    print()
    print(f"In-process: {count} sales through Django's test client (full WSGI stack, no network), one thread")
    print(
        f"  per sale: {wall / count * 1000:.2f} ms wall, {cpu / count * 1000:.2f} ms Python CPU, "
        f"{backend_cpu / count * 1000:.2f} ms PostgreSQL backend CPU; {counter['queries'] / count:.1f} queries, "
        f"{counter['db'] / count * 1000:.2f} ms waiting on them"
    )
    # The floor of any API request: middleware, DRF, the bearer token lookup, a small JSON answer.
    for _ in range(20):
        client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {world.token}")
    backend_cpu = sum(backend.cpu_times()[:2])
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {world.token}")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    backend_cpu = sum(backend.cpu_times()[:2]) - backend_cpu
    print(
        f"  for comparison, GET /api/v1/me/ (middleware, DRF, token lookup): {wall / count * 1000:.2f} ms wall, "
        f"{cpu / count * 1000:.2f} ms Python CPU, {backend_cpu / count * 1000:.2f} ms PostgreSQL backend CPU"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting for PostgreSQL does not count
    started = time.perf_counter()
    profiler.enable()
    for sale in sales:
        post(sale)
    profiler.disable()
    elapsed = time.perf_counter() - started
    n = len(sales)
    print(f"  with cProfile on (CPU-time clock), {n} more sales: {elapsed / n * 1000:.2f} ms per sale")
    print(f"  statements of one sale ({len(statements)}):")
    for sql in statements:
        print(f"    {sql}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"  top {top} functions by own time (tottime), per {n} sales:")
    body = out.getvalue().split("ncalls", 1)[-1].splitlines()[1:]
    for line in body:
        if line.strip():
            print("   ", line.strip()[:170])
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"(dealers|vehicles|core|rest_framework/(views|request|response))", 40)
    print(f"  cumulative time of the application's own functions, per {n} sales:")
    body = out.getvalue().split("ncalls", 1)[-1].splitlines()[1:]
    for line in body:
        if line.strip():
            print("   ", line.strip()[:170])


# Main -------------------------------------------------------------------------------------------------------


def queued_kicks(redis_url: str) -> int:
    """Each committed ledger write kicks the outbox drain through Celery (at most once a second)."""
    import redis

    try:
        with redis.Redis.from_url(redis_url) as client:
            return client.llen("celery") if client.type("celery") == b"list" else 0
    except redis.RedisError:
        return 0


def verify(frame_nos: list[str]) -> tuple[int, int]:
    from vehicles.ledger import chain_verify
    from vehicles.models import Vehicle

    verdicts = [chain_verify(v) for v in Vehicle.objects.filter(frame_no__in=frame_nos)]
    return sum(v.valid for v in verdicts), len(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (and baseline connections)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per throughput round, each side")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", default="50,10", help="sales per second in the latency test (comma-separated)")
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--api-stock", type=int, default=12_000, help="bikes for the API (throughput + latency)")
    parser.add_argument("--baseline-stock", type=int, default=30_000, help="bikes for the baseline")
    parser.add_argument("--profile", type=int, default=0, help="also profile this many sales in-process")
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url  # before Django starts: unset, it would start an embedded Redis
    tag = f"bench_sales_{os.getpid()}"
    args.database_url = tagged(args.database_url, tag)  # this run's backends, told from other clients'

    from bench.environment import django_setup, psycopg_connect

    django_setup(args.database_url)
    from django.db import connection

    print(f"{machine()}")
    started = time.perf_counter()
    world = World()
    profile_count = args.profile + 21 if args.profile else 0
    units = stock_load(world, args.api_stock + args.baseline_stock + profile_count)
    api_sales = Sales(world, units[: args.api_stock], "api")
    baseline_sales = Sales(world, units[args.api_stock : args.api_stock + args.baseline_stock], "baseline")
    print(
        f"stock: dealer {world.dealer.pk} with {len(units):,} bikes and batteries in stock, "
        f"loaded in {time.perf_counter() - started:.1f}s"
    )
    conn = psycopg_connect(autocommit=True)
    server_version = conn.execute("SHOW server_version").fetchone()[0]
    vehicles = conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]
    analyze(conn, ("core_organization", "vehicles_vehicle", "vehicles_battery", "vehicles_owner"))
    loads = [load_average()]

    log = Path(tempfile.gettempdir()) / f"bench_sales_gunicorn_{world.tag}.log"
    with Gunicorn(args.database_url, args.redis_url, workers=args.workers, threads=args.threads, log=log) as server:
        meter = CpuMeter(conn, server, tag)
        send = api_sender(world.token)

        def api_client():
            return HttpClient(server.port)

        connections = Pool(lambda: Baseline(world))
        baseline_client = connections.connect

        def baseline_send(client: Baseline, sale: dict):
            return client.sell(sale)

        # Warm-up: every worker imports, connects and fills its caches; not counted.
        closed_loop(
            api_client, send, iter(api_sales.take(20 * args.workers)), clients=args.clients, seconds=30, expect=201
        )
        closed_loop(
            baseline_client, baseline_send, iter(baseline_sales.take(100)), clients=args.clients, seconds=30, expect=201
        )

        results = {"api": [], "baseline": []}
        cpu = {"api": {}, "baseline": {}}
        rates = [float(r) for r in args.rate.split(",")]
        latency_stock = int(sum(rates) * args.latency_seconds) + 10
        for round_no in range(1, args.rounds + 1):
            for side, client, sender, pool, reserve in (
                ("api", api_client, send, api_sales, latency_stock),
                ("baseline", baseline_client, baseline_send, baseline_sales, latency_stock // 2),
            ):
                available = len(pool.units) - pool.next - reserve
                per_round = max(0, available // (args.rounds - round_no + 1))
                before = meter.snapshot()
                outcome = closed_loop(
                    client, sender, iter(pool.take(per_round)), clients=args.clients, seconds=args.seconds, expect=201
                )
                used = CpuMeter.used(before, meter.snapshot())
                for part, seconds in used.items():
                    cpu[side][part] = cpu[side].get(part, 0.0) + seconds
                results[side].append(outcome)
                errors = f"  errors: {outcome.errors[:2]}" if outcome.errors else ""
                print(
                    f"  round {round_no} {side:8s} {outcome.ok:6,d} sales in {outcome.elapsed:5.1f}s = "
                    f"{outcome.rate():7,.1f}/s  p50 {ms(percentile(outcome.latencies, 50))} ms  "
                    f"p99 {ms(percentile(outcome.latencies, 99))} ms{errors}",
                    flush=True,
                )
                if outcome.ok and outcome.elapsed < args.seconds * 0.9:
                    print(f"    (the stock for {side} ran out: raise --{side}-stock)")
        loads.append(load_average())

        latency = {}
        for rate in rates:
            for side, client, sender, pool, seconds in (
                ("api", api_client, send, api_sales, args.latency_seconds),
                ("baseline", baseline_client, baseline_send, baseline_sales, args.latency_seconds / 2),
            ):
                latency[rate, side] = outcome = open_loop(
                    client, sender, iter(pool.take(int(rate * seconds))), rate=rate, seconds=seconds, expect=201
                )
                print(
                    f"  {rate:g}/s {side:8s} {outcome.ok:6,d} sales, {outcome.dropped} dropped: "
                    f"p50 {ms(percentile(outcome.scheduled_latencies(), 50))} ms  "
                    f"p99 {ms(percentile(outcome.scheduled_latencies(), 99))} ms",
                    flush=True,
                )
        loads.append(load_average())
        server_description = server.description
        connections.close()

    sold = [u[0] for u in units[: api_sales.next]]
    sold_baseline = [u[0] for u in units[args.api_stock : args.api_stock + baseline_sales.next]]
    rng = random.Random()
    valid, checked = verify(
        rng.sample(sold, min(15, len(sold))) + rng.sample(sold_baseline, min(15, len(sold_baseline)))
    )

    print()
    print(
        f"Sale registration: POST /api/v1/sales/ through {server_description} on 127.0.0.1, "
        f"{args.clients} clients; PostgreSQL {server_version}, {vehicles:,} vehicles"
    )
    print(f"load average (1/5/15 min) at start, after throughput, after latency: {' | '.join(loads)}")
    print()
    header = f"{'throughput':22s}{'sales':>8s}{'sales/s':>10s}{'p50 ms':>9s}{'p99 ms':>9s}"
    print(header + f"{'CPU ms per sale:':>20s}{'server':>8s}{'database':>10s}{'client':>8s}")
    throughput = {}
    for side, label in (("api", "API (HTTP, gunicorn)"), ("baseline", "baseline (psycopg)")):
        outcomes = results[side]
        ok = sum(o.ok for o in outcomes)
        elapsed = sum(o.elapsed for o in outcomes)
        lat = [x for o in outcomes for x in o.latencies]
        throughput[side] = ok / elapsed if elapsed else 0.0
        per = {
            part: cpu[side].get(part, 0.0) / ok * 1000 if ok else float("nan")
            for part in ("server", "database", "client")
        }
        print(
            f"{label:22s}{ok:8,d}{throughput[side]:10,.1f}{ms(percentile(lat, 50)):>9s}{ms(percentile(lat, 99)):>9s}"
            f"{'':20s}{per['server']:8.2f}{per['database']:10.2f}{per['client']:8.2f}"
        )
    total_cpu = {}
    for side in ("api", "baseline"):
        ok = sum(o.ok for o in results[side])
        total_cpu[side] = sum(cpu[side].values()) / ok * 1000 if ok else float("nan")
    print(
        f"CPU per sale, all parts: API {total_cpu['api']:.2f} ms, baseline {total_cpu['baseline']:.2f} ms; "
        f"baseline/API {total_cpu['baseline'] / total_cpu['api']:.0%} (the throughput ratio on idle CPUs)"
    )
    ratio = throughput["api"] / throughput["baseline"] if throughput["baseline"] else float("nan")
    print(
        f"API/baseline {ratio:.0%} (target >= 30%: {'met' if ratio >= 0.30 else 'MISSED'});  "
        f"API {throughput['api']:,.0f} sales/s (target >= 300/s: {'met' if throughput['api'] >= 300 else 'MISSED'})"
    )
    print()
    print("latency at a steady rate (open loop; from the scheduled send time, so waiting for a free client counts)")
    print(f"{'':22s}{'rate/s':>7s}{'sent':>7s}{'ok':>7s}{'dropped':>8s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}")
    for rate in rates:
        for side, label in (("api", "API (HTTP, gunicorn)"), ("baseline", "baseline (psycopg)")):
            o = latency[rate, side]
            lat = o.scheduled_latencies()
            sent = sum(o.statuses.values())
            print(
                f"{label:22s}{rate:7g}{sent:7,d}{o.ok:7,d}{o.dropped:8,d}{ms(percentile(lat, 50)):>9s}"
                f"{ms(percentile(lat, 95)):>9s}{ms(percentile(lat, 99)):>9s}"
            )
            if o.errors:
                print(f"    errors: {o.errors[:2]}")
    p99 = percentile(latency[rates[0], "api"].scheduled_latencies(), 99)
    print(f"API p99 at {rates[0]:g}/s: {ms(p99)} ms (target <= 50 ms: {'met' if p99 <= 0.050 else 'MISSED'})")
    print(f"hash chains of {checked} sold bikes (API and baseline) re-verified: {valid} valid")
    print("CPU: gunicorn workers, this database's PostgreSQL backends, this process (clients or baseline threads)")
    queued = queued_kicks(args.redis_url)
    if queued:
        print(f"{queued} outbox-drain kicks wait in Redis (no Celery worker here): redis-cli -n 15 del celery")
    if valid != checked:
        raise SystemExit(1)

    if args.profile:
        profile(world, Sales(world, units[args.api_stock + args.baseline_stock :], "profile").take(profile_count))
    conn.close()
    connection.close()


if __name__ == "__main__":
    main()

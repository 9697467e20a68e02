"""Bulk production import through the API, beside a raw psycopg COPY of the same rows (API.md "Production").

    .venv/bin/python bench/bench_production.py [--database-url URL] [--rounds 5] [--items 10000]

The API side runs in-process: Django's test client sends each request through the whole WSGI stack (middleware,
bearer token, DRF parsing, the idempotency decorator, validation, id allocation, hashing, the three COPYs,
commit). There is no network hop and no gunicorn, so the figure is the server's own work for a request.

The baseline is the floor of the same database work: the same kind of vehicles (or batteries), `produced` events
and outbox messages, prepared in memory beforehand (ids, public codes, hashes), then written by plain psycopg with
three COPYs in one transaction. API and baseline rounds alternate in one process against one database, so noise
on this shared machine hits both.

Each run adds a manufacturer and a battery maker with their rows: point it at a bench database, not real data.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import secrets
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import django_setup, psycopg_connect

DAYS = ["2025-06-01", "2025-06-02", "2025-06-03"]


class Run:
    """One maker of each kind with a model, a token, and counters for fresh frame numbers and serials."""

    def __init__(self):
        import datetime as dt

        from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User
        from core.tokens import token_issue

        self.tag = secrets.token_hex(3).upper()
        used = set(Organization.objects.exclude(enterprise_code="").values_list("enterprise_code", flat=True))
        free = [code for code in (f"{n:04d}" for n in range(1000, 10000)) if code not in used]
        self.enterprise_code = random.choice(free)
        region = Region.objects.get(code="371402")
        standard = Standard.objects.get(code="GB17761-2024")
        self.maker = Organization.objects.create(
            name=f"基准电动车制造有限公司 {self.tag}",
            kind=OrganizationKind.MANUFACTURER,
            uscc=make_uscc(f"91371402{self.tag}001"),
            region=region,
            enterprise_code=self.enterprise_code,
        )
        self.battery_maker = Organization.objects.create(
            name=f"基准电池有限公司 {self.tag}",
            kind=OrganizationKind.BATTERY_MAKER,
            uscc=make_uscc(f"91371402{self.tag}002"),
            region=region,
        )
        certified = {"ccc_cert_no": "2024011119000001", "ccc_valid_until": dt.date(2030, 12, 31)}
        self.vehicle_model = VehicleModel.objects.create(
            code=f"BENCH-V-{self.tag}",
            name="基准车型",
            maker=self.maker,
            standard=standard,
            max_speed_kmh=25,
            mass_kg=50,
            nominal_voltage_v=48,
            motor_power_w=350,
            **certified,
        )
        self.battery_model = BatteryModel.objects.create(
            code=f"BENCH-B-{self.tag}",
            name="基准电池",
            maker=self.battery_maker,
            chemistry=Chemistry.LITHIUM_ION,
            nominal_voltage_v=48,
            capacity_ah=20,
            **certified,
        )
        self.tokens = {}
        for kind, org in (("vehicles", self.maker), ("batteries", self.battery_maker)):
            user = User.objects.create(username=f"bench_{kind}_{self.tag}", organization=org, role=User.Role.ADMIN)
            self.tokens[kind] = token_issue(user=user)
        self.next_unit = 1

    def items(self, kind: str, count: int) -> list[dict]:
        start, self.next_unit = self.next_unit, self.next_unit + count
        if kind == "vehicles":
            code = self.enterprise_code
            return [
                {"frame_no": f"{code}225{n:08d}", "motor_no": f"MT48{n:08d}", "produced_on": DAYS[n % 3]}
                for n in range(start, start + count)
            ]
        return [{"serial": f"BX{self.tag}{n:010d}", "produced_on": DAYS[n % 3]} for n in range(start, start + count)]

    def model_code(self, kind: str) -> str:
        return self.vehicle_model.code if kind == "vehicles" else self.battery_model.code


# The API ------------------------------------------------------------------------------------------------------


def api_request(client, run: Run, kind: str, items: list[dict]) -> float:
    body = json.dumps({"model": run.model_code(kind), "items": items}).encode()
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/{kind}/bulk/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {run.tokens[kind]}",
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"{kind}: {response.status_code} {response.content[:500]!r}")
    return elapsed


# The baseline: the same rows, prepared beforehand, COPYed by plain psycopg ----------------------------------------


def _ids(conn, table: str, count: int) -> list[int]:
    rows = conn.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
    ).fetchall()
    return [row[0] for row in rows]


def _text(rows) -> bytes:
    """COPY text format; the values here need no escaping."""
    return "".join("\t".join(r"\N" if v is None else str(v) for v in row) + "\n" for row in rows).encode()


def raw_prepare(conn, run: Run, kind: str, items: list[dict]) -> list[tuple[str, str, bytes]]:
    import datetime as dt

    from django.utils import timezone

    from vehicles.codes import normalise_serial, public_code_new
    from vehicles.ledger import OUTBOX_TOPIC, canonical, event_hash
    from vehicles.production import PRODUCTION_TZ

    is_vehicle = kind == "vehicles"
    maker = run.maker if is_vehicle else run.battery_maker
    model = run.vehicle_model if is_vehicle else run.battery_model
    table = "vehicles_vehicle" if is_vehicle else "vehicles_battery"
    ids, event_ids = _ids(conn, table, len(items)), _ids(conn, "vehicles_lifecycleevent", len(items))
    now = timezone.now().isoformat()
    heads, events, outbox = [], [], []
    for head_id, event_id, item in zip(ids, event_ids, items, strict=True):
        day = dt.date.fromisoformat(item["produced_on"])
        occurred = dt.datetime.combine(day, dt.time(), tzinfo=PRODUCTION_TZ)
        payload = {"model": model.code, "motor_no": item["motor_no"]} if is_vehicle else {"model": model.code}
        key = item["frame_no"] if is_vehicle else normalise_serial(item["serial"])
        digest = event_hash(
            prev_hash="",
            seq=1,
            type="produced",
            occurred_at=occurred,
            frame_no=key if is_vehicle else None,
            serial=None if is_vehicle else key,
            organization_id=maker.pk,
            region_code=maker.region_id,
            payload=payload,
        )
        region = maker.region_id
        common = (model.pk, maker.pk, day, public_code_new(), "produced", maker.pk, region, 1, digest, now, now)
        heads.append((head_id, key, item["motor_no"], *common) if is_vehicle else (head_id, key, *common))
        vehicle_id, battery_id = (head_id, None) if is_vehicle else (None, head_id)
        row = [event_id, now, occurred.isoformat(), vehicle_id, battery_id, 1, "produced", maker.pk, region]
        events.append((*row, canonical(payload), "", digest))
        vehicle_id, battery_id = (head_id, "null") if is_vehicle else ("null", head_id)
        outbox.append(
            (
                event_id,
                now,
                OUTBOX_TOPIC,
                f'{{"event_id": {event_id}, "type": "produced", "vehicle_id": {vehicle_id}, '
                f'"battery_id": {battery_id}, "region_code": "{maker.region_id}"}}',
                now,
            )
        )
    head_columns = (
        "id, frame_no, motor_no, model_id, manufacturer_id" if is_vehicle else "id, serial, model_id, maker_id"
    ) + ", produced_on, code, status, holder_id, region_id, ledger_seq, ledger_head, created_at, updated_at"
    return [
        (table, head_columns, _text(heads)),
        (
            "vehicles_lifecycleevent",
            "id, recorded_at, occurred_at, vehicle_id, battery_id, seq, type, organization_id, region_code, payload, "
            "prev_hash, hash",
            _text(events),
        ),
        ("vehicles_outboxmessage", "event_id, event_recorded_at, topic, payload, created_at", _text(outbox)),
    ]


def raw_copy(conn, parts: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor:
        for table, columns, data in parts:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(data)
    return time.perf_counter() - started


# Memory -----------------------------------------------------------------------------------------------------


def memory_profile(client, run: Run, kind: str, count: int) -> dict:
    """Peak Python allocations while one request runs, and the part the service adds above its parsed input."""
    from vehicles import production

    service_name = "vehicles_produce" if kind == "vehicles" else "batteries_produce"
    service = getattr(production, service_name)
    seen = {}

    def measured(**kwargs):
        current, seen["before"] = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        try:
            return service(**kwargs)
        finally:
            seen["service"] = tracemalloc.get_traced_memory()[1] - current

    items = run.items(kind, count)
    body_size = len(json.dumps({"model": run.model_code(kind), "items": items}))
    setattr(production, service_name, measured)
    gc.collect()
    tracemalloc.start()
    try:
        api_request(client, run, kind, items)
        request_peak = max(seen["before"], tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
        setattr(production, service_name, service)
    return {"items": count, "body": body_size, "request": request_peak, "service": seen["service"]}


# Main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    django_setup(args.database_url)

    from django.db import connection
    from django.test import Client

    run = Run()
    client = Client()
    conn = psycopg_connect(autocommit=True)
    server = conn.execute("SHOW server_version").fetchone()[0]
    kinds = ("vehicles", "batteries")
    timings: dict[str, dict[str, list[float]]] = {kind: {"api": [], "raw": []} for kind in kinds}

    for round_no in range(args.rounds + 1):  # round 0 warms up caches and connections and is not counted
        for kind in kinds:
            api_time = api_request(client, run, kind, run.items(kind, args.items))
            parts = raw_prepare(conn, run, kind, run.items(kind, args.items))
            raw_time = raw_copy(conn, parts)
            if round_no:
                timings[kind]["api"].append(api_time)
                timings[kind]["raw"].append(raw_time)
                print(
                    f"  round {round_no} {kind:9s}  API {args.items / api_time:9,.0f}/s   "
                    f"raw COPY {args.items / raw_time:9,.0f}/s",
                    flush=True,
                )

    print()
    print(f"Bulk production import, {args.items:,} items per request, median of {args.rounds} rounds")
    print(f"PostgreSQL {server}; API through Django's in-process test client (full WSGI stack, no network)")
    print("A unit is one vehicle or battery with its `produced` event and outbox message: 3 rows.")
    print(f"{'':11s}{'API units/s':>14s}{'raw COPY units/s':>19s}{'API/raw':>10s}{'API s/request':>16s}")
    for kind in kinds:
        api = statistics.median(timings[kind]["api"])
        raw = statistics.median(timings[kind]["raw"])
        print(f"{kind:11s}{args.items / api:14,.0f}{args.items / raw:19,.0f}{raw / api:10.0%}{api:16.3f}")

    print()
    print("Peak Python memory of one request (tracemalloc; the parsed JSON body itself grows with the items)")
    print(f"{'':11s}{'items':>8s}{'body':>11s}{'request peak':>15s}{'per item':>10s}{'service':>12s}{'per item':>10s}")
    for kind in kinds:
        for count in (1_000, 10_000):
            m = memory_profile(client, run, kind, count)
            print(
                f"{kind:11s}{m['items']:8,d}{m['body'] / 1e6:9.2f}MB{m['request'] / 1e6:13.2f}MB"
                f"{m['request'] / count:9,.0f}B{m['service'] / 1e6:10.2f}MB{m['service'] / count:9,.0f}B"
            )
    print("service = what validation and the COPYs allocate above the parsed request (bookkeeping per item: ids,")
    print("hashes, the validated tuples); the COPY rows are streamed, so no buffer of the whole batch is built.")
    conn.close()
    connection.close()


if __name__ == "__main__":
    main()

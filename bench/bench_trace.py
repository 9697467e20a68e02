"""Trace lookup (车—电—人—网点 from one clue) by battery serial and by owner phone, beside the same lookup in SQL.

    .venv/bin/python bench/bench_trace.py [--database-url URL] [--lookups 1000] [--max-seconds 60]
                                          [--username bench_regulator_371400]

The API side runs in-process: Django's test client sends each `GET /api/v1/trace/?battery_serial=…` (or
`?phone=…`) through the whole WSGI stack (middleware, bearer token, DRF, jurisdiction scoping, the trace query
and its two prefetches, the audit entry a search by personal data writes, masking, JSON). No network, no
gunicorn: the figure is the server's own time for a lookup.

The caller is a city regulator of the generated data (德州市, 3714…): an account of the benchmark's own,
`bench_regulator_371400_trace`, in that regulator's organization. Every clue is one it may see: the serial
of a battery fitted in a bike of its jurisdiction, the phone of an owner registered there (`owner_phone(k)` of
bench/generate.py; the keyed hash is checked before use). Clues are drawn at random over the whole dataset.

The baseline, interleaved with the API lookup by lookup: plain psycopg running hand-written SQL for the same
answer: the bike (with its model and selling outlet, scoped as the API scopes it) found from the clue, its
batteries, its active registration and owner; for a phone, the audit row too.

Before timing, EXPLAIN (ANALYZE, BUFFERS) of every SELECT one API lookup sends shows which indexes are used.
Each kind of lookup stops after `--lookups` lookups or `--max-seconds`, whichever comes first.

10,000,000 bikes: load a fresh database with `createdb ebike_10m` and
`bench/generate.py --database-url postgres://postgres@127.0.0.1:5432/ebike_10m --scale 10000000` (about ten times
the 1M load: roughly 85 minutes and 50 GB of disk), then run this script with `--database-url` pointing at it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.httpbench import REDIS_URL, analyze, load_average, machine, ms, percentile, tagged

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"

# Hand-written SQL of the trace, scoped as vehicles.selectors scopes a regulator: the bike's region or its selling
# dealer's region inside the regulator's prefix, or the regulator's own organization named on it.
BY_SERIAL = """
SELECT DISTINCT f.vehicle_id FROM vehicles_fitment f JOIN vehicles_battery b ON b.id = f.battery_id
WHERE b.serial = %s"""
BY_PHONE = """
SELECT DISTINCT r.vehicle_id FROM vehicles_registration r JOIN vehicles_owner o ON o.id = r.owner_id
WHERE o.phone_hash = %s"""
VEHICLES = """
SELECT v.id, v.frame_no, v.code, v.status, m.code, v.registered_at, v.region_id, d.id, d.name
FROM vehicles_vehicle v
JOIN catalog_vehiclemodel m ON m.id = v.model_id
LEFT JOIN core_organization d ON d.id = v.dealer_id
WHERE v.id = ANY(%(ids)s)
  AND (v.region_id LIKE %(prefix)s OR d.region_id LIKE %(prefix)s
       OR v.manufacturer_id = %(org)s OR v.holder_id = %(org)s OR v.dealer_id = %(org)s)
ORDER BY v.registered_at DESC
LIMIT 50"""
BATTERIES = """
SELECT b.vehicle_id, b.serial, bm.code FROM vehicles_battery b JOIN catalog_batterymodel bm ON bm.id = b.model_id
WHERE b.vehicle_id = ANY(%s) ORDER BY b.serial"""
OWNERS = """
SELECT r.vehicle_id, r.plate_no, o.name_enc, o.id_number_enc, o.phone_enc
FROM vehicles_registration r JOIN vehicles_owner o ON o.id = r.owner_id
WHERE r.vehicle_id = ANY(%s) AND r.status = 'active'"""
AUDIT = """
INSERT INTO core_auditentry (at, actor_id, actor_organization_id, action, target_type, target_id, reason, data)
VALUES (now(), %s, %s, 'trace.search', 'trace', %s, '', %s::jsonb)"""


def baseline_lookup(conn, kind: str, clue: str, user) -> int:
    """The trace in hand-written SQL; returns the number of bikes found."""
    import json

    from core.personal_data import lookup_hash

    org = user.organization
    if kind == "battery_serial":
        ids = [row[0] for row in conn.execute(BY_SERIAL, [clue.strip().upper()])]
    else:
        ids = [row[0] for row in conn.execute(BY_PHONE, [lookup_hash(clue)])]
    params = {"ids": ids, "prefix": org.region.prefix + "%", "org": org.pk}
    vehicles = conn.execute(VEHICLES, params).fetchall() if ids else []
    found = [v[0] for v in vehicles]
    if found:
        conn.execute(BATTERIES, [found]).fetchall()
        conn.execute(OWNERS, [found]).fetchall()
    if kind == "phone":
        conn.execute(AUDIT, [user.pk, org.pk, kind, json.dumps({"results": len(found)})])
    return len(found)


# Clues --------------------------------------------------------------------------------------------------------


def clues_sample(conn, user, count: int, seed: int) -> dict[str, list[str]]:
    """Random battery serials and owner phones the user may trace, drawn over the whole dataset."""
    from bench.generate import owner_phone
    from core.personal_data import lookup_hash

    org = user.organization
    scope = "(v.region_id LIKE %(prefix)s OR d.region_id LIKE %(prefix)s)"
    params = {"prefix": org.region.prefix + "%", "seed": seed}
    serials = [
        row[0]
        for row in conn.execute(
            f"""SELECT b.serial FROM vehicles_battery b TABLESAMPLE BERNOULLI (3) REPEATABLE (%(seed)s)
                JOIN vehicles_vehicle v ON v.id = b.vehicle_id LEFT JOIN core_organization d ON d.id = v.dealer_id
                WHERE b.status = 'fitted' AND {scope}""",
            params,
        )
    ]
    owners = conn.execute(
        f"""SELECT o.id, o.phone_hash FROM vehicles_owner o TABLESAMPLE BERNOULLI (3) REPEATABLE (%(seed)s)
            WHERE EXISTS (SELECT 1 FROM vehicles_registration r JOIN vehicles_vehicle v ON v.id = r.vehicle_id
                          LEFT JOIN core_organization d ON d.id = v.dealer_id
                          WHERE r.owner_id = o.id AND r.status = 'active' AND {scope})""",
        params,
    ).fetchall()
    first = conn.execute("SELECT min(id) FROM vehicles_owner").fetchone()[0]
    phones = []
    for owner_id, phone_hash in owners:
        phone = owner_phone(owner_id - first)  # generated owners are loaded in order, k = 0, 1, 2, …
        if lookup_hash(phone) == phone_hash:  # owners added since (by the sales benchmark) are skipped
            phones.append(phone)
    rng = random.Random(seed)
    return {
        "battery_serial": rng.sample(serials, min(count, len(serials))),
        "phone": rng.sample(phones, min(count, len(phones))),
    }


# EXPLAIN ------------------------------------------------------------------------------------------------------


def explain_request(client, token: str, kind: str, clue: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each SELECT one API lookup sends: scans, indexes, times."""
    import re

    from django.db import connection

    captured = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        client.get("/api/v1/trace/", {kind: clue}, HTTP_AUTHORIZATION=f"Bearer {token}")
    print(f"EXPLAIN (ANALYZE, BUFFERS) of the SELECTs of one lookup by {kind}:")
    for sql, params in captured:
        table = re.search(r'FROM "(\w+)"', sql)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"  query on {table.group(1) if table else '?'}:")
        for line in plan:
            text = line.strip().removeprefix("->  ")
            if re.search(r"Scan|Planning Time|Execution Time", text) or (
                text.startswith("Buffers") and line == plan[1]
            ):
                text = re.sub(r"\(cost=[^)]*\) ", "", text)
                print(f"    {text[:150]}")


# Main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--lookups", type=int, default=1000, help="lookups of each kind")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit of each kind (API + baseline)")
    parser.add_argument(
        "--username", default="bench_regulator_371400", help="whose organization traces (a generated account)"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url  # before Django starts: unset, it would start an embedded Redis
    tag = f"bench_trace_{os.getpid()}"
    args.database_url = tagged(args.database_url, tag)  # this run's backends, told from other clients'

    from bench.environment import django_setup, psycopg_connect

    django_setup(args.database_url)
    from django.db import connection
    from django.test import Client

    from core.models import ApiToken, User
    from core.tokens import token_issue

    print(machine())
    # An account of its own in the regulator's organization: the same jurisdiction, and tokens no other run
    # (another benchmark using the generated account) can revoke under it.
    account = User.objects.select_related("organization").get(username=args.username)
    User.objects.get_or_create(
        username=f"{args.username}_trace", defaults={"organization": account.organization, "role": account.role}
    )
    user = User.objects.select_related("organization__region").get(username=f"{args.username}_trace")
    token = token_issue(user=user)
    conn = psycopg_connect(autocommit=True)
    server_version = conn.execute("SHOW server_version").fetchone()[0]
    vehicles = conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    started = time.perf_counter()
    analyze(conn, ("core_organization", "vehicles_vehicle", "vehicles_battery", "vehicles_fitment"))
    analyze(conn, ("vehicles_registration", "vehicles_owner"))
    clues = clues_sample(conn, user, args.lookups + 20, seed)
    print(
        f"clues: {len(clues['battery_serial']):,} battery serials, {len(clues['phone']):,} phones in "
        f"{user.organization.region.prefix}… (seed {seed}; with ANALYZE {time.perf_counter() - started:.1f}s)"
    )
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def api_lookup(kind: str, clue: str) -> int:
        response = client.get("/api/v1/trace/", {kind: clue}, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{kind}={clue}: {response.status_code} {response.content[:300]!r}")
        return len(response.json()["results"])

    if not args.no_explain:
        for kind in ("battery_serial", "phone"):
            explain_request(client, token, kind, clues[kind][-1])
        print()

    loads = [load_average()]
    results = {}
    for kind in ("battery_serial", "phone"):
        for clue in clues[kind][-20:]:  # warm-up: connections, caches; not counted
            api_lookup(kind, clue)
            baseline_lookup(conn, kind, clue, user)
        api, raw, found, raw_found = [], [], 0, 0
        deadline = time.perf_counter() + args.max_seconds
        for clue in clues[kind][: args.lookups]:
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            found += api_lookup(kind, clue) > 0
            t1 = time.perf_counter()
            raw_found += baseline_lookup(conn, kind, clue, user) > 0
            t2 = time.perf_counter()
            api.append(t1 - t0)
            raw.append(t2 - t1)
        results[kind] = (api, raw, found, raw_found)
        print(
            f"  {kind:15s} {len(api):5,d} lookups: API p50 {ms(percentile(api, 50))} ms, "
            f"p99 {ms(percentile(api, 99))} ms; baseline p50 {ms(percentile(raw, 50))} ms",
            flush=True,
        )
        loads.append(load_average())

    print()
    print(
        f"Trace lookups as {user.username} (region {user.organization.region.prefix}…), API in-process "
        f"(Django test client, full WSGI stack, no network); PostgreSQL {server_version}, {vehicles:,} vehicles"
    )
    print(f"load average (1/5/15 min) at start, after serials, after phones: {' | '.join(loads)}")
    print(
        f"{'clue':16s}{'lookups':>8s}{'found':>7s}{'API p50':>9s}{'p95':>8s}{'p99':>8s}{'max':>8s}"
        f"{'baseline p50':>14s}{'p99':>8s}{'API/baseline p50':>18s}"
    )
    worst = 0.0
    for kind, (api, raw, found, raw_found) in results.items():
        p99 = percentile(api, 99)
        worst = max(worst, p99)
        ratio = percentile(raw, 50) / percentile(api, 50) if api else float("nan")
        print(
            f"{kind:16s}{len(api):8,d}{found:7,d}{ms(percentile(api, 50)):>9s}{ms(percentile(api, 95)):>8s}"
            f"{ms(p99):>8s}{ms(max(api) if api else float('nan')):>8s}{ms(percentile(raw, 50)):>14s}"
            f"{ms(percentile(raw, 99)):>8s}{ratio:>18.1%}"
        )
        if raw_found != found:
            print(f"    the baseline found {raw_found} where the API found {found}")
        if len(api) < args.lookups:
            print(f"    stopped after {args.max_seconds:g} s: {len(api)} of {args.lookups} lookups")
    print("times in ms; API/baseline p50 = baseline median / API median (100% = as fast as the hand-written SQL)")
    print(f"API p99 target <= 20 ms: {'met' if worst <= 0.020 else 'MISSED'} (worst p99 {ms(worst)} ms)")
    print("10M: createdb ebike_10m; bench/generate.py --scale 10000000 --database-url …/ebike_10m (about 85 min,")
    print("     50 GB); then bench/bench_trace.py --database-url postgres://postgres@127.0.0.1:5432/ebike_10m")
    ApiToken.objects.filter(user=user).delete()
    conn.close()
    connection.close()


if __name__ == "__main__":
    main()

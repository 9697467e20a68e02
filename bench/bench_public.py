"""The public QR lookup, `GET /api/v1/public/vehicles/{code}/`, through real gunicorn with concurrent clients.

    .venv/bin/python bench/bench_public.py [--database-url URL] [--workers 4] [--threads 1] [--clients 16]
                                           [--seconds 15] [--warm-codes 200]

Two cases, each beside a baseline run in the same process with the same number of threads:
- warm: a set of codes already in the 60-second Redis cache, requested at random. The server's work is the
  request itself, a Redis GET and the JSON. Baseline: redis-py GET of the same keys, unpickled and dumped to
  JSON (what Django's cache and the renderer do, without the framework).
- cold: distinct codes, none in the cache (their keys are deleted first), each requested once: the three
  queries of vehicles.public (the bike with its model, maker, standard and 标配 ids; its fitted batteries with
  their fitment date; its newest 200 ledger steps), the projection, the cache write. Baseline: plain psycopg
  running hand-written SQL for the same three answers, for other codes drawn the same way.

Codes are drawn at random over the whole dataset (bikes produced, in stock and registered alike). Each phase runs
`--seconds` (default 15) or until its codes run out. Load goes to 127.0.0.1 only. Before timing, EXPLAIN
(ANALYZE, BUFFERS) summarises the queries of one cold lookup.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import re
import sys
import tempfile
from pathlib import Path

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
    percentile,
    tagged,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"
PATH = "/api/v1/public/vehicles/{}/"

VEHICLE = """
SELECT v.id, v.code, v.status, v.registered_at, m.code, m.name, m.ccc_cert_no, m.ccc_valid_until, s.code,
       s.sale_cutoff, maker.name,
       ARRAY(SELECT c.batterymodel_id FROM catalog_vehiclemodel_compatible_battery_models c
             WHERE c.vehiclemodel_id = v.model_id)
FROM vehicles_vehicle v
JOIN catalog_vehiclemodel m ON m.id = v.model_id
JOIN catalog_standard s ON s.id = m.standard_id
JOIN core_organization maker ON maker.id = m.maker_id
WHERE v.code = %s"""
BATTERIES = """
SELECT b.id, b.model_id, bm.code, bm.name, bm.chemistry, bm.ccc_cert_no, bm.ccc_valid_until,
       (SELECT f.fitted_at FROM vehicles_fitment f WHERE f.battery_id = b.id AND f.removed_at IS NULL LIMIT 1)
FROM vehicles_battery b JOIN catalog_batterymodel bm ON bm.id = b.model_id
WHERE b.vehicle_id = %s ORDER BY b.id"""
EVENTS = """
SELECT e.occurred_at, e.type, o.name, e.payload ->> 'kind'
FROM vehicles_lifecycleevent e LEFT JOIN core_organization o ON o.id = e.organization_id
WHERE e.vehicle_id = %s AND e.type <> 'complaint'
ORDER BY e.occurred_at DESC, e.id DESC LIMIT 200"""


def cache_key(code: str) -> str:
    from django.core.cache import cache

    from vehicles import public

    return cache.make_key(f"{public.RECORD_CACHE_KEY}{code}")


class RawCold:
    """The three queries of a cold lookup in hand-written SQL on one psycopg connection, answer dumped to JSON."""

    def __init__(self):
        from bench.environment import psycopg_connect

        self.conn = psycopg_connect(autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def lookup(self, code: str) -> tuple[int, bytes]:
        vehicle = self.conn.execute(VEHICLE, [code]).fetchone()
        if vehicle is None:
            return 404, b""
        batteries = self.conn.execute(BATTERIES, [vehicle[0]]).fetchall()
        events = self.conn.execute(EVENTS, [vehicle[0]]).fetchall()
        body = json.dumps({"vehicle": vehicle, "batteries": batteries, "events": events[::-1]}, default=str)
        return 200, body.encode()


class RawWarm:
    """A cached record: redis-py GET, unpickle (Django's Redis cache pickles), dump to JSON."""

    def __init__(self, redis_url: str):
        import redis

        self.redis = redis.Redis.from_url(redis_url)

    def close(self) -> None:
        self.redis.close()

    def lookup(self, code: str) -> tuple[int, bytes]:
        value = self.redis.get(cache_key(code))
        if value is None:
            return 404, b""
        return 200, json.dumps(pickle.loads(value), ensure_ascii=False).encode()


def codes_sample(conn, count: int, seed: int) -> list[str]:
    rows = conn.execute(
        "SELECT code FROM vehicles_vehicle TABLESAMPLE BERNOULLI (4) REPEATABLE (%s)", [seed]
    ).fetchall()
    codes = [row[0] for row in rows]
    random.Random(seed).shuffle(codes)
    return codes[:count]


def explain_cold(code: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) summary of the SELECTs of one cold lookup (in-process, cache bypassed)."""
    from django.core.cache import cache
    from django.db import connection

    from vehicles import public

    cache.delete(f"{public.RECORD_CACHE_KEY}{code}")
    captured = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        public.public_record(code)
    cache.delete(f"{public.RECORD_CACHE_KEY}{code}")
    print("EXPLAIN (ANALYZE, BUFFERS) of the SELECTs of one cold lookup:")
    for sql, params in captured:
        table = re.search(r'FROM "(\w+)"', sql)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        scans = [line for line in plan if re.search(r"Scan", line)]
        partitions = sum("vehicles_lifecycleevent_" in line for line in scans)
        print(f"  query on {table.group(1) if table else '?'}: {len(scans)} scans", end="")
        print(f" ({partitions} of them on ledger partitions)" if partitions else "")
        shown = [line for line in scans if "vehicles_lifecycleevent_" not in line][:6]
        shown += [line for line in scans if "vehicles_lifecycleevent_" in line][:2]
        for line in shown + [line for line in plan if re.search(r"Planning Time|Execution Time", line)]:
            text = re.sub(r"\(cost=[^)]*\) ", "", line.strip().removeprefix("->  "))
            print(f"    {text[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (and baseline threads)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds per phase")
    parser.add_argument("--warm-codes", type=int, default=200)
    parser.add_argument("--cold-codes", type=int, default=20_000, help="distinct codes for each cold phase")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url  # before Django starts: unset, it would start an embedded Redis
    tag = f"bench_public_{os.getpid()}"
    args.database_url = tagged(args.database_url, tag)  # this run's backends, told from other clients'

    from bench.environment import django_setup, psycopg_connect

    django_setup(args.database_url)
    from django.core.cache import cache
    from django.db import connection

    from vehicles import public

    print(machine())
    conn = psycopg_connect(autocommit=True)
    server_version = conn.execute("SHOW server_version").fetchone()[0]
    vehicles = conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    analyze(conn, ("core_organization", "vehicles_vehicle", "vehicles_battery", "vehicles_fitment"))
    codes = codes_sample(conn, args.warm_codes + 2 * args.cold_codes + 1, seed)
    warm = codes[: args.warm_codes]
    api_cold = codes[args.warm_codes : args.warm_codes + args.cold_codes]
    raw_cold = codes[args.warm_codes + args.cold_codes : -1]
    cache.delete_many([f"{public.RECORD_CACHE_KEY}{c}" for c in codes])
    print(f"codes: {len(warm)} warm, {len(api_cold):,} + {len(raw_cold):,} cold (seed {seed})")
    explain_cold(codes[-1])
    print()

    def get(client: HttpClient, code: str):
        return client.request("GET", PATH.format(code))

    def forever(items: list[str], limit: int = 1_000_000):
        rng = random.Random(seed)
        return (rng.choice(items) for _ in range(limit))

    loads = [load_average()]
    log = Path(tempfile.gettempdir()) / f"bench_public_gunicorn_{os.getpid()}.log"
    results, cpu = {}, {}
    with Gunicorn(args.database_url, args.redis_url, workers=args.workers, threads=args.threads, log=log) as server:
        meter = CpuMeter(conn, server, tag)

        def api_client():
            return HttpClient(server.port)

        warm_pool, cold_pool = Pool(lambda: RawWarm(args.redis_url)), Pool(RawCold)

        def raw_send(client, code: str):
            return client.lookup(code)

        # Warm-up of the workers (imports, connections) on codes outside the measured sets; then fill the cache.
        closed_loop(api_client, get, iter(codes[-1:] * 40), clients=args.clients, seconds=30)
        filled = closed_loop(api_client, get, iter(warm), clients=4, seconds=60)
        if filled.ok != len(warm):
            raise SystemExit(f"filling the cache: {filled.statuses} {filled.errors[:2]}")
        closed_loop(warm_pool.connect, raw_send, iter(warm), clients=args.clients, seconds=10)
        closed_loop(cold_pool.connect, raw_send, iter(raw_cold[-50:]), clients=args.clients, seconds=10)
        raw_cold = raw_cold[:-50]

        phases = (
            ("warm", "api", api_client, get, forever(warm)),
            ("warm", "baseline", warm_pool.connect, raw_send, forever(warm)),
            ("cold", "api", api_client, get, iter(api_cold)),
            ("cold", "baseline", cold_pool.connect, raw_send, iter(raw_cold)),
        )
        for case, side, connect, send, jobs in phases:
            before = meter.snapshot()
            outcome = closed_loop(connect, send, jobs, clients=args.clients, seconds=args.seconds)
            cpu[case, side] = CpuMeter.used(before, meter.snapshot())
            results[case, side] = outcome
            errors = f"  errors: {outcome.errors[:2]}" if outcome.errors else ""
            print(
                f"  {case} {side:8s} {outcome.ok:7,d} in {outcome.elapsed:4.1f}s = {outcome.rate():8,.0f}/s  "
                f"p50 {ms(percentile(outcome.latencies, 50))} ms  p99 {ms(percentile(outcome.latencies, 99))} ms"
                f"{errors}",
                flush=True,
            )
            if case == "cold" and outcome.elapsed < args.seconds * 0.9:
                print("    (the cold codes ran out: raise --cold-codes)")
            loads.append(load_average())
        description = server.description
        warm_pool.close()
        cold_pool.close()

    print()
    print(
        f"Public QR lookup GET {PATH.format('{code}')} through {description} on 127.0.0.1, {args.clients} clients; "
        f"PostgreSQL {server_version}, {vehicles:,} vehicles"
    )
    print(f"load average (1/5/15 min) at start and after each phase: {' | '.join(loads)}")
    print(
        f"{'':16s}{'requests':>9s}{'req/s':>9s}{'p50 ms':>8s}{'p99 ms':>8s}"
        f"{'CPU ms per request:':>22s}{'server':>8s}{'database':>10s}{'client':>8s}"
    )
    for case in ("warm", "cold"):
        for side in ("api", "baseline"):
            o, used = results[case, side], cpu[case, side]
            per = {part: used[part] / o.ok * 1000 if o.ok else float("nan") for part in used}
            label = f"{case} {'API' if side == 'api' else 'baseline'}"
            print(
                f"{label:16s}{o.ok:9,d}{o.rate():9,.0f}{ms(percentile(o.latencies, 50)):>8s}"
                f"{ms(percentile(o.latencies, 99)):>8s}{'':22s}{per['server']:8.2f}{per['database']:10.2f}"
                f"{per['client']:8.2f}"
            )
        api, raw = results[case, "api"].rate(), results[case, "baseline"].rate()
        print(f"{'':16s}API/baseline {api / raw:.0%}" if raw else "")
    warm_rate = results["warm", "api"].rate()
    print(f"API warm {warm_rate:,.0f} req/s (target >= 1,000 req/s: {'met' if warm_rate >= 1000 else 'MISSED'})")
    print("warm baseline: redis-py GET + unpickle + JSON; cold baseline: psycopg, the same three queries + JSON")
    print("CPU: gunicorn workers, this database's PostgreSQL backends, this process (clients or baseline threads);")
    print("Redis itself is not counted.")
    cache.delete_many([f"{public.RECORD_CACHE_KEY}{c}" for c in codes])
    conn.close()
    connection.close()


if __name__ == "__main__":
    main()

"""A department's data feed at city scale: p50/p95/p99 of a page of 500 entries of the police feed, through the API
(in-process DRF, Bearer token) beside the reader's bare SQL on plain psycopg.

    .venv/bin/python bench/bench_feeds.py --database-url postgres://postgres@127.0.0.1:5432/ebike_feeds \
        [--source-url postgres://postgres@127.0.0.1:5432/ebike_h2] [--requests 300] [--page-size 500]

The feed's table is filled from a 1,000,000-bike set of bench/generate.py (`--source-url`, read only: one SELECT of
its registrations, transfers and cancellations, built into the police feed's records exactly as the ledger's
trigger builds them), into `--database-url`, a scratch database of its own that the benchmark migrates (a bench
set loaded with triggers off has no feed entries, and the source is not ours to change). The entries keep the
source's order; transaction ids are given four entries to a transaction, all of them finished. Fire-feed entries
(a tenth as many) are interleaved so that the index holds more than one feed. A second run reuses the entries.

Readers: the police of 德州 (371400: about a quarter of the entries), of 德城区 (371402: one in forty, the worst
case of the region filter) and the platform (every region). Each request starts after an entry drawn at random
from the reader's whole feed. EXPLAIN ANALYZE of one page per reader follows.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import django_setup, psycopg_connect
from bench.httpbench import machine, ms, percentile

DEFAULT_SOURCE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"
PER_TRANSACTION = 4
FIRE_EVERY = 10

SOURCE_SQL = """
SELECT e.type, e.region_code, e.occurred_at, e.recorded_at,
       jsonb_build_object(
           'frame_no', v.frame_no, 'code', v.code, 'model', m.code,
           'plate_no', e.payload->>'plate_no', 'report_no', e.payload->>'report_no', 'reason', e.payload->>'reason',
           'organization', CASE WHEN o.id IS NULL THEN NULL ELSE
               jsonb_build_object('id', o.id, 'name', o.name, 'kind', o.kind, 'region_code', o.region_id) END,
           'ledger_seq', e.seq)::text
FROM vehicles_lifecycleevent e
JOIN vehicles_vehicle v ON v.id = e.vehicle_id
JOIN catalog_vehiclemodel m ON m.id = v.model_id
LEFT JOIN core_organization o ON o.id = e.organization_id
WHERE e.type IN ('registered', 'transferred', 'registration_cancelled', 'stolen_reported', 'found')
ORDER BY e.recorded_at, e.id
"""


def load(source_url: str) -> int:
    """Copy the source's police entries (and interleaved fire entries) into this database's feed table."""
    import psycopg

    started, count = time.perf_counter(), 0
    with psycopg.connect(source_url, application_name="bench_feeds_source") as source, psycopg_connect() as target:
        source.execute("SET TRANSACTION READ ONLY")
        with source.cursor(name="feed_source") as rows, target.cursor() as cursor:
            rows.itersize = 10_000
            rows.execute(SOURCE_SQL)
            columns = "txid, feed, kind, region_code, occurred_at, recorded_at, record"
            with cursor.copy(f"COPY feeds_feedentry ({columns}) FROM STDIN") as copy:
                for kind, region, occurred_at, recorded_at, record in rows:
                    txid = 3 + count // PER_TRANSACTION
                    copy.write_row((txid, "police", kind, region, occurred_at, recorded_at, record))
                    count += 1
                    if count % FIRE_EVERY == 0:
                        fire = json.dumps({"swap": count, "alarm": "over_temperature", "temperature_c": 71.5})
                        copy.write_row((txid, "fire", "swap_alarm", region, occurred_at, recorded_at, fire))
                        count += 1
        target.execute("ANALYZE feeds_feedentry")
        target.commit()
    print(f"  loaded {count:,} entries in {time.perf_counter() - started:.0f} s", flush=True)
    return count


def readers() -> dict[str, object]:
    from core.codes import make_uscc
    from core.models import Organization, OrganizationKind, Region, User

    found = {}
    for key, region in (("police 371400", "371400"), ("police 371402", "371402")):
        org, _ = Organization.objects.get_or_create(
            uscc=make_uscc(f"11{region}MB{region}"),
            defaults={
                "name": f"基准公安 {region}",
                "kind": OrganizationKind.POLICE,
                "region": Region.objects.get(code=region),
            },
        )
        found[key], _ = User.objects.get_or_create(username=f"bench_feeds_{region}", defaults={"organization": org})
    found["platform"], _ = User.objects.get_or_create(
        username="bench_feeds_platform", defaults={"is_superuser": True, "is_staff": True}
    )
    return found


def starts(conn, prefix: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Positions after random entries of the reader's feed (a sample of its whole length)."""
    rows = conn.execute(
        "SELECT txid::text::bigint, id FROM feeds_feedentry TABLESAMPLE SYSTEM (5) "
        "WHERE feed = 'police' AND region_code LIKE %s",
        [f"{prefix}%"],
    ).fetchall()
    return [rng.choice(rows) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a scratch database of this benchmark")
    parser.add_argument("--source-url", default=DEFAULT_SOURCE_URL, help="a bench/generate.py set, read only")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.database_url.rstrip("/").rsplit("/", 1)[-1] == args.source_url.rstrip("/").rsplit("/", 1)[-1]:
        raise SystemExit("--database-url must be a scratch database, not the source")
    django_setup(args.database_url)

    from django.test import Client

    from core.tokens import token_issue
    from feeds.cursor import Position, cursor_encode
    from feeds.selectors import PAGE_SQL

    print(f"bench_feeds · {machine()}", flush=True)
    with psycopg_connect(application_name="bench_feeds") as conn:
        entries = conn.execute("SELECT count(*) FROM feeds_feedentry").fetchone()[0]
        if entries == 0:
            entries = load(args.source_url)
        police = conn.execute("SELECT count(*) FROM feeds_feedentry WHERE feed = 'police'").fetchone()[0]
        print(f"  feed table: {entries:,} entries, {police:,} of the police feed", flush=True)
        rng = random.Random(args.seed)
        users = readers()
        print(f"\n  page of {args.page_size}, {args.requests} requests each, from random positions")
        print(f"  {'reader':<16}{'entries':>10}{'API p50 / p95 / p99':>28}{'SQL p50 / p95 / p99':>28}")
        for name, user in users.items():
            prefix = user.organization.region.prefix if user.organization else ""
            total = conn.execute(
                "SELECT count(*) FROM feeds_feedentry WHERE feed = 'police' AND region_code LIKE %s", [f"{prefix}%"]
            ).fetchone()[0]
            client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")
            positions = starts(conn, prefix, args.requests, rng)
            api, sql, short = [], [], 0
            client.get("/api/v1/feeds/police/", {"page_size": args.page_size})  # warm
            for txid, pk in positions:
                after = cursor_encode("police", Position(txid, pk))
                t0 = time.perf_counter()
                response = client.get("/api/v1/feeds/police/", {"after": after, "page_size": args.page_size})
                api.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.content[:300]
                short += len(response.json()["results"]) < args.page_size
                t0 = time.perf_counter()
                conn.execute(PAGE_SQL, ["police", f"{prefix}%", str(txid), pk, args.page_size]).fetchall()
                sql.append(time.perf_counter() - t0)
            line = " / ".join(ms(percentile(api, p)) for p in (50, 95, 99))
            base = " / ".join(ms(percentile(sql, p)) for p in (50, 95, 99))
            verdict = "met" if percentile(api, 99) <= 0.050 else "MISSED"
            print(f"  {name:<16}{total:>10,}{line:>28}{base:>28}   p99 ≤ 50 ms: {verdict}", flush=True)
            if short:
                print(f"    ({short} pages near the end of the feed were not full)")
            txid, pk = positions[0]
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + PAGE_SQL, ["police", f"{prefix}%", str(txid), pk, args.page_size]
            ).fetchall()
            for (row,) in plan:
                if "Index" in row or "Execution" in row or ("Buffers" in row and "->" not in row):
                    print(f"    {row.strip()}")


if __name__ == "__main__":
    main()

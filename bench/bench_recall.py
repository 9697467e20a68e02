"""A recall of a model with 100,000 produced units through the API, beside a hand-written INSERT … SELECT of the same
items (API.md "Supervision work": recall; target ≤ 5 s to create and match).

    .venv/bin/python bench/bench_recall.py [--server-url postgres://postgres@127.0.0.1:5432] [--units 100000]
                                           [--others 400000] [--rounds 3] [--keep]

It makes a scratch database (ebike_bench_recall_<hex>), migrates it, loads the recalled model's units and as many
units of other models (COPY; spread over six districts of two cities, 2% scrapped, produced over a year), then
alternates rounds:

- API: `POST /api/v1/recalls/` from a city regulator through Django's test client and the whole WSGI stack (bearer
  token, `@idempotent`, validation, the recall row, the one INSERT … SELECT that matches the units, the count per
  region and the regulators' notices, commit, and after commit the cached public records of the units dropped);
- baseline: in one psycopg transaction, a recall row and the same INSERT … SELECT written by hand.

Both match the whole production range, so each round writes `--units` items (less the scrapped). The scratch
database is dropped at the end (unless --keep): nothing else is touched, except the cache's public-record keys of
these units, which do not exist elsewhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DISTRICTS = ["371402", "371403", "371482", "371481", "330206", "330203"]
REGULATOR_REGIONS = ["371400", "371402", "371403", "330200", "330206"]
FIRST_DAY = dt.date(2025, 6, 1)
SCRAPPED_EVERY = 50  # 2%


def scratch_database(server_url: str) -> tuple[str, str]:
    import psycopg

    name = f"ebike_bench_recall_{secrets.token_hex(3)}"
    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return name, urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def drop_database(server_url: str, name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(server_url.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class World:
    """A maker with the recalled model and another model, regulators of the cities and districts, and a token."""

    def __init__(self):
        from catalog.models import Standard, VehicleModel
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User
        from core.tokens import token_issue

        k = OrganizationKind
        self.maker = Organization.objects.create(
            name="召回基准车业有限公司",
            kind=k.MANUFACTURER,
            uscc=make_uscc("91371402BENCHR001"),
            region=Region.objects.get(code="371402"),
            enterprise_code="1999",
        )
        standard = Standard.objects.get(code="GB17761-2024")
        spec = {
            "maker": self.maker,
            "standard": standard,
            "ccc_cert_no": "2024011119000001",
            "ccc_valid_until": dt.date(2030, 12, 31),
            "max_speed_kmh": 25,
            "mass_kg": 50,
            "nominal_voltage_v": 48,
            "motor_power_w": 350,
        }
        self.model = VehicleModel.objects.create(code="BENCH-RECALL-1", name="召回基准车型", **spec)
        self.other = VehicleModel.objects.create(code="BENCH-RECALL-2", name="另一车型", **spec)
        self.regulators = {}
        for n, code in enumerate(REGULATOR_REGIONS):
            self.regulators[code] = Organization.objects.create(
                name=f"{Region.objects.get(code=code).name}市场监督管理局",
                kind=k.REGULATOR,
                uscc=make_uscc(f"11371400BENCHR{n:03d}"),
                region_id=code,
            )
        user = User.objects.create(
            username="bench_recall_regulator", organization=self.regulators["371400"], role=User.Role.ADMIN
        )
        self.token = token_issue(user=user)


def load_units(world: World, units: int, others: int) -> None:
    """The recalled model's units and other models' units, COPYed: frame numbers, codes, regions, days."""
    from django.utils import timezone

    from bench.environment import psycopg_connect

    now = timezone.now().isoformat()
    columns = (
        "frame_no, motor_no, model_id, manufacturer_id, produced_on, code, status, holder_id, region_id, "
        "ledger_seq, ledger_head, created_at, updated_at"
    )
    with psycopg_connect() as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY vehicles_vehicle ({columns}) FROM STDIN") as copy:
            for n in range(units + others):
                model = world.model.pk if n < units else world.other.pk
                status = "scrapped" if n % SCRAPPED_EVERY == 0 else "registered"
                copy.write_row(
                    (
                        f"1999{n:011d}",
                        f"M{n:011d}",
                        model,
                        world.maker.pk,
                        FIRST_DAY + dt.timedelta(days=n % 365),
                        f"R{n:012d}",
                        status,
                        None,
                        DISTRICTS[n % len(DISTRICTS)],
                        0,
                        "",
                        now,
                        now,
                    )
                )
        conn.commit()
        cursor.execute("ANALYZE vehicles_vehicle")
        conn.commit()


def api_round(client, world: World) -> tuple[float, int]:
    body = {
        "model_kind": "vehicle",
        "model": world.model.code,
        "produced_from": FIRST_DAY.isoformat(),
        "produced_to": (FIRST_DAY + dt.timedelta(days=364)).isoformat(),
        "reason": "控制器限速程序缺陷（基准）",
    }
    started = time.perf_counter()
    response = client.post(
        "/api/v1/recalls/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.token}",
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"recall: {response.status_code} {response.content[:500]!r}")
    return elapsed, response.json()["affected"]


def baseline_round(world: World) -> tuple[float, int]:
    """The same work by hand: a recall row, then one INSERT … SELECT of the units on the road, in one transaction."""
    from bench.environment import psycopg_connect

    user_id = world_user_id()
    started = time.perf_counter()
    with psycopg_connect() as conn:
        recall_id = conn.execute(
            "INSERT INTO supervision_recall (initiated_by_id, region_code, model_kind, model_code, maker_id, "
            "produced_from, produced_to, reason, status, affected, remedied, created_by_id, created_at) "
            "VALUES (%s, '371400', 'vehicle', %s, %s, %s, %s, 'baseline', 'in_progress', 0, 0, %s, now()) "
            "RETURNING id",
            [
                world.regulators["371400"].pk,
                world.model.code,
                world.maker.pk,
                FIRST_DAY,
                FIRST_DAY + dt.timedelta(days=364),
                user_id,
            ],
        ).fetchone()[0]
        matched = conn.execute(
            "INSERT INTO supervision_recallitem (recall_id, vehicle_id, region_code) "
            "SELECT %s, v.id, v.region_id FROM vehicles_vehicle v "
            "WHERE v.model_id = %s AND v.produced_on BETWEEN %s AND %s AND v.status NOT IN ('scrapped', 'recycled')",
            [recall_id, world.model.pk, FIRST_DAY, FIRST_DAY + dt.timedelta(days=364)],
        ).rowcount
        conn.execute("UPDATE supervision_recall SET affected = %s WHERE id = %s", [matched, recall_id])
        conn.commit()
    return time.perf_counter() - started, matched


def world_user_id() -> int:
    from core.models import User

    return User.objects.get(username="bench_recall_regulator").pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--server-url", default=os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--units", type=int, default=100_000, help="units of the recalled model")
    parser.add_argument("--others", type=int, default=400_000, help="units of another model, not recalled")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    name, database_url = scratch_database(args.server_url)
    print(f"scratch database {name}")
    try:
        from bench.environment import django_setup

        started = time.perf_counter()
        django_setup(database_url)
        print(f"migrated in {time.perf_counter() - started:.1f} s")
        from django.test import Client

        world = World()
        started = time.perf_counter()
        load_units(world, args.units, args.others)
        print(
            f"loaded {args.units:,} units of the recalled model and {args.others:,} others in "
            f"{time.perf_counter() - started:.1f} s"
        )
        client = Client()
        # Warm up: the URL conf, the views and the token lookup load on the first request, not in a round.
        client.get("/api/v1/recalls/", HTTP_AUTHORIZATION=f"Bearer {world.token}")
        api, raw = [], []
        for n in range(args.rounds):
            seconds, affected = api_round(client, world)
            api.append(seconds)
            base, matched = baseline_round(world)
            raw.append(base)
            assert affected == matched, (affected, matched)
            print(f"round {n + 1}: API {seconds:.2f} s, baseline {base:.2f} s, {affected:,} units matched")
        api_median, raw_median = statistics.median(api), statistics.median(raw)
        print(
            f"median: API {api_median:.2f} s (target ≤ 5 s), hand-written INSERT … SELECT {raw_median:.2f} s, "
            f"ratio {api_median / raw_median:.2f}×"
        )
    finally:
        if args.keep:
            print(f"kept {name}")
        else:
            drop_database(args.server_url, name)
            print(f"dropped {name}")


if __name__ == "__main__":
    main()

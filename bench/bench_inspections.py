"""The 双随机 draw of an inspection plan over 20,000 enterprises, risk-weighted, through the API and by beat, beside a
hand-written INSERT … SELECT of the same tasks (API.md "Supervision work": inspection plans; target ≤ 2 s).

    .venv/bin/python bench/bench_inspections.py [--server-url postgres://postgres@127.0.0.1:5432]
                                                [--enterprises 20000] [--sample 500] [--rounds 5] [--keep]

It makes a scratch database (ebike_bench_inspections_<hex>), migrates it, loads `--enterprises` dealers and repair
shops over the eleven counties of 德州 (COPY), 10% of them graded risk (三分) and the rest non-risk, and a city
regulator with a token. Then it alternates rounds:

- API: `POST /api/v1/inspection-plans/` (risk-weighted, `--sample` enterprises a week, over the whole city) from the
  city regulator through Django's test client and the whole WSGI stack (bearer token, `@idempotent`, validation,
  the plan row, the draw's one INSERT … SELECT, commit);
- beat: the same plan's next week, drawn by supervision.draw.inspection_plan_draw as the hourly task does;
- baseline: in one psycopg transaction, a plan row and the same tasks inserted by a hand-written INSERT … SELECT
  ordered risk first, then by random().

Then one plan that inspects every enterprise (`{"all": true}`) through the API: `--enterprises` tasks at once. The
scratch database is dropped at the end (unless --keep): nothing else is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RISK_SHARE = 0.10
CHECKLIST = ["进货查验记录是否齐全", "是否销售无 CCC 产品", "是否存在改装行为"]


def scratch_database(server_url: str) -> tuple[str, str]:
    import psycopg

    name = f"ebike_bench_inspections_{secrets.token_hex(3)}"
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


def load(count: int) -> tuple[object, str]:
    """`count` enterprises of 德州 with their current grades, and the city's regulator with a bearer token."""
    from django.db import connection
    from django.utils import timezone

    from bench.environment import psycopg_connect
    from core.codes import make_uscc
    from core.models import Organization, OrganizationKind, Region, User
    from core.tokens import token_issue
    from reports.models import EnterpriseGrade

    city = Region.objects.get(code="371400")
    counties = list(Region.objects.filter(parent=city).values_list("code", flat=True))
    regulator = Organization.objects.create(
        name="德州市市场监督管理局", kind=OrganizationKind.REGULATOR, uscc=make_uscc("11371400BENCH0001"), region=city
    )
    user = User.objects.create(username="bench_inspector", organization=regulator, role=User.Role.ADMIN)
    now = timezone.now()
    rng = random.Random(7)
    with psycopg_connect() as conn, conn.cursor() as cursor:
        with cursor.copy(
            f"COPY {Organization._meta.db_table} (name, kind, uscc, region_id, qualification_no, enterprise_code, "
            "status, created_at, updated_at) FROM STDIN"
        ) as copy:
            for n in range(count):
                county = counties[n % len(counties)]
                kind = OrganizationKind.DEALER if n % 3 else OrganizationKind.REPAIR_SHOP
                uscc = make_uscc(f"91{county}B{n:08d}")
                copy.write_row((f"基准企业{n:05d}", kind, uscc, county, f"Q-{n:05d}", "", "active", now, now))
        cursor.execute(
            f"SELECT id, region_id FROM {Organization._meta.db_table} WHERE kind IN ('dealer', 'repair_shop')"
        )
        enterprises = cursor.fetchall()
        with cursor.copy(
            f"COPY {EnterpriseGrade._meta.db_table} (organization_id, region_code, grade, score, reasons, graded_at, "
            "current) FROM STDIN"
        ) as copy:
            for org_id, region in enterprises:
                risk = rng.random() < RISK_SHARE
                copy.write_row((org_id, region, "risk" if risk else "non_risk", 12 if risk else 0, "[]", now, True))
        conn.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user, token_issue(user=user)


def plan_body(sample: dict, n: int) -> dict:
    return {
        "name": f"基准双随机抽查 {n}",
        "region_code": "371400",
        "kinds": ["dealer", "repair_shop"],
        "frequency": "weekly",
        "sample": sample,
        "risk_weighted": True,
        "checklist": CHECKLIST,
        "due_days": 7,
    }


def api_round(client, token: str, sample: dict, n: int) -> tuple[float, int, int]:
    started = time.perf_counter()
    response = client.post(
        "/api/v1/inspection-plans/",
        data=json.dumps(plan_body(sample, n)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    seconds = time.perf_counter() - started
    assert response.status_code == 201, response.content
    body = response.json()
    return seconds, body["id"], body["tasks_created"]


def beat_round(plan_id: int, weeks_ahead: int) -> tuple[float, int]:
    from django.utils import timezone

    from supervision.draw import inspection_plan_draw
    from supervision.models import InspectionPlan

    plan = InspectionPlan.objects.get(pk=plan_id)
    later = timezone.now() + dt.timedelta(weeks=weeks_ahead)
    started = time.perf_counter()
    created = inspection_plan_draw(plan=plan, now=later)
    return time.perf_counter() - started, created


def baseline_round(user, size: int) -> tuple[float, int]:
    """The floor of the same database work: a plan row and its tasks by one hand-written INSERT … SELECT."""
    from django.utils import timezone

    from bench.environment import psycopg_connect
    from core.models import Organization
    from reports.models import EnterpriseGrade
    from supervision.models import InspectionPlan, InspectionTask

    now = timezone.now()
    started = time.perf_counter()
    with psycopg_connect() as conn, conn.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {InspectionPlan._meta.db_table} (regulator_id, name, region_code, kinds, frequency,
                    sample_size, risk_weighted, checklist, due_days, active, created_by_id, created_at)
                VALUES (%s, 'baseline', '371400', '["dealer", "repair_shop"]', 'weekly', %s, true, %s, 7, true, %s,
                    %s) RETURNING id""",
            [user.organization_id, size, json.dumps(CHECKLIST), user.pk, now],
        )
        (plan_id,) = cursor.fetchone()
        cursor.execute(
            f"""INSERT INTO {InspectionTask._meta.db_table} (plan_id, organization_id, region_code, period, status,
                    due_at, created_at, findings, hazards_found, note)
                SELECT %s, o.id, o.region_id, 'baseline', 'open', %s, %s, '[]', 0, ''
                FROM {Organization._meta.db_table} o
                LEFT JOIN {EnterpriseGrade._meta.db_table} g ON g.organization_id = o.id AND g.current
                WHERE o.kind IN ('dealer', 'repair_shop') AND o.region_id LIKE '3714%%' AND o.status = 'active'
                ORDER BY (g.grade = 'risk') IS NOT TRUE, random()
                LIMIT %s""",
            [plan_id, now + dt.timedelta(days=7), now, size],
        )
        created = cursor.rowcount
        conn.commit()
    return time.perf_counter() - started, created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--server-url", default=os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=500, help="enterprises drawn a week")
    parser.add_argument("--rounds", type=int, default=5)
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

        started = time.perf_counter()
        user, token = load(args.enterprises)
        print(f"loaded {args.enterprises:,} enterprises with their grades in {time.perf_counter() - started:.1f} s")
        client = Client()
        client.get("/api/v1/inspection-plans/", HTTP_AUTHORIZATION=f"Bearer {token}")  # warm up
        api, beat, raw = [], [], []
        for n in range(args.rounds):
            seconds, plan_id, created = api_round(client, token, {"size": args.sample}, n)
            api.append(seconds)
            drawn, again = beat_round(plan_id, weeks_ahead=1)
            beat.append(drawn)
            base, matched = baseline_round(user, args.sample)
            raw.append(base)
            assert created == again == matched == args.sample, (created, again, matched)
            print(
                f"round {n + 1}: API {seconds * 1000:.0f} ms, beat {drawn * 1000:.0f} ms, "
                f"baseline {base * 1000:.0f} ms, {created:,} tasks each"
            )
        api_median, beat_median, raw_median = (statistics.median(v) for v in (api, beat, raw))
        print(
            f"median over {args.enterprises:,} enterprises, {args.sample} drawn risk first: API "
            f"{api_median * 1000:.0f} ms, beat {beat_median * 1000:.0f} ms (target ≤ 2 s), hand-written "
            f"INSERT … SELECT {raw_median * 1000:.0f} ms, ratio API/baseline {api_median / raw_median:.2f}×"
        )
        seconds, _plan, created = api_round(client, token, {"all": True}, args.rounds)
        print(f"every enterprise: API {seconds * 1000:.0f} ms for {created:,} tasks")
    finally:
        if args.keep:
            print(f"kept {name}")
        else:
            drop_database(args.server_url, name)
            print(f"dropped {name}")


if __name__ == "__main__":
    main()

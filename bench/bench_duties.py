"""The DUTY_OVERDUE sweep over 20,000 enterprises for one day: one alert each, none twice when run twice.

    .venv/bin/python bench/bench_duties.py [--server-url postgres://postgres@127.0.0.1:5432/postgres]
        [--enterprises 20000] [--rounds 3] [--keep]

In a scratch database of its own (created, migrated, dropped at the end, also after an error; `--keep` keeps it):
`--enterprises` active duty holders (70% dealers, 15% manufacturers, 15% battery makers) spread over the eleven
counties of 德州, each county with its regulator (and the city's above them), all registered on the platform
yesterday and none with yesterday's daily check (日管控) filed: each owes exactly one record, the day's. Another
500 repair shops owe nothing. Then, in this process, `--rounds` rounds of:

1. the sweep, `supervision.duties.duty_overdue_sweep(today=…)`: one INSERT … SELECT of the alert requests;
2. baseline, before the engine runs: the same alerts, their deliveries to the county's regulator and their dispatch
   steps in three hand-written INSERT … SELECT statements over the requests on plain psycopg (no rollups, no
   routing through the regulator tree), rolled back;
3. the rule engine's drain of the requests into routed, dispatched alerts (`alerts.engine.drain_alert_requests`,
   batch after batch as a worker does, each its own transaction): the time from the sweep's start to the last
   alert is the figure against the target (≤ 10 s);
4. the sweep again, and the drain again: nothing raised, no alert added.

Besides the wall-clock times, the CPU seconds of this process and of its PostgreSQL backends (tagged
`application_name=bench_duties`) in the sweep and the drain, and in the baseline: steadier than the times on a
shared machine, and on an otherwise idle one the sweep to the last alert takes about that long.

Each round ends by checking one DUTY_OVERDUE alert per enterprise (and none for the repair shops), then deletes
them and their requests for the next round. The sweep's kick of a Celery drain after commit is replaced by a
no-op: the drain runs here, not in a worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.httpbench import CpuMeter, analyze, machine, tagged

COUNTIES = ["371402", "371403", "371422", "371423", "371424", "371425", "371426", "371427", "371428", "371481"]
COUNTIES.append("371482")
TAG = "bench_duties"
READ_TABLES = ("core_organization", "supervision_dutyrecord", "alerts_alertrequest", "alerts_alert")

BASELINE_SQL = [
    """
    CREATE TEMPORARY TABLE bench_alerts ON COMMIT DROP AS
    WITH inserted AS (
        INSERT INTO alerts_alert (rule, category, severity, status, region_code, regulator_id, organization_id,
                                  frame_no, battery_serial, evidence, dedup_key, event_at, created_at, dispatched_at,
                                  dispatch_due_at, due_at, escalation_level)
        SELECT r.rule, 'duty', 'low', 'dispatched', r.region_code, g.id, r.organization_id, '', '',
               r.evidence || jsonb_build_object('source', r.source), 'BASELINE:' || r.id, r.created_at, now(),
               now(), r.created_at + interval '10 minutes', now() + interval '15 days', 0
        FROM alerts_alertrequest r
        LEFT JOIN core_organization g ON g.kind = 'regulator' AND g.region_id = r.region_code
        WHERE r.processed_at IS NULL AND r.rule = 'DUTY_OVERDUE'
        RETURNING id, regulator_id
    )
    SELECT * FROM inserted
    """,
    """
    INSERT INTO alerts_alertdelivery (alert_id, organization_id, reason, delivered_at)
    SELECT id, regulator_id, 'jurisdiction', now() FROM bench_alerts WHERE regulator_id IS NOT NULL
    """,
    """
    INSERT INTO alerts_alerttransition (alert_id, action, from_status, to_status, note, at)
    SELECT id, 'dispatch', 'new', 'dispatched', '', now() FROM bench_alerts
    """,
    "UPDATE alerts_alertrequest SET processed_at = now() WHERE processed_at IS NULL AND rule = 'DUTY_OVERDUE'",
]


def scratch_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_execute(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)


def populate(enterprises: int, today: dt.date) -> None:
    """The enterprises, registered yesterday, with a login each for the few that need one (none do here)."""
    from django.utils import timezone

    from core.models import Organization, OrganizationKind, Region

    K = OrganizationKind
    regions = Region.objects.in_bulk(["371400", *COUNTIES])
    regulators = [
        Organization(
            name=f"{regions[code].name}市场监督管理局", kind=K.REGULATOR, uscc=f"11{code}REG00000", region_id=code
        )
        for code in ["371400", *COUNTIES]
    ]
    kinds = [K.DEALER] * 14 + [K.MANUFACTURER] * 3 + [K.BATTERY_MAKER] * 3
    holders = [
        Organization(
            name=f"基准企业{i:05d}",
            kind=kinds[i % len(kinds)],
            uscc=f"91{i:016d}",
            region_id=COUNTIES[i % len(COUNTIES)],
        )
        for i in range(enterprises)
    ]
    shops = [
        Organization(name=f"基准维修店{i:04d}", kind=K.REPAIR_SHOP, uscc=f"92{i:016d}", region_id=COUNTIES[i % 11])
        for i in range(500)
    ]
    Organization.objects.bulk_create([*regulators, *holders, *shops], batch_size=5000)
    yesterday = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=1), dt.time(9, 0)))
    Organization.objects.exclude(kind=K.REGULATOR).update(created_at=yesterday)


def baseline(conn) -> tuple[float, int]:
    started = time.perf_counter()
    with conn.transaction(force_rollback=True):
        for sql in BASELINE_SQL:
            conn.execute(sql)
        count = conn.execute("SELECT count(*) FROM bench_alerts").fetchone()[0]
    return time.perf_counter() - started, count


def drain_all() -> tuple[float, int]:
    from alerts.engine import drain_alert_requests

    started, total = time.perf_counter(), 0
    while done := drain_alert_requests():
        total += done
    return time.perf_counter() - started, total


def check(enterprises: int) -> int:
    from django.db.models import Count

    from alerts.models import Alert

    alerts = Alert.objects.filter(rule="DUTY_OVERDUE")
    per = alerts.values("organization_id").annotate(n=Count("id")).order_by("-n").values_list("n", flat=True)
    assert alerts.count() == enterprises, alerts.count()
    assert max(per) == 1, max(per)
    assert not alerts.filter(organization__kind="repair_shop").exists()
    assert not alerts.filter(regulator__isnull=True).exists()
    return alerts.count()


def reset(conn) -> None:
    """Remove this round's alerts and requests (and their rollup rows) for the next round."""
    conn.execute(
        "DELETE FROM alerts_alerttransition WHERE alert_id IN (SELECT id FROM alerts_alert WHERE rule = 'DUTY_OVERDUE')"
    )
    conn.execute(
        "DELETE FROM alerts_alertdelivery WHERE alert_id IN (SELECT id FROM alerts_alert WHERE rule = 'DUTY_OVERDUE')"
    )
    conn.execute("DELETE FROM alerts_alert WHERE rule = 'DUTY_OVERDUE'")
    conn.execute("DELETE FROM alerts_alertrequest WHERE rule = 'DUTY_OVERDUE'")
    conn.execute("VACUUM ANALYZE alerts_alert")
    conn.execute("VACUUM ANALYZE alerts_alertrequest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    name = f"ebike_bench_duties_{os.getpid()}"
    url = scratch_url(args.server_url, name)
    admin_execute(args.server_url, f'CREATE DATABASE "{name}"')
    try:
        run(url, args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_execute(args.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"scratch database {name} dropped")
        else:
            print(f"scratch database kept: {url}")


def run(url: str, args) -> None:
    started = time.perf_counter()
    from bench.environment import django_setup, psycopg_connect

    django_setup(tagged(url, TAG))
    import vehicles.ledger

    vehicles.ledger.outbox_kick = lambda: None  # the drain runs in this process, not in a worker
    from django.utils import timezone

    from supervision.duties import duty_overdue_sweep

    print(f"duties sweep benchmark: {machine()}")
    today = timezone.localdate()
    print(f"scratch database migrated in {time.perf_counter() - started:.1f} s")
    t0 = time.perf_counter()
    populate(args.enterprises, today)
    print(
        f"{args.enterprises:,} duty holders and 500 repair shops in 11 counties of 德州, registered yesterday, "
        f"in {time.perf_counter() - t0:.1f} s; sweeping as of {today} (yesterday's daily check missing)"
    )

    conn = psycopg_connect(autocommit=True)
    analyze(conn, READ_TABLES)
    rows = []
    meter = CpuMeter(conn, None, TAG)
    for number in range(1, args.rounds + 1):
        from django.db import connection

        connection.ensure_connection()
        before = meter.snapshot()
        t0 = time.perf_counter()
        raised = duty_overdue_sweep(today=today)
        sweep_s = time.perf_counter() - t0
        assert raised == args.enterprises, raised
        paused = meter.snapshot()
        with psycopg_connect() as base:
            base_before = meter.snapshot()
            base_s, base_n = baseline(base)
            base_cpu = CpuMeter.used(base_before, meter.snapshot())
        assert base_n == args.enterprises, base_n
        resumed = meter.snapshot()
        drain_s, drained = drain_all()
        assert drained == args.enterprises, drained
        sweep_cpu = CpuMeter.used(before, paused)
        drain_cpu = CpuMeter.used(resumed, meter.snapshot())
        cpu = {part: sweep_cpu[part] + drain_cpu[part] for part in ("client", "database")}
        alerts = check(args.enterprises)
        t1 = time.perf_counter()
        again = duty_overdue_sweep(today=today)
        again_s = time.perf_counter() - t1
        _, drained_again = drain_all()
        assert again == drained_again == 0, (again, drained_again)
        assert check(args.enterprises) == alerts
        rows.append(
            (
                sweep_s,
                drain_s,
                sweep_s + drain_s,
                base_s,
                again_s,
                cpu["client"] + cpu["database"],
                base_cpu["client"] + base_cpu["database"],
            )
        )
        print(
            f"round {number}: sweep {sweep_s:.2f} s ({raised:,} requests), engine drain {drain_s:.2f} s → "
            f"{alerts:,} alerts, one per enterprise; sweep to last alert {sweep_s + drain_s:.2f} s, CPU "
            f"{cpu['client']:.2f} s Python + {cpu['database']:.2f} s PostgreSQL (the sweep alone "
            f"{sweep_cpu['client']:.2f} + {sweep_cpu['database']:.2f}); baseline alerts by hand-written SQL "
            f"{base_s:.2f} s (CPU {base_cpu['client'] + base_cpu['database']:.2f} s); again: sweep {again_s:.2f} s, "
            f"0 raised, 0 alerts; load average {os.getloadavg()[0]:.2f}"
        )
        if number < args.rounds:
            reset(conn)

    def median(i: int) -> float:
        return statistics.median(row[i] for row in rows)

    print()
    print("| figure | median of rounds | rounds |")
    print("|---|---|---|")
    labels = [
        "sweep: INSERT … SELECT of the alert requests",
        "rule engine drain into routed, dispatched alerts",
        "**sweep to the last alert**",
        "baseline: alerts, deliveries, steps by hand-written SQL",
        "sweep run again (nothing raised)",
        "CPU of sweep + drain (this process + its PostgreSQL backend)",
        "CPU of the baseline",
    ]
    for i, label in enumerate(labels):
        print(f"| {label} | {median(i):.2f} s | {', '.join(f'{row[i]:.2f}' for row in rows)} |")
    total = median(2)
    print(
        f"\ntarget: the sweep over {args.enterprises:,} enterprises for one day ≤ 10 s, one alert each, none twice "
        f"when run twice: {'met' if total <= 10 else 'MISSED'} ({total:.2f} s); "
        f"engine/baseline {median(1) / median(3):.1f}×; load average now {os.getloadavg()[0]:.2f}"
    )
    conn.close()


if __name__ == "__main__":
    main()

"""The stolen-bike rule's cost in the rule engine: alerts.engine.evaluate with and without STOLEN_SEEN, with and
without stolen bikes in the batch.

    .venv/bin/python bench/bench_stolen.py [--database-url URL] [--events 20000] [--rounds 5] [--stolen-share 0.02]

Against a database loaded by bench/generate.py (1,000,000 bikes; default ebike_h2). It does not migrate the
database and leaves it as it was: the stolen reports of the third figure are inserted in a transaction that is
rolled back at the end.

1. The engine's mix of bench_alerts.py figure 2 (`--events` repaired and battery_fitted events on registered bikes,
   in memory), evaluated in batches of engine.BATCH, alternately with STOLEN_SEEN left out of the registry (the
   engine as it was) and with it, `--rounds` times each; events/s and the ratio. Target: the stolen check costs
   ≤ 5% of the engine's events/s.
2. The same with `--stolen-share` of the batch's bikes reported stolen (before the events): the findings it raises
   and the events/s.
3. Steps no other rule reads (`received`, on the same bikes): before, evaluate dropped them without a query; now
   the stolen check reads the batch's open reports, one query per batch. Its cost per batch of 500.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.alerts_world import events_mix, lifecycle_events
from bench.httpbench import machine

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"


class Rollback(Exception):
    pass


def django_on(database_url: str) -> None:
    """Django on the bench database, as it is: no migration (the database is someone else's to change)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def timed(batches, evaluate) -> tuple[float, int]:
    started, found = time.perf_counter(), 0
    for batch in batches:
        found += len(evaluate(batch))
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stolen-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    django_on(args.database_url)

    from django.db import connection, transaction
    from django.utils import timezone

    from alerts.engine import BATCH, evaluate
    from alerts.models import RuleCode
    from alerts.rules import REGISTRY
    from bench.environment import psycopg_connect
    from core.models import Organization, OrganizationKind
    from vehicles.models import StolenReport

    print(f"bench_stolen · {machine()}", flush=True)
    with psycopg_connect(application_name="bench_stolen") as conn:
        rows, counts = events_mix(conn, args.events, args.seed)
    events = lifecycle_events(rows)
    quiet = [dataclasses.replace(e, type="received", payload={}) for e in rows]
    quiet_events = lifecycle_events(quiet)
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    quiet_batches = [quiet_events[i : i + BATCH] for i in range(0, len(quiet_events), BATCH)]
    print(f"  {len(events):,} events: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)

    with_rule = REGISTRY[RuleCode.STOLEN_SEEN]
    without_rule = dataclasses.replace(with_rule, on=frozenset())

    def engine(stolen_rule: bool):
        REGISTRY[RuleCode.STOLEN_SEEN] = with_rule if stolen_rule else without_rule
        return evaluate

    results: dict[str, list[float]] = {k: [] for k in ("without", "with", "without·stolen", "with·stolen")}
    quiet_times: dict[str, list[float]] = {"without": [], "with": []}
    findings: dict[str, int] = {}
    try:
        with transaction.atomic():
            timed(batches, engine(True))  # warm the caches and the plans
            for _round in range(args.rounds):
                for name, rule in (("without", False), ("with", True)):
                    seconds, found = timed(batches, engine(rule))
                    results[name].append(seconds)
                    findings[name] = found
                for name, rule in (("without", False), ("with", True)):
                    quiet_times[name].append(timed(quiet_batches, engine(rule))[0])
            vehicle_ids = sorted({e.vehicle_id for e in events})
            stolen = vehicle_ids[:: max(1, round(1 / args.stolen_share))]
            police = Organization.objects.filter(kind=OrganizationKind.POLICE).order_by("pk").first()
            earliest = min(e.occurred_at for e in events) - dt.timedelta(days=1)
            region_of = {e.vehicle_id: e.region_code for e in events}
            StolenReport.objects.bulk_create(
                StolenReport(
                    vehicle_id=pk,
                    region_code=region_of[pk],
                    report_no=f"BENCH-{pk}",
                    reported_at=earliest,
                    reported_by=police,
                    created_at=timezone.now(),
                )
                for pk in stolen
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE vehicles_stolenreport")
            for _round in range(args.rounds):
                for name, rule in (("without·stolen", False), ("with·stolen", True)):
                    seconds, found = timed(batches, engine(rule))
                    results[name].append(seconds)
                    findings[name] = found
            raise Rollback
    except Rollback:
        pass
    finally:
        REGISTRY[RuleCode.STOLEN_SEEN] = with_rule

    def rate(name: str) -> float:
        return len(events) / statistics.median(results[name])

    print(f"\n1./2. evaluate, {len(batches)} batches of {BATCH}, median of {args.rounds} rounds each")
    print(f"  {'':<42}{'events/s':>10}{'findings':>10}{'vs without':>12}")
    for name, label in (
        ("without", "without STOLEN_SEEN (the engine before)"),
        ("with", "with STOLEN_SEEN, no stolen bike"),
        ("without·stolen", f"without STOLEN_SEEN, {len(stolen)} bikes stolen"),
        ("with·stolen", f"with STOLEN_SEEN, {len(stolen)} bikes stolen"),
    ):
        base = "without·stolen" if "stolen" in name else "without"
        ratio = rate(name) / rate(base)
        print(f"  {label:<42}{rate(name):>10,.0f}{findings[name]:>10,}{ratio:>11.1%}")
    cost = 1 - rate("with") / rate("without")
    verdict = "met" if cost <= 0.05 else "MISSED"
    print(f"  cost of the stolen check: {cost:.1%} of the engine's events/s (target ≤ 5%): {verdict}")
    quiet_cost = statistics.median(quiet_times["with"]) - statistics.median(quiet_times["without"])
    per_batch = quiet_cost / len(quiet_batches) * 1000
    print(
        f"\n3. steps no other rule reads (received), {len(quiet_batches)} batches: "
        f"{per_batch:.2f} ms per batch of {BATCH} for the stolen check ({per_batch / BATCH * 1000:.1f} µs an event)"
    )


if __name__ == "__main__":
    main()

"""The rule engine: event → alert in the regulator's inbox, rules in batch, and the inbox list at 100,000 alerts.

    .venv/bin/python bench/bench_alerts.py [--database-url URL] [--redis-url URL] [--only 1,2,3]
        [--rate 50] [--seconds 30] [--baseline-seconds 10] [--pool solo|prefork] [--concurrency 1]
        [--events 20000] [--alerts 100000] [--requests 300] [--regulator bench_regulator_371400] [--cleanup]

Against a database loaded by bench/generate.py (1,000,000 bikes). Three figures, each beside a baseline measured
in the same run, with the ratio (this machine is shared and noisy: read the ratios):

1. Event → alert visible in the regulator's inbox. A real `celery -A config worker` (solo pool by default; beat
   is not needed: each committed ledger write kicks a drain after commit). This process writes `repaired` events
   (kind speed_limiter, one MOD_SPEED_UNLOCK alert each) on distinct registered bikes of the city, open loop at
   `--rate` per second for `--seconds`, each with vehicles.ledger.event_append in a transaction holding the bike
   locked (the repairs service's path). A poller thread on its own connection runs the regulator-scoped query
   (alerts.selectors.alerts_visible_to for the city regulator, filtered to the events waiting) every 10 ms and
   records, per event, the time from its commit to the first answer that shows its alert. Baseline, afterwards,
   with the same worker running: the same write plus a raw SQL INSERT of the alert row in the same transaction
   (visible at commit: the floor, i.e. what polling itself adds).
2. Rules in batch, in this one process (what one worker process does): `--events` mixed events (repaired with and
   without violations, battery_fitted with and without a certified battery) evaluated with alerts.engine.evaluate
   in batches of engine.BATCH, alone and with raise_findings in a transaction rolled back. Baseline: the same
   checks in one SQL statement over the same events (a temporary table), a SELECT of the findings, and an
   INSERT … SELECT of alerts, deliveries and dispatch steps, rolled back. Both must find the same dedup keys.
3. The inbox list: 100,000 alerts in the city (COPY; districts by their share of bikes, nine rules, statuses by
   age, 90 days), then the first page (50) through the API (in-process DRF, Bearer token of the city regulator)
   and through the page fragment the inbox refreshes (/alerts/rows/, logged in), p50/p99 over `--requests`,
   beside the hand-written SQL of the same page. Each SELECT is timed apart (the API's counts among them), with
   EXPLAIN ANALYZE of the page and the count; then the API again with its count never cached (the worst case).

Database connections are tagged `application_name=bench_alerts` (the worker's `bench_alerts_worker`), so other
benchmarks' CPU meters leave them out.

Everything written is deleted at the end, also after an error (`--cleanup` alone removes what an interrupted run
left). Unpublished outbox messages of other writers are set aside (published_at = 1970-01-01) while the worker
runs and given back afterwards, so the worker drains only this test's events.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.alerts_world import (
    FINDINGS_SQL,
    backlog_set_aside,
    cleanup,
    events_copy,
    events_mix,
    inbox_load,
    lifecycle_events,
    raise_sql,
    repaired_payload,
    shops_create,
)
from bench.httpbench import ROOT, CpuMeter, load_average, machine, ms, percentile, server_env, tagged

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ebike_h2"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def pcts(values: list[float]) -> str:
    return " / ".join(ms(percentile(values, p)) for p in (50, 95, 99))


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


class Rollback(Exception):
    pass


# 1. Event → alert ---------------------------------------------------------------------------------------------


class Worker:
    """`celery -A config worker` on the bench database and Redis DB, started and stopped by this process only."""

    def __init__(self, database_url: str, redis_url: str, pool: str, concurrency: int, log: Path, app: str):
        self.log = log
        self.description = f"celery -A {app} worker, {pool} pool" + (
            f", concurrency {concurrency}" if pool != "solo" else ""
        )
        self.args = [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            app,
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--queues=celery",  # the rule engine's worker, as in docker-compose (e-mail and webhooks: notifier)
            "--loglevel=INFO",
            f"--logfile={log}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=alertbench-{os.getpid()}@%h",
        ]
        self.env = server_env(database_url, redis_url)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Worker:
        self.log.write_text("")
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the worker exited with {self.process.returncode}; see {self.log}")
            if " ready." in self.log.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"the worker was not ready within 60 s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown of the worker we started
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def cpu(self) -> float:
        try:
            main = psutil.Process(self.process.pid)
            processes = [main, *main.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def tasks(self, skip: int = 0) -> dict[str, list[tuple[float, int]]]:
        """Task runs logged by the worker (after the first `skip` lines): name → [(seconds, result)]."""
        found: dict[str, list[tuple[float, int]]] = {}
        lines = self.log.read_text(errors="replace").splitlines()[skip:]
        for line in lines:
            match = re.search(r"Task alerts\.tasks\.(\w+)\[[^\]]+\] succeeded in ([\d.e-]+)s: (\d+)", line)
            if match:
                found.setdefault(match.group(1), []).append((float(match.group(2)), int(match.group(3))))
        return found

    def lines(self) -> int:
        return len(self.log.read_text(errors="replace").splitlines())


class Poller(threading.Thread):
    """Polls the regulator-scoped query for the alerts of the events waiting; records commit → visible."""

    def __init__(self, user, interval: float):
        super().__init__(daemon=True)
        self.user, self.interval = user, interval
        self.pending: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self.query_times: list[float] = []
        self.lock, self.done = threading.Lock(), threading.Event()
        self.error: BaseException | None = None

    def add(self, event_id: int, committed: float) -> None:
        with self.lock:
            self.pending[event_id] = committed

    def waiting(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self) -> None:
        from django.db import connection

        from alerts.selectors import alerts_visible_to

        try:
            while not self.done.is_set():
                with self.lock:
                    ids = list(self.pending)
                if ids:
                    started = time.perf_counter()
                    visible = alerts_visible_to(self.user).filter(event_id__in=ids)
                    found = list(visible.values_list("event_id", flat=True))
                    answered = time.perf_counter()
                    self.query_times.append(answered - started)
                    with self.lock:
                        for event_id in found:
                            committed = self.pending.pop(event_id, None)
                            if committed is not None:
                                self.seen[event_id] = answered - committed
                time.sleep(self.interval)
        except BaseException as error:  # reported by the main thread
            self.error = error
        finally:
            connection.close()


BASELINE_ALERT = """
INSERT INTO alerts_alert (rule, category, severity, status, region_code, regulator_id, organization_id, vehicle_id,
    frame_no, battery_serial, evidence, dedup_key, event_id, event_at, created_at, dispatched_at, dispatch_due_at,
    due_at, escalation_level)
SELECT 'MOD_SPEED_UNLOCK', 'speed', 'high', 'dispatched', %(region)s, %(regulator)s, %(shop)s, v.id, v.frame_no, '',
    jsonb_build_object('reasons', '["speed_limiter_work"]'::jsonb, 'measured_max_speed_kmh', NULL,
        'limit_kmh', s.max_design_speed_kmh::text, 'standard', s.code, 'repair', %(repair)s, 'kind', 'speed_limiter'),
    'MOD_SPEED_UNLOCK:repair:' || %(repair)s, %(event)s, %(at)s, now(), now(), %(at)s + interval '10 minutes',
    %(at)s + interval '3 days', 0
FROM vehicles_vehicle v JOIN catalog_vehiclemodel m ON m.id = v.model_id JOIN catalog_standard s ON s.id = m.standard_id
WHERE v.id = %(vehicle)s
"""


def repair_write(
    vehicle_id: int, shop, repair: int, regulator_id: int | None, baseline: bool
) -> tuple[int, float, float]:
    """A `repaired` event as the repairs service writes it (bike locked, event_append); the baseline adds its alert
    row in the same transaction. Returns (event id, commit time, transaction seconds)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from vehicles.ledger import event_append
    from vehicles.models import EventType, Vehicle

    stamp: list[float] = []
    started = time.perf_counter()
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.perf_counter()))  # first hook: right after COMMIT
        locked = Vehicle.objects.select_for_update(of=("self",)).get(pk=vehicle_id)
        at = timezone.now()
        event = event_append(
            vehicle=locked,
            type=EventType.REPAIRED,
            occurred_at=at,
            region_code=shop.region_id,
            organization_id=shop.pk,
            payload=repaired_payload(repair, shop.pk, kind="speed_limiter"),
        )
        if baseline:
            with connection.cursor() as cursor:
                cursor.execute(
                    BASELINE_ALERT,
                    {
                        "region": shop.region_id,
                        "regulator": regulator_id,
                        "shop": shop.pk,
                        "repair": repair,
                        "event": event.pk,
                        "at": at,
                        "vehicle": vehicle_id,
                    },
                )
    return event.pk, stamp[0], stamp[0] - started


def phase_latency(conn, args, user, tag: str) -> dict:
    from alerts.routing import Router

    city = user.organization.region.prefix
    districts = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM core_region WHERE parent_id = %s ORDER BY code", [user.organization.region_id]
        )
    ][:4]
    shops = shops_create(districts, tag)
    router = Router()
    regulators = {s.pk: getattr(router.regulator_for(s.region_id), "pk", None) for s in shops}
    warmup = 20
    engine_count = int(args.rate * args.seconds)
    baseline_count = int(args.rate * args.baseline_seconds)
    alone_rounds, alone_size = 20, 5
    need = warmup + engine_count + baseline_count + alone_rounds * alone_size
    bikes = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM vehicles_vehicle TABLESAMPLE SYSTEM (5) "
            "WHERE status = 'registered' AND region_id LIKE %s LIMIT %s",
            [f"{city}%", need],
        )
    ]
    if len(bikes) < need:
        raise SystemExit(f"only {len(bikes)} registered bikes found in {city}…, {need} needed")
    set_aside = backlog_set_aside(conn)
    # The set-aside left dead index entries in the outbox's partial index of unpublished messages (autovacuum is off
    # here): vacuum them, and write the dirtied pages out now rather than during the measurement.
    conn.execute("VACUUM (ANALYZE) vehicles_outboxmessage")
    conn.execute("CHECKPOINT")
    print(
        f"  {len(shops)} repair shops in {', '.join(districts)}; {need:,} registered bikes; "
        f"{set_aside:,} unpublished outbox messages of other writers set aside",
        flush=True,
    )

    log = Path(tempfile.gettempdir()) / f"bench_alerts_worker_{tag}.log"
    poller = Poller(user, args.poll_interval)
    poller.start()
    sequence = iter(range(need))
    results: dict = {}
    meter = CpuMeter(conn, None, "bench_alerts_worker")
    worker_url = tagged(args.database_url, "bench_alerts_worker")
    try:
        with Worker(worker_url, args.redis_url, args.pool, args.concurrency, log, args.worker_app) as worker:

            def run(count: int, baseline: bool, label: str) -> dict:
                latencies_before = dict(poller.seen)
                transactions, lags, ids = [], [], []
                started = time.perf_counter()
                for i in range(count):
                    n = next(sequence)
                    scheduled = started + i / args.rate
                    pause = scheduled - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    else:
                        lags.append(-pause)
                    shop = shops[n % len(shops)]
                    event_id, committed, seconds = repair_write(
                        bikes[n], shop, 900_000_000 + n, regulators[shop.pk], baseline
                    )
                    poller.add(event_id, committed)
                    transactions.append(seconds)
                    ids.append(event_id)
                written = time.perf_counter() - started
                deadline = time.perf_counter() + args.drain_timeout
                while poller.waiting() and time.perf_counter() < deadline:
                    time.sleep(0.05)
                missing = [i for i in ids if i not in poller.seen]
                latencies = [poller.seen[i] for i in ids if i in poller.seen and i not in latencies_before]
                print(
                    f"  {label:9s} {count:5,d} events in {written:5.1f}s ({count / written:5.1f}/s): commit → visible "
                    f"p50/p95/p99 {pcts(latencies)} ms; missing {len(missing)}",
                    flush=True,
                )
                return {
                    "latencies": latencies + [float("inf")] * len(missing),
                    "transactions": transactions,
                    "lag": max(lags, default=0.0),
                    "rate": count / written,
                    "missing": len(missing),
                }

            run(warmup, False, "warm-up")
            lines, cpu, before = worker.lines(), worker.cpu(), meter.snapshot()
            results["engine"] = run(engine_count, False, "engine")
            results["engine"]["worker_cpu"] = worker.cpu() - cpu
            results["engine"]["worker_db_cpu"] = CpuMeter.used(before, meter.snapshot())["database"]
            results["tasks"] = worker.tasks(lines)
            results["baseline"] = run(baseline_count, True, "baseline")
            worker_description = worker.description
    finally:
        poller.done.set()
        poller.join(10)
    if poller.error:
        raise poller.error
    results["poll"] = poller.query_times
    results["worker"] = worker_description

    # One drain iteration alone, in this process, with the worker stopped: what each pass of the worker's loop
    # costs for a handful of events (the latency above is about 1.5 passes plus the poll).
    from django.db import connection

    from alerts.engine import drain_outbox

    passes, clock = [], QueryClock()
    for _ in range(alone_rounds):
        for _ in range(alone_size):
            n = next(sequence)
            shop = shops[n % len(shops)]
            repair_write(bikes[n], shop, 900_000_000 + n, regulators[shop.pk], False)
        started = time.perf_counter()
        with connection.execute_wrapper(clock):
            drained = drain_outbox()
        passes.append((time.perf_counter() - started, drained))
    results["alone"] = {"passes": passes, "clock": clock, "size": alone_size}
    results["bikes"] = bikes
    results["log"] = log
    return results


def report_latency(r: dict, args) -> tuple[str, ...]:
    engine, baseline = r["engine"], r["baseline"]
    print()
    print(
        f"1. Event → alert visible to the city regulator ({r['worker']}; writes open loop at {args.rate:g}/s, "
        f"poll every {args.poll_interval * 1000:g} ms)"
    )
    print(f"{'':28s}{'events':>8s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}{'max ms':>9s}{'write tx p50 ms':>17s}")
    for label, part in (("engine (worker drains)", engine), ("baseline (alert inline)", baseline)):
        lat = part["latencies"]
        print(
            f"{label:28s}{len(lat):8,d}{ms(percentile(lat, 50)):>9s}{ms(percentile(lat, 95)):>9s}"
            f"{ms(percentile(lat, 99)):>9s}{ms(max(lat)):>9s}{ms(statistics.median(part['transactions'])):>17s}"
        )
    drains = r["tasks"].get("drain", [])
    notifies = r["tasks"].get("notify_dispatched", [])
    busy = sum(s for s, _ in drains)
    events = len(engine["latencies"])
    if drains:
        sizes = [n for _, n in drains]
        print(
            f"  worker during the engine run: {len(drains)} drain tasks, {statistics.mean(sizes):.1f} events each "
            f"(max {max(sizes)}), run time p50/p95/p99 {pcts([s for s, _ in drains])} ms; "
            f"{len(notifies)} notify_dispatched tasks in the same worker, p50 "
            f"{ms(percentile([s for s, _ in notifies], 50))} ms, {sum(s for s, _ in notifies):.1f}s in all"
        )
        print(
            f"  drain tasks ran {busy:.1f}s of the {args.seconds:g}s (a drain loops while messages keep coming); "
            f"worker CPU {engine['worker_cpu'] / events * 1000:.1f} ms per event, its PostgreSQL backend "
            + (
                f"{engine['worker_db_cpu'] / events * 1000:.1f} ms; "
                if engine["worker_db_cpu"]
                else "not measured (closed after each task); "
            )
            + f"poll query p50 {ms(percentile(r['poll'], 50))} ms"
        )
    alone = r["alone"]
    times = [t for t, _ in alone["passes"]]
    clock = alone["clock"]
    print(
        f"  one drain_outbox pass alone (in-process, worker stopped), {alone['size']} events each: "
        f"p50 {ms(percentile(times, 50))} ms, {clock.queries / len(times):.0f} queries per pass, "
        f"{clock.seconds / len(times) * 1000:.1f} ms of them waiting for PostgreSQL"
    )
    if engine["lag"] > 0.05:
        print(f"  the writer fell behind its schedule by up to {engine['lag'] * 1000:.0f} ms")
    p50, p99 = percentile(engine["latencies"], 50), percentile(engine["latencies"], 99)
    floor = percentile(baseline["latencies"], 50)
    return (
        "1. event → alert visible, p50 / p99",
        f"{ms(p50)} / {ms(p99)} ms",
        f"{ms(floor)} / {ms(percentile(baseline['latencies'], 99))} ms",
        f"{floor / p50:.0%}" if p50 else "-",
        "p50 ≤ 500, p99 ≤ 2000 ms",
        met(p50 <= 0.5 and p99 <= 2.0),
    )


# 2. Rules in batch --------------------------------------------------------------------------------------------


class QueryClock:
    """Time spent in the database (Django's connection) while it is installed, and the number of queries."""

    def __init__(self):
        self.seconds, self.queries = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def phase_batch(conn, args) -> dict:
    from django.db import connection, transaction

    from alerts.engine import BATCH, Source, evaluate, raise_findings

    started = time.perf_counter()
    rows, counts = events_mix(conn, args.events, args.seed)
    events_copy(conn, rows)
    events = lifecycle_events(rows)
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    print(
        f"  {len(events):,} events ({', '.join(f'{k} {v:,}' for k, v in counts.items())}) "
        f"prepared in {time.perf_counter() - started:.1f}s",
        flush=True,
    )

    def python_evaluate() -> tuple[float, list, QueryClock]:
        clock = QueryClock()
        t0 = time.perf_counter()
        with connection.execute_wrapper(clock):
            found = [pair for batch in batches for pair in evaluate(batch)]
        return time.perf_counter() - t0, found, clock

    def python_raise() -> tuple[float, int, QueryClock]:
        clock = QueryClock()
        raised = 0
        t0 = time.perf_counter()
        with connection.execute_wrapper(clock), transaction.atomic():
            for batch in batches:
                found = evaluate(batch)
                raised += len(raise_findings([(Source(e.occurred_at, e.pk), f) for e, f in found]))
            elapsed = time.perf_counter() - t0
            transaction.set_rollback(True)
        return elapsed, raised, clock

    def sql_select() -> tuple[float, list]:
        t0 = time.perf_counter()
        found = conn.execute(FINDINGS_SQL).fetchall()
        return time.perf_counter() - t0, found

    def sql_raise() -> tuple[float, int]:
        statement = raise_sql()
        t0 = time.perf_counter()
        try:
            with conn.transaction():
                raised = conn.execute(statement).fetchone()[0]
                elapsed = time.perf_counter() - t0
                raise Rollback
        except Rollback:
            pass
        return elapsed, raised

    python_evaluate()  # warm-up: imports, caches, plans
    sql_select()
    evals, selects, raises, sql_raises = [], [], [], []
    for _ in range(args.batch_rounds):
        seconds, found, eval_clock = python_evaluate()
        evals.append(seconds)
        sql_seconds, sql_found = sql_select()
        selects.append(sql_seconds)
    print(f"  evaluate: {len(evals)} rounds each of the engine and SQL", flush=True)
    for _ in range(args.batch_rounds):
        seconds, raised, raise_clock = python_raise()
        raises.append(seconds)
        sql_seconds, sql_raised = sql_raise()
        sql_raises.append(sql_seconds)
    print(f"  raise: {len(raises)} rounds each of the engine and SQL, rolled back", flush=True)
    python_keys = {f.dedup_key for _, f in found}
    sql_keys = {row[2] for row in sql_found}
    return {
        "events": len(events),
        "counts": counts,
        "evaluate": statistics.median(evals),
        "select": statistics.median(selects),
        "raise": statistics.median(raises),
        "sql_raise": statistics.median(sql_raises),
        "findings": len(found),
        "sql_findings": len(sql_found),
        "raised": raised,
        "sql_raised": sql_raised,
        "same": python_keys == sql_keys,
        "only_python": sorted(python_keys - sql_keys)[:3],
        "only_sql": sorted(sql_keys - python_keys)[:3],
        "eval_clock": eval_clock,
        "raise_clock": raise_clock,
        "batches": len(batches),
        "batch": BATCH,
    }


def report_batch(r: dict, args) -> tuple[str, ...]:
    n = r["events"]
    print()
    print(
        f"2. Rules in batch, one process: {n:,} events in {r['batches']} batches of {r['batch']} "
        f"(median of {args.batch_rounds} rounds; raise rolled back)"
    )
    print(f"   mix: {', '.join(f'{k} {v / n:.0%}' for k, v in r['counts'].items())}")
    print(f"{'':44s}{'seconds':>8s}{'events/s':>10s}{'findings':>10s}{'SQL events/s':>14s}{'engine/SQL':>12s}")
    rows = (
        ("evaluate (findings only)", r["evaluate"], r["findings"], r["select"]),
        ("evaluate + raise_findings", r["raise"], r["raised"], r["sql_raise"]),
    )
    for label, seconds, findings, sql_seconds in rows:
        print(
            f"{label:44s}{seconds:8.2f}{n / seconds:10,.0f}{findings:10,d}{n / sql_seconds:14,.0f}"
            f"{sql_seconds / seconds:12.0%}"
        )
    for label, clock, seconds in (
        ("evaluate", r["eval_clock"], r["evaluate"]),
        ("evaluate + raise", r["raise_clock"], r["raise"]),
    ):
        print(
            f"  {label}: {clock.queries} queries, {clock.seconds:.2f}s waiting for PostgreSQL, "
            f"{seconds - clock.seconds:.2f}s in Python"
        )
    same = "same dedup keys" if r["same"] else f"DIFFERENT: engine only {r['only_python']}, SQL only {r['only_sql']}"
    print(
        f"  engine and SQL found {r['findings']:,} / {r['sql_findings']:,} findings and raised {r['raised']:,} / "
        f"{r['sql_raised']:,} alerts: {same}"
    )
    return (
        "2. rules in batch, events/s (evaluate; + raise)",
        f"{n / r['evaluate']:,.0f}; {n / r['raise']:,.0f}",
        f"{n / r['select']:,.0f}; {n / r['sql_raise']:,.0f}",
        f"{r['select'] / r['evaluate']:.0%}; {r['sql_raise'] / r['raise']:.0%}",
        "≥ 5,000 events/s",
        f"{met(n / r['evaluate'] >= 5000)}; {met(n / r['raise'] >= 5000)}",
    )


# 3. Inbox list ------------------------------------------------------------------------------------------------

RAW_PAGE = """
SELECT a.id, a.rule, a.category, a.severity, a.status, a.region_code, a.frame_no, a.battery_serial, a.evidence,
       a.created_at, a.dispatched_at, a.due_at, a.closed_at, a.escalation_level, a.regulator_id, r.name,
       a.organization_id, o.name
FROM alerts_alert a
LEFT JOIN core_organization o ON o.id = a.organization_id
LEFT JOIN core_organization r ON r.id = a.regulator_id
WHERE a.region_code LIKE %s OR a.organization_id = %s
ORDER BY a.created_at DESC, a.id DESC
LIMIT 50
"""
RAW_COUNT = "SELECT count(*) FROM alerts_alert a WHERE a.region_code LIKE %s OR a.organization_id = %s"


def captured_selects(send) -> list[tuple[str, tuple]]:
    from django.db import connection

    captured = []

    def capture(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        send()
    return captured


def query_label(sql: str) -> str:
    if "COUNT(" in sql.upper():
        return "count up to 1,001" if "LIMIT 1001" in sql else "count"
    if re.search(r"LIMIT 5[01]\b", sql) and '"alerts_alert"' in sql:
        return "page"
    if "LIMIT 500" in sql:
        return "enterprises"
    table = re.search(r'FROM "(\w+)"', sql)
    return table.group(1).removeprefix("core_").removeprefix("django_") if table else "?"


def explain(run, sql: str, params) -> list[str]:
    """EXPLAIN ANALYZE, summary lines: the nodes that scan, sort or unique, and the times."""
    plan = [row[0] for row in run("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
    keep = []
    for line in plan:
        text = line.strip().removeprefix("->  ")
        if re.search(r"Scan|Sort|Unique|Aggregate|Limit|Planning Time|Execution Time", text):
            keep.append(re.sub(r"\(cost=[^)]*\) ", "", text)[:140])
    return keep


def timed(fn, count: int, seconds: float = 60) -> list[float]:
    out = []
    deadline = time.perf_counter() + seconds
    for _ in range(count):
        if out and time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def django_rows(sql: str, params) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def phase_inbox(conn, args, user, tag: str) -> dict:
    from django.core.cache import cache
    from django.test import Client

    from core.models import ApiToken
    from core.pagination import COUNT_SECONDS
    from core.tokens import token_issue

    started = time.perf_counter()
    loaded = inbox_load(conn, user.organization.region_id, args.alerts, tag, args.seed)
    conn.execute("VACUUM (ANALYZE) alerts_alert")  # autovacuum is off here; in production it would have run
    conn.execute("VACUUM (ANALYZE) alerts_alertdelivery")
    prefix = user.organization.region.prefix
    params = [f"{prefix}%", user.organization_id]
    visible = conn.execute(RAW_COUNT, params).fetchone()[0]
    print(
        f"  {loaded['alerts']:,} alerts over {loaded['districts']} districts loaded (COPY, with deliveries) and "
        f"vacuumed in {time.perf_counter() - started:.1f}s; {visible:,} visible to {user.username}",
        flush=True,
    )
    last_token = ApiToken.objects.order_by("-id").values_list("id", flat=True).first() or 0
    token = token_issue(user=user)
    api, page = Client(), Client()
    page.force_login(user)
    try:
        seen = conn.execute("SELECT max(id) FROM alerts_alert").fetchone()[0]
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

        def api_get():
            response = api.get("/api/v1/alerts/", **headers)
            if response.status_code != 200:
                raise SystemExit(f"API: {response.status_code} {response.content[:300]!r}")
            return response

        def fragment_get():
            response = page.get("/alerts/rows/", {"seen": seen, "page": 1})
            if response.status_code != 200:
                raise SystemExit(f"fragment: {response.status_code} {response.content[:300]!r}")
            return response

        def raw_page_count():
            conn.execute(RAW_COUNT, params).fetchone()
            return conn.execute(RAW_PAGE, params).fetchall()

        body = api_get().json()
        for _ in range(3):  # warm-up
            api_get(), fragment_get(), raw_page_count()

        # The measured loop: API, fragment and hand-written SQL in turn, so noise hits all three.
        results = {"api": [], "fragment": [], "raw_count": []}
        deadline = time.perf_counter() + args.inbox_seconds
        for round_no in range(args.requests):
            if time.perf_counter() > deadline:
                break
            sides = [("api", api_get), ("fragment", fragment_get)]
            if round_no % 2 == 0:  # the baseline every other round: its median needs fewer samples
                sides.append(("raw_count", raw_page_count))
            for name, fn in sides:
                t0 = time.perf_counter()
                fn()
                results[name].append(time.perf_counter() - t0)
        rounds = len(results["api"])
        print(f"  {rounds} rounds of API, fragment (and SQL every other) in {time.perf_counter() - started:.0f}s")

        # The SELECTs each side sends, each one's own time, and EXPLAIN ANALYZE of the page and the count.
        def counts_forgotten():
            client = cache._cache.get_client(write=True)  # the raw keys carry Django's prefix and version
            keys = list(client.scan_iter(match="*count:*"))
            if keys:
                client.delete(*keys)

        counts_forgotten()  # so that the capture has the exact count too
        api_queries = captured_selects(api_get)
        counts_forgotten()
        fragment_queries = captured_selects(fragment_get)

        def breakdown(queries) -> list[tuple[str, float]]:
            return [
                (query_label(sql), statistics.median(timed(lambda s=sql, p=qp: django_rows(s, p), 7, 10)))
                for sql, qp in queries
            ]

        api_breakdown, fragment_breakdown = breakdown(api_queries), breakdown(fragment_queries)
        api_sql = {query_label(sql): (sql, qp) for sql, qp in api_queries}
        plans = {f"API {name}": explain(conn.execute, *api_sql[name]) for name in ("page", "count")}
        plans["hand-written page"] = explain(conn.execute, RAW_PAGE, params)

        # The SQL by hand (median of 15): the page and the counts as sent.
        sql_variants = {
            name: statistics.median(timed(lambda s=sql, p=qp: conn.execute(s, p).fetchall(), 15, 15))
            for name, (sql, qp) in api_sql.items()
            if name in ("page", "count", "count up to 1,001")
        }

        # A count of more than 1,000 rows is cached for COUNT_SECONDS: the loop above paid for it once every
        # COUNT_SECONDS. Here every request pays it (the key deleted first): the worst case, as after a filter change.
        def api_uncached():
            counts_forgotten()
            return api_get()

        uncached = timed(api_uncached, min(args.requests, 100), 30)
        return {
            "loaded": loaded,
            "visible": visible,
            "api_count": body.get("count"),
            "times": results,
            "api_breakdown": api_breakdown,
            "fragment_breakdown": fragment_breakdown,
            "plans": plans,
            "sql_variants": sql_variants,
            "uncached": uncached,
            "count_seconds": COUNT_SECONDS,
        }
    finally:
        page.logout()
        ApiToken.objects.filter(user=user, id__gt=last_token).delete()


def report_inbox(r: dict, args, user) -> tuple[str, ...]:
    t = r["times"]
    print()
    print(
        f"3. Inbox, first page of 50 of {r['visible']:,} alerts visible to {user.username} (API count "
        f"{r['api_count']:,}); {len(t['api'])} requests each, in turn, the SQL every other round (in-process client, "
        "full WSGI stack)"
    )
    if len(t["api"]) < args.requests:
        print(f"   (the {args.inbox_seconds:g} s limit stopped the loop before {args.requests} requests)")
    print(f"{'':42s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}{'SQL/this p50':>14s}")
    raw50 = percentile(t["raw_count"], 50)
    for name, label in (
        ("api", "API GET /api/v1/alerts/"),
        ("fragment", "page fragment GET /alerts/rows/"),
        ("raw_count", "hand-written SQL: count + page"),
    ):
        values = t[name]
        print(
            f"{label:42s}{ms(percentile(values, 50)):>9s}{ms(percentile(values, 95)):>9s}"
            f"{ms(percentile(values, 99)):>9s}{raw50 / percentile(values, 50):>14.0%}"
        )
    for title, parts in (("API", r["api_breakdown"]), ("fragment", r["fragment_breakdown"])):
        text = ", ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in parts)
        print(f"  {title}: {len(parts)} SELECTs, each alone (median, ms): {text}")
    print("  EXPLAIN ANALYZE (summary lines):")
    for name, lines in r["plans"].items():
        print(f"    {name}:")
        for line in lines:
            print(f"      {line}")
    print("  the SQL alone (median, ms): " + ", ".join(f"{k} {v * 1000:.1f}" for k, v in r["sql_variants"].items()))
    u = r["uncached"]
    print(
        f"  API with the count never cached (every request counts all {r['visible']:,}; in the loop above one "
        f"request in {r['count_seconds']} s does): p50 {ms(percentile(u, 50))} / p99 {ms(percentile(u, 99))} ms "
        f"over {len(u)} requests"
    )
    api99, frag99 = percentile(t["api"], 99), percentile(t["fragment"], 99)
    return (
        "3. inbox first page, p50 / p99 (API; fragment)",
        f"{ms(percentile(t['api'], 50))} / {ms(api99)}; {ms(percentile(t['fragment'], 50))} / {ms(frag99)} ms",
        f"{ms(raw50)} / {ms(percentile(t['raw_count'], 99))} ms",
        f"{raw50 / percentile(t['api'], 50):.0%}; {raw50 / percentile(t['fragment'], 50):.0%}",
        "p99 ≤ 50 ms",
        met(api99 <= 0.05 and frag99 <= 0.05),
    )


# Main -------------------------------------------------------------------------------------------------------


def chains_verify(bike_ids: list[int], count: int) -> str:
    """Re-verify the hash chains of a sample of the bikes written to, once their bench events are gone."""
    import random

    from vehicles.ledger import chain_verify
    from vehicles.models import Vehicle

    sample = random.sample(bike_ids, min(count, len(bike_ids)))
    verdicts = [chain_verify(v) for v in Vehicle.objects.filter(pk__in=sample)]
    return f"hash chains of {len(verdicts)} of those bikes re-verified: {sum(v.valid for v in verdicts)} valid"


def redis_clear(url: str) -> int:
    """The queue and cache keys of this test's Redis DB (the one the worker used)."""
    import redis

    if url.rstrip("/").rsplit("/", 1)[-1] in ("", "0") or url.count("/") < 3:
        raise SystemExit(f"{url}: give the test a Redis DB of its own (e.g. …/9), it is cleared")
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a Redis DB for this test alone (cleared)")
    parser.add_argument("--only", default="1,2,3", help="which figures (comma-separated)")
    parser.add_argument("--rate", type=float, default=50, help="events per second written in figure 1")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of writes through the engine")
    parser.add_argument("--baseline-seconds", type=float, default=10, help="seconds of baseline writes")
    parser.add_argument("--pool", default="solo", choices=("solo", "prefork"), help="the worker's pool")
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes (prefork)")
    parser.add_argument("--worker-app", default="config", help="the Celery app the worker runs")
    parser.add_argument("--poll-interval", type=float, default=0.01)
    parser.add_argument("--drain-timeout", type=float, default=30, help="seconds to wait for the last alerts")
    parser.add_argument("--events", type=int, default=20_000, help="events evaluated in figure 2")
    parser.add_argument("--batch-rounds", type=int, default=3)
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts loaded in the city in figure 3")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--inbox-seconds", type=float, default=100, help="time limit of figure 3's request loop")
    parser.add_argument("--regulator", default="bench_regulator_371400", help="a city regulator account")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cleanup", action="store_true", help="only remove what an interrupted run left")
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url  # before Django starts: unset, it would start an embedded Redis

    from bench.environment import django_setup, psycopg_connect

    django_setup(tagged(args.database_url, "bench_alerts"))
    import secrets

    from django.db import connection

    from core.models import User

    conn = psycopg_connect(autocommit=True)
    left = cleanup(conn)
    if any(left.values()):
        print(f"left by an earlier run, removed: {left}")
    if args.cleanup:
        return
    phases = {int(p) for p in args.only.split(",")}
    print(machine())
    user = User.objects.select_related("organization__region").get(username=args.regulator)
    server_version = conn.execute("SHOW server_version").fetchone()[0]
    vehicles = conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]
    tag = secrets.token_hex(3).upper()
    loads = [load_average()]
    summary = []
    try:
        if 1 in phases:
            print("1. event → alert (worker, open-loop writes)", flush=True)
            redis_clear(args.redis_url)
            latency = phase_latency(conn, args, user, tag)
            loads.append(load_average())
            removed = cleanup(conn)
            print(f"  removed: {removed}; {chains_verify(latency['bikes'], 30)}", flush=True)
            summary.append(report_latency(latency, args))
        if 2 in phases:
            print("2. rules in batch", flush=True)
            batch = phase_batch(conn, args)
            loads.append(load_average())
            summary.append(report_batch(batch, args))
        if 3 in phases:
            print("3. inbox list", flush=True)
            inbox = phase_inbox(conn, args, user, tag)
            loads.append(load_average())
            summary.append(report_inbox(inbox, args, user))
    finally:
        removed = cleanup(conn)
        if any(removed.values()):
            print(f"removed: {removed}")
        if 1 in phases:
            redis_clear(args.redis_url)
        conn.close()
        connection.close()

    print()
    print(
        f"Rule engine and inbox; PostgreSQL {server_version}, {vehicles:,} vehicles; load average (1/5/15 min) "
        f"at start and after each figure: {' | '.join(loads)}"
    )
    header = ("figure", "measured", "baseline", "baseline/measured", "target", "")
    widths = (48, 36, 20, 19, 26, 14)
    print("".join(f"{h:<{w}s}" for h, w in zip(header, widths, strict=True)))
    for row in summary:
        print("".join(f"{c:<{w}s}" for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()

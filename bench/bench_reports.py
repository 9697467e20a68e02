"""Governance: the summary API and the cockpit over HTTP, the risk grading, the monthly report, and what the rollups
add to the outbox drain.

    .venv/bin/python bench/bench_reports.py [--database-url URL] [--small-database-url URL] [--redis-url URL]
        [--only 1,2,3,4,5] [--month YYYY-MM] [--regulator bench_regulator_371400] [--workers 2] [--clients 2]
        [--seconds 20] [--rounds 2] [--grading-rounds 3] [--report-rounds 3] [--pdf-rounds 2] [--events 20000]
        [--drain-rounds 3] [--explain]

Against a database loaded by bench/generate.py (its governance year: repairs, complaints, alerts with their
closed loop, the rollups and the gradings). Five figures; where a baseline makes sense it is measured in the same
run and the ratio printed (this machine is shared and noisy: read the ratios):

1. `GET /api/v1/reports/summary/?region_code=<city>&month=` through gunicorn, Bearer token of the city's
   regulator, each request for one of the twelve whole months of the year at random; p50/p99 and requests/s.
   Baseline, alternating with it in `--rounds` rounds on as many threads: the same figures by one hand-written
   SQL statement over the raw tables (the ledger, the alerts and their steps, the complaints), on psycopg. The
   two answers are compared for every month first (they must be equal). With `--small-database-url` (the
   100,000-bike set) the API is measured on both data sets in the same run, two gunicorns alternating, and the
   ratio of the p99s printed (target: within 1.5×).
2. The cockpit page, `GET /dashboard/` (this month so far) and `/dashboard/?month=` (the last whole month), the
   full HTML, through the same gunicorn, logged in as the city's regulator (a session cookie); p50/p99.
3. `reports.risk.risk_grade_all()` in this process: every enterprise and region graded, in a transaction rolled
   back (so the data set's grade history does not grow); `--grading-rounds` rounds, and each signal's count alone.
4. The city's monthly report of the last whole month, in this process: `reports.monthly.report_content` +
   `report_html` (`--report-rounds`), then `reports.pdf.html_to_pdf` of that HTML (`--pdf-rounds`).
5. The rollups' upkeep in the outbox drain: `--events` ledger events with their outbox messages (a mix of
   receipts, sales, fittings, registrations and repairs, 5% of them raising an alert), committed, then drained
   by alerts.engine.drain_outbox in this process batch by batch, each batch its own transaction as in the
   worker: once as it is (it calls reports.rollups.events_add and the engine alerts_raised) and once with those
   two replaced by no-ops, alternating for `--drain-rounds` rounds. Also the time spent inside the two functions
   themselves. After each round its events, messages and alerts are deleted (the ledger's append-only trigger
   skipped with session_replication_role = replica: a superuser), the days touched re-derived
   (reports.rollups.day_rederive) and the tables vacuumed; the e-mail tasks of the alerts are removed from the
   Redis DB's `notifications` queue.

Connections are tagged `application_name=bench_reports` (CPU is counted only for this run's backends). Nothing is
left behind: the token and the session are deleted at the end, the gradings rolled back, the drained events
deleted (also those an interrupted run left, at the start of the next).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

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
TAG = "bench_reports"
READ_TABLES = (
    "reports_regionday",
    "reports_enterpriseday",
    "reports_alertday",
    "reports_regiongrade",
    "reports_enterprisegrade",
    "alerts_alert",
    "alerts_alerttransition",
    "alerts_complaint",
)


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def pcts(values: list[float]) -> str:
    return " / ".join(ms(percentile(values, p)) for p in (50, 95, 99))


class Rollback(Exception):
    pass


class QueryClock:
    """Queries sent on Django's connection while installed, and the time spent waiting for them."""

    def __init__(self):
        self.seconds, self.queries, self.statements = 0.0, 0, []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1
            self.statements.append((sql, params, time.perf_counter() - started))


def whole_months(count: int = 12) -> list[dt.date]:
    """The `count` whole months before this one, oldest first."""
    from django.utils import timezone

    month, months = timezone.localdate().replace(day=1), []
    for _ in range(count):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


# 1 and 2. The summary API and the cockpit over HTTP --------------------------------------------------------------


class RawSummary:
    """The baseline: the summary from the raw tables in one statement, on its own psycopg connection."""

    def __init__(self, params_of: dict[str, dict]):
        from bench.environment import psycopg_connect

        self.conn, self.params_of = psycopg_connect(autocommit=True), params_of

    def close(self) -> None:
        self.conn.close()

    def get(self, month: str) -> tuple[int, bytes]:
        from bench.reports_world import SUMMARY_SQL

        row = self.conn.execute(SUMMARY_SQL, self.params_of[month]).fetchone()
        return 200, str(row[0]).encode()


def summary_check(user, token: str, months: list[dt.date], params_of: dict) -> list[str]:
    """The API's answer (in-process) against the baseline's, month by month: the differences found."""
    import json

    from django.test import Client

    from bench.environment import psycopg_connect
    from bench.reports_world import SUMMARY_SQL, differences

    client, found = Client(), []
    with psycopg_connect(autocommit=True) as conn:
        for month in months:
            key = f"{month:%Y-%m}"
            response = client.get(
                "/api/v1/reports/summary/",
                {"region_code": user.organization.region_id, "month": key},
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            if response.status_code != 200:
                raise SystemExit(f"summary API: {response.status_code} {response.content[:300]!r}")
            raw = conn.execute(SUMMARY_SQL, params_of[key]).fetchone()[0]
            found += [f"{key}{d}" for d in differences(response.json(), json.loads(json.dumps(raw)))]
    return found


def in_process(path: str, *, token: str | None = None, client=None) -> tuple[int, float, QueryClock]:
    """One request in this process (Django's test client): queries, time waiting for them, total time."""
    from django.db import connection
    from django.test import Client

    client = client or Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    clock = QueryClock()
    started = time.perf_counter()
    with connection.execute_wrapper(clock):
        response = client.get(path, **headers)
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.content[:300]!r}")
    return len(response.content), time.perf_counter() - started, clock


def explain(statements: list[tuple[str, tuple, float]], limit: int = 6) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) summary lines of the slowest SELECTs captured."""
    import re

    from django.db import connection

    selects = sorted((s for s in statements if s[0].lstrip().upper().startswith("SELECT")), key=lambda s: -s[2])
    for sql, params, seconds in selects[:limit]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        table = re.search(r'FROM "?(\w+)"?', sql)
        print(f"    {seconds * 1000:6.1f} ms  {table.group(1) if table else '?'}: {' '.join(sql.split())[:110]}")
        for line in plan:
            text = line.strip().removeprefix("->  ")
            if re.search(r"Scan|Sort|Aggregate|Planning Time|Execution Time", text):
                text = re.sub(r"\(cost=[^)]*\) ", "", text)
                print(f"             {text[:140]}")


def phase_http(args, user, token: str, cookie: str, months: list[dt.date], params_of: dict) -> dict:
    city = user.organization.region_id
    rng = random.Random(args.seed)
    summary_path = "/api/v1/reports/summary/?{}"
    auth = {"Authorization": f"Bearer {token}"}
    session = {"Cookie": cookie}
    keys = [f"{m:%Y-%m}" for m in months]
    results: dict[str, list] = {}
    cpu: dict[str, list] = {}
    log = Path(tempfile.gettempdir()) / f"bench_reports_gunicorn_{os.getpid()}.log"
    servers = [("main", args.database_url)]
    if args.small_database_url and 1 in args.phases:
        servers.append(("small", args.small_database_url))
    loads = []
    with contextlib.ExitStack() as stack:
        started = {
            name: stack.enter_context(
                Gunicorn(url, args.redis_url, workers=args.workers, threads=1, log=log.with_suffix(f".{name}.log"))
            )
            for name, url in servers
        }
        import psycopg

        # CPU of each server's PostgreSQL backends, counted on a connection to its own database.
        meters = {name: stack.enter_context(psycopg.connect(url, autocommit=True)) for name, url in servers}
        pool = Pool(lambda: RawSummary(params_of))
        stack.callback(pool.close)

        def summary_send(client, month: str):
            return client.request(
                "GET", summary_path.format(urlencode({"region_code": city, "month": month})), None, auth
            )

        def page_send(client, path: str):
            return client.request("GET", path, None, session)

        def months_forever():
            return (rng.choice(keys) for _ in range(1_000_000))

        def run(label: str, connect, send, jobs, server=None, database: str = "main") -> None:
            meter = CpuMeter(meters[database], server, TAG)
            before = meter.snapshot()
            outcome = closed_loop(connect, send, jobs, clients=args.clients, seconds=args.seconds / args.rounds)
            used = CpuMeter.used(before, meter.snapshot())
            if outcome.errors:
                raise SystemExit(f"{label}: {outcome.statuses} {outcome.errors[:2]}")
            results.setdefault(label, []).append(outcome)
            cpu.setdefault(label, []).append(used)
            print(
                f"  {label:34s} {outcome.ok:6,d} in {outcome.elapsed:4.1f}s = {outcome.rate():7.1f}/s  "
                f"p50 {ms(percentile(outcome.latencies, 50))} ms  p99 {ms(percentile(outcome.latencies, 99))} ms",
                flush=True,
            )

        for name, server in started.items():  # warm-up: imports, connections, plans, buffers

            def connect(s=server):
                return HttpClient(s.port)

            warm = closed_loop(connect, summary_send, iter(keys * 3), clients=args.clients, seconds=30)
            if name == "main" and 2 in args.phases:
                pages = ["/dashboard/", f"/dashboard/?month={keys[-1]}"] * 3
                warm.errors += closed_loop(connect, page_send, iter(pages), clients=args.clients, seconds=60).errors
            if warm.errors:
                raise SystemExit(f"warm-up of the {name} server: {warm.errors[:2]}")
        closed_loop(pool.connect, lambda c, m: c.get(m), iter(keys * 2), clients=args.clients, seconds=60)
        loads.append(load_average())

        main = started["main"]
        for _ in range(args.rounds):
            if 1 in args.phases:
                run("summary API", lambda: HttpClient(main.port), summary_send, months_forever(), main)
                run("summary baseline (raw SQL)", pool.connect, lambda c, m: c.get(m), months_forever())
                if "small" in started:
                    small = started["small"]
                    run(
                        "summary API, small data set",
                        lambda s=small: HttpClient(s.port),
                        summary_send,
                        months_forever(),
                        small,
                        "small",
                    )
            if 2 in args.phases:
                this_month = iter(["/dashboard/"] * 1_000_000)
                run("cockpit /dashboard/", lambda: HttpClient(main.port), page_send, this_month, main)
                last_month = iter([f"/dashboard/?month={keys[-1]}"] * 1_000_000)
                run(f"cockpit /dashboard/?month={keys[-1]}", lambda: HttpClient(main.port), page_send, last_month, main)
            loads.append(load_average())
        description = main.description
    return {"results": results, "cpu": cpu, "server": description, "loads": loads}


def merged(outcomes: list) -> tuple[list[float], int, float]:
    latencies = [latency for o in outcomes for latency in o.latencies]
    return latencies, len(latencies), sum(o.elapsed for o in outcomes)


def report_http(r: dict, args, vehicles: dict[str, int]) -> list[tuple[str, ...]]:
    results, cpu = r["results"], r["cpu"]
    print()
    print(
        f"1–2. Over HTTP: {r['server']} on 127.0.0.1, {args.clients} clients (closed loop), {args.rounds} rounds "
        f"alternating; load average after the warm-up and each round: {' | '.join(r['loads'])}"
    )
    print(
        f"{'':40s}{'requests':>9s}{'req/s':>8s}{'p50 ms':>8s}{'p95 ms':>8s}{'p99 ms':>8s}"
        f"{'CPU ms/request: server':>24s}{'database':>10s}{'client':>8s}"
    )
    figures = {}
    for label, outcomes in results.items():
        latencies, count, elapsed = merged(outcomes)
        used = {part: sum(u[part] for u in cpu[label]) for part in cpu[label][0]}
        per = {part: used[part] / count * 1000 if count else float("nan") for part in used}
        figures[label] = latencies
        print(
            f"{label:40s}{count:9,d}{count / elapsed:8.1f}{ms(percentile(latencies, 50)):>8s}"
            f"{ms(percentile(latencies, 95)):>8s}{ms(percentile(latencies, 99)):>8s}{per['server']:24.2f}"
            f"{per['database']:10.2f}{per['client']:8.2f}"
        )
    rows = []
    if "summary API" in figures:
        api, raw = figures["summary API"], figures["summary baseline (raw SQL)"]
        p99 = percentile(api, 99)
        print(
            f"  summary: raw SQL p50 / API p50 = {percentile(raw, 50) / percentile(api, 50):.1f}× "
            f"(the rollups against the raw tables), by throughput {len(api) / len(raw):.1f}×"
        )
        rows.append(
            (
                "1. summary API, city × month, p50 / p99",
                f"{ms(percentile(api, 50))} / {ms(p99)} ms",
                f"{ms(percentile(raw, 50))} / {ms(percentile(raw, 99))} ms",
                f"{percentile(raw, 50) / percentile(api, 50):.1f}× faster",
                "p99 ≤ 100 ms",
                met(p99 <= 0.1),
            )
        )
        if "summary API, small data set" in figures:
            small = figures["summary API, small data set"]
            ratio = p99 / percentile(small, 99)
            print(
                f"  summary p99 on {vehicles['main']:,} vehicles / on {vehicles['small']:,}: {ratio:.2f}× "
                f"(p50 {percentile(api, 50) / percentile(small, 50):.2f}×)"
            )
            rows.append(
                (
                    "1. summary p99, large / small data set",
                    f"{ms(p99)} / {ms(percentile(small, 99))} ms",
                    "-",
                    f"{ratio:.2f}×",
                    "≤ 1.5×",
                    met(ratio <= 1.5),
                )
            )
    pages = [label for label in figures if label.startswith("cockpit")]
    for label in pages:
        values = figures[label]
        rows.append(
            (
                f"2. {label}, p50 / p99",
                f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} ms",
                "-",
                "-",
                "p99 ≤ 300 ms",
                met(percentile(values, 99) <= 0.3),
            )
        )
    return rows


# 3. Risk grading ------------------------------------------------------------------------------------------------


def phase_grading(args) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from reports import risk
    from reports.models import RiskSetting

    rounds = []
    for _ in range(args.grading_rounds):
        clock = QueryClock()
        from django.db import connection

        started = time.perf_counter()
        try:
            with connection.execute_wrapper(clock), transaction.atomic():
                grading = risk.risk_grade_all()
                elapsed = time.perf_counter() - started
                raise Rollback
        except Rollback:
            pass
        rounds.append((elapsed, grading, clock))
        print(f"  risk_grade_all: {elapsed:.2f}s, {grading.enterprises:,} enterprises, {grading.regions} regions")
    now = timezone.now()
    window = int(RiskSetting.objects.get(code=risk.WINDOW_DAYS).value)
    moment = risk.Moment(now=now, since=now - dt.timedelta(days=window))
    signals = []
    for code, signal in risk.SIGNALS.items():
        started = time.perf_counter()
        found = signal.count(moment)
        signals.append((code, time.perf_counter() - started, len(found)))
    return {"rounds": rounds, "signals": signals}


def report_grading(r: dict) -> tuple[str, ...]:
    times = [t for t, _, _ in r["rounds"]]
    grading, clock = r["rounds"][-1][1], r["rounds"][-1][2]
    print()
    print(
        f"3. Risk grading, risk_grade_all() in-process (rolled back), {len(times)} rounds: "
        f"median {statistics.median(times):.2f}s, max {max(times):.2f}s; {grading.enterprises:,} enterprises "
        f"({grading.risk_enterprises:,} risk) and {grading.regions} regions; {clock.queries} queries, "
        f"{clock.seconds:.2f}s waiting for PostgreSQL"
    )
    print("  each signal's count alone: " + ", ".join(f"{c} {s * 1000:.0f} ms ({n:,})" for c, s, n in r["signals"]))
    return (
        "3. risk_grade_all, every enterprise and region",
        f"{statistics.median(times):.2f} s (max {max(times):.2f})",
        "-",
        "-",
        "≤ 60 s",
        met(max(times) <= 60),
    )


# 4. The monthly report ----------------------------------------------------------------------------------------


def phase_report(args, user, month: dt.date) -> dict:
    import io

    from django.db import connection
    from django.utils import translation
    from pypdf import PdfReader

    from alerts.rules import REGISTRY
    from reports.monthly import report_content, report_html
    from reports.pdf import html_to_pdf, pdf_available
    from reports.selectors import Scope

    scope = Scope(region=user.organization.region, rules=tuple(REGISTRY))
    rounds = []
    with translation.override("zh-hans"):
        for _ in range(args.report_rounds):
            clock = QueryClock()
            started = time.perf_counter()
            with connection.execute_wrapper(clock):
                content = report_content(scope, month)
            built = time.perf_counter()
            html = report_html(content)
            rendered = time.perf_counter()
            rounds.append((built - started, rendered - built, clock))
            print(f"  report_content {built - started:.2f}s, report_html {rendered - built:.2f}s", flush=True)
        available, why = pdf_available()
        pdfs = []
        if available:
            for _ in range(args.pdf_rounds):
                started = time.perf_counter()
                pdf = html_to_pdf(html, base_url=None)
                pdfs.append(time.perf_counter() - started)
                print(f"  html_to_pdf {pdfs[-1]:.2f}s", flush=True)
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
        else:
            print(f"  no PDF on this machine: {why}")
            pdf, pages = b"", 0
    return {"rounds": rounds, "pdfs": pdfs, "html_bytes": len(html.encode()), "pdf_bytes": len(pdf), "pages": pages}


def report_report(r: dict, region, month: dt.date) -> list[tuple[str, ...]]:
    content = [c for c, _, _ in r["rounds"]]
    render = [h for _, h, _ in r["rounds"]]
    html = [c + h for c, h, _ in r["rounds"]]
    clock = r["rounds"][-1][2]
    print()
    print(f"4. Monthly report of {region.name} ({region.code}) for {month:%Y-%m}, in-process")
    print(
        f"  report_content median {statistics.median(content):.2f}s ({clock.queries} queries, {clock.seconds:.2f}s "
        f"waiting for PostgreSQL), report_html {statistics.median(render):.2f}s: HTML {statistics.median(html):.2f}s "
        f"(max {max(html):.2f}), {r['html_bytes'] / 1024:.0f} KB"
    )
    rows = [
        (
            "4. monthly report, HTML (content + html)",
            f"{statistics.median(html):.2f} s (max {max(html):.2f})",
            "-",
            "-",
            "≤ 3 s",
            met(max(html) <= 3),
        )
    ]
    if r["pdfs"]:
        total = statistics.median(html) + statistics.median(r["pdfs"])
        print(
            f"  html_to_pdf median {statistics.median(r['pdfs']):.2f}s (max {max(r['pdfs']):.2f}), {r['pages']} pages, "
            f"{r['pdf_bytes'] / 1024:.0f} KB; the whole PDF (content + HTML + PDF) {total:.2f}s"
        )
        rows.append(
            (
                "4. monthly report, PDF (content + html + pdf)",
                f"{total:.2f} s (html_to_pdf {statistics.median(r['pdfs']):.2f})",
                "-",
                "-",
                "≤ 15 s",
                met(max(html) + max(r["pdfs"]) <= 15),
            )
        )
    return rows


# 5. Rollup upkeep in the drain ----------------------------------------------------------------------------------


@contextlib.contextmanager
def rollups_replaced(mode: str, spent: dict[str, float]):
    """mode "off": events_add and alerts_raised do nothing; "timed": they run, their time added to `spent`."""
    from reports import rollups

    originals = {name: getattr(rollups, name) for name in ("events_add", "alerts_raised")}

    def timed(name, original):
        def run(*a, **kw):
            started = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return run

    for name, original in originals.items():
        setattr(rollups, name, (lambda *a, **kw: None) if mode == "off" else timed(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(rollups, name, original)


def phase_drain(conn, args) -> dict:
    from alerts.engine import drain_outbox
    from bench.alerts_world import backlog_set_aside
    from bench.reports_world import INSERT_EVENTS, drain_cleanup, drain_events

    left = drain_cleanup(conn)
    if left["events"]:
        print(f"  left by an earlier run, removed: {left}")
    params, counts = drain_events(conn, args.events, args.seed)
    print(f"  {args.events:,} events on registered bikes: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    # Others' unpublished messages (none after generate.py; other benchmarks leave some) wait aside meanwhile.
    set_aside = backlog_set_aside(conn)
    if set_aside:
        print(f"  {set_aside:,} unpublished outbox messages of other writers set aside")

    def one(mode: str) -> dict:
        spent: dict[str, float] = {}
        conn.execute(INSERT_EVENTS, params)  # committed, as the writers commit them
        before = conn.execute("SELECT max(id) FROM alerts_alert").fetchone()[0] or 0
        conn.execute("CHECKPOINT")  # the inserts' dirty pages written now, not during the drain
        drained, batches = 0, 0
        with rollups_replaced(mode, spent):
            started = time.perf_counter()
            while n := drain_outbox():  # each batch its own transaction, as the worker runs it
                drained += n
                batches += 1
            elapsed = time.perf_counter() - started
        raised = conn.execute("SELECT count(*) FROM alerts_alert WHERE id > %s", [before]).fetchone()[0]
        drain_cleanup(conn, backlog=False)
        return {
            "seconds": elapsed,
            "drained": drained,
            "batches": batches,
            "raised": raised,
            "in_rollups": sum(spent.values()),
            "spent": spent,
        }

    try:
        one("timed")  # warm-up: plans, buffers
        runs = {"timed": [], "off": []}
        for _ in range(args.drain_rounds):
            for mode in ("timed", "off"):
                result = one(mode)
                runs[mode].append(result)
                label = "with rollups" if mode == "timed" else "rollups off"
                inside = ", ".join(f"{k} {v:.3f}s" for k, v in result["spent"].items())
                print(
                    f"  {label:13s} {result['drained']:,} events in {result['seconds']:.2f}s = "
                    f"{result['drained'] / result['seconds']:,.0f} events/s ({result['batches']} batches, "
                    f"{result['raised']:,} alerts)"
                    + (f"; in the rollups {result['in_rollups']:.3f}s ({inside})" if mode == "timed" else ""),
                    flush=True,
                )
    finally:
        drain_cleanup(conn)
    return {"runs": runs, "counts": counts}


def report_drain(r: dict, args) -> tuple[str, ...]:
    """The throughput lost to the rollups, 1 - (events/s with) / (events/s without), two ways: the time spent
    inside the two functions over the drain's time (measured in the same runs, so the machine's noise cancels),
    and the difference between the runs with and without them (medians, and the fastest run of each)."""
    timed, off = r["runs"]["timed"], r["runs"]["off"]
    drained = timed[0]["drained"]
    on_median, off_median = statistics.median(x["seconds"] for x in timed), statistics.median(x["seconds"] for x in off)
    on_best, off_best = min(x["seconds"] for x in timed), min(x["seconds"] for x in off)
    inside = statistics.median(x["in_rollups"] / x["seconds"] for x in timed)
    per_batch = statistics.median(x["in_rollups"] / x["batches"] for x in timed)
    print()
    print(
        f"5. Outbox drain, {drained:,} events in batches of 500 (each its own transaction), {args.drain_rounds} rounds "
        f"each way: events/s with the rollups {drained / on_median:,.0f} (median; fastest {drained / on_best:,.0f}), "
        f"without {drained / off_median:,.0f} (fastest {drained / off_best:,.0f})"
    )
    print(
        f"  throughput lost to the rollups: {inside:.1%} by the time inside events_add and alerts_raised "
        f"({per_batch * 1000:.1f} ms per batch); by the difference {1 - off_median / on_median:.1%} (medians), "
        f"{1 - off_best / on_best:.1%} (fastest runs)"
    )
    return (
        "5. drain events/s with rollups (without)",
        f"{drained / on_median:,.0f} ({drained / off_median:,.0f})",
        f"{drained / off_median:,.0f} events/s",
        f"lost {inside:.1%} ({1 - off_best / on_best:.1%})",
        "lost ≤ 10%",
        met(inside <= 0.10),
    )


# Main -------------------------------------------------------------------------------------------------------


def count_vehicles(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]


@contextlib.contextmanager
def token_elsewhere(url: str, username: str, raw: str):
    """The same Bearer token for the user of that name in another database (the small data set's server), as
    core.tokens.token_issue stores it; deleted on leaving."""
    import psycopg

    from core.tokens import _digest, password_stamp

    with psycopg.connect(url, autocommit=True) as conn:
        user_id, password = conn.execute(
            "SELECT id, password FROM core_user WHERE username = %s", [username]
        ).fetchone()
        conn.execute(
            "INSERT INTO core_apitoken (key_hash, created_at, expires_at, user_id, password_stamp) "
            "VALUES (%s, now(), now() + interval '1 day', %s, %s)",
            [_digest(raw), user_id, password_stamp(password)],
        )
        try:
            yield
        finally:
            conn.execute("DELETE FROM core_apitoken WHERE key_hash = %s", [_digest(raw)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--small-database-url", help="the 100,000-bike set: figure 1 on both, the p99s compared")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--only", default="1,2,3,4,5", help="which figures (comma-separated)")
    parser.add_argument("--regulator", default="bench_regulator_371400", help="a city regulator account")
    parser.add_argument("--month", help="YYYY-MM of the report (default: the last whole month)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (each server)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (and baseline threads)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of each HTTP figure, over all rounds")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the HTTP figures, alternating")
    parser.add_argument("--grading-rounds", type=int, default=3)
    parser.add_argument("--report-rounds", type=int, default=3)
    parser.add_argument("--pdf-rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=20_000, help="events drained in figure 5")
    parser.add_argument("--drain-rounds", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE of the slowest queries of 1 and 2")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    args.phases = {int(p) for p in args.only.split(",")}
    os.environ["REDIS_URL"] = args.redis_url  # before Django starts: unset, it would start an embedded Redis
    # Pages link static files; with DEBUG off the manifest storage needs a collectstatic run first. Plain URLs
    # instead (the same template work less one dictionary lookup per file), here and in the gunicorns started.
    os.environ["STATIC_MANIFEST"] = "false"
    args.database_url = tagged(args.database_url, TAG)
    if args.small_database_url:
        args.small_database_url = tagged(args.small_database_url, TAG)

    from bench.environment import django_setup, psycopg_connect

    django_setup(args.database_url)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from core.models import ApiToken, User
    from core.tokens import token_issue
    from reports.selectors import month_parse

    print(machine())
    conn = psycopg_connect(autocommit=True)
    server_version = conn.execute("SHOW server_version").fetchone()[0]
    vehicles = {"main": conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]}
    if args.small_database_url:
        vehicles["small"] = count_vehicles(args.small_database_url)
    analyze(conn, READ_TABLES)
    user = User.objects.select_related("organization__region").get(username=args.regulator)
    region = user.organization.region
    months = whole_months()
    month = month_parse(args.month) if args.month else months[-1]
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM alerts_alert), (SELECT count(*) FROM alerts_alerttransition), "
        "(SELECT count(*) FROM reports_alertday), (SELECT count(*) FROM reports_regionday), "
        "(SELECT count(*) FROM reports_enterpriseday)"
    ).fetchone()
    print(
        f"{vehicles['main']:,} vehicles, {counts[0]:,} alerts, {counts[1]:,} alert steps; rollups: "
        f"{counts[3]:,} region, {counts[4]:,} enterprise, {counts[2]:,} alert rows; city {region.name} ({region.code})"
    )
    loads = [load_average()]
    summary = []
    last_token = ApiToken.objects.order_by("-id").values_list("id", flat=True).first() or 0
    page = Client()
    try:
        if args.phases & {1, 2}:
            from alerts.rules import REGISTRY
            from bench.reports_world import summary_params

            token = token_issue(user=user)
            page.force_login(user)
            cookie = f"{settings.SESSION_COOKIE_NAME}={page.cookies[settings.SESSION_COOKIE_NAME].value}"
            params_of = {f"{m:%Y-%m}": summary_params(region, m, tuple(REGISTRY)) for m in months}
            if 1 in args.phases:
                differences = summary_check(user, token, months, params_of)
                print(
                    "summary API and raw SQL agree on all 12 months"
                    if not differences
                    else f"summary API and raw SQL DIFFER: {differences[:8]}"
                )
            for label, path, kwargs in (
                (
                    "summary API",
                    f"/api/v1/reports/summary/?region_code={region.code}&month={month:%Y-%m}",
                    {"token": token},
                ),
                ("cockpit", "/dashboard/", {"client": page}),
                ("cockpit, last month", f"/dashboard/?month={month:%Y-%m}", {"client": page}),
            ):
                in_process(path, **kwargs)
                size, seconds, clock = in_process(path, **kwargs)
                print(
                    f"  in-process {label}: {seconds * 1000:.1f} ms, {clock.queries} queries, "
                    f"{clock.seconds * 1000:.1f} ms waiting for PostgreSQL, {size / 1024:.0f} KB"
                )
                if args.explain:
                    explain(clock.statements)
            connection.close()  # the servers' own connections only from here
            with contextlib.ExitStack() as elsewhere:
                if args.small_database_url and 1 in args.phases:
                    elsewhere.enter_context(token_elsewhere(args.small_database_url, user.username, token))
                http = phase_http(args, user, token, cookie, months, params_of)
            loads.append(load_average())
            summary += report_http(http, args, vehicles)
        if 3 in args.phases:
            print("3. risk grading", flush=True)
            summary.append(report_grading(phase_grading(args)))
            loads.append(load_average())
        if 4 in args.phases:
            print("4. monthly report", flush=True)
            summary += report_report(phase_report(args, user, month), region, month)
            loads.append(load_average())
        if 5 in args.phases:
            print("5. outbox drain with and without the rollups", flush=True)
            summary.append(report_drain(phase_drain(conn, args), args))
            loads.append(load_average())
    finally:
        page.logout()
        ApiToken.objects.filter(user=user, id__gt=last_token).delete()
        conn.close()
        connection.close()

    print()
    print(
        f"Governance: reports and risk grading; PostgreSQL {server_version}, {vehicles['main']:,} vehicles; load "
        f"average (1/5/15 min) at start and after each figure: {' | '.join(loads)}"
    )
    header = ("figure", "measured", "baseline", "ratio", "target", "")
    widths = (48, 34, 26, 24, 14, 8)
    print("".join(f"{h:<{w}s}" for h, w in zip(header, widths, strict=True)))
    for row in summary:
        print("".join(f"{c:<{w}s}" for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()

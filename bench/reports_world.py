"""Hand-written SQL and data for bench/bench_reports.py: a city's month from the raw tables (the summary's
baseline), its comparison with the API's answer, and the outbox traffic the drain is timed on."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random

# `GET /api/v1/reports/summary/` from the raw rows (the ledger, the alerts and their steps, the complaints, the
# current grades, the supervision records) in one statement: the same figures the rollups give, with the same day
# boundaries. (The enforcement figures are read from their records by the API too.)
SUMMARY_SQL = """
WITH ev AS (
    SELECT type, left(region_code, %(child_len)s::int) AS child
    FROM vehicles_lifecycleevent
    WHERE region_code LIKE %(pattern)s::text AND occurred_at >= %(t0)s AND occurred_at < %(t1)s
      AND recorded_at >= %(t0)s - interval '1 hour'
      AND recorded_at >= (date_trunc('day', occurred_at AT TIME ZONE %(tz)s::text) AT TIME ZONE %(tz)s::text)
                         - interval '1 hour'
      AND type IN ('sold', 'registered', 'repaired', 'recycled')
),
cohort AS (
    SELECT rule, severity, status, dispatched_at, dispatch_due_at FROM alerts_alert
    WHERE region_code LIKE %(pattern)s::text AND created_at >= %(t0)s AND created_at < %(t1)s AND rule = ANY(%(rules)s)
),
closures AS (
    SELECT greatest(floor(extract(epoch FROM t.at - coalesce(a.dispatched_at, a.created_at)))::int, 0) AS seconds,
           t.due_at IS NOT NULL AND t.at <= t.due_at AS within
    FROM alerts_alerttransition t JOIN alerts_alert a ON a.id = t.alert_id
    WHERE a.region_code LIKE %(pattern)s::text AND a.rule = ANY(%(rules)s) AND a.created_at < %(t1)s
      AND t.at >= %(t0)s AND t.at < %(t1)s
      AND t.to_status IN ('closed', 'dismissed') AND t.from_status NOT IN ('closed', 'dismissed')
),
open_now AS (
    SELECT left(region_code, %(child_len)s::int) AS child, count(*) AS n FROM alerts_alert
    WHERE region_code LIKE %(pattern)s::text AND rule = ANY(%(rules)s) AND status NOT IN ('closed', 'dismissed')
    GROUP BY 1
),
registered AS (SELECT child, count(*) AS n FROM ev WHERE type = 'registered' GROUP BY child),
done_tasks AS (
    SELECT organization_id, hazards_found FROM supervision_inspectiontask
    WHERE region_code LIKE %(pattern)s::text AND status = 'done' AND performed_at >= %(t0)s AND performed_at < %(t1)s
),
actions AS (
    SELECT kind, amount_yuan, quantity FROM supervision_enforcementaction
    WHERE region_code LIKE %(pattern)s::text AND taken_at >= %(t0)s AND taken_at < %(t1)s
),
sampling AS (
    SELECT result FROM supervision_samplingbatch
    WHERE region_code LIKE %(pattern)s::text AND sampled_at >= %(d0)s AND sampled_at <= %(d1)s
)
SELECT json_build_object(
    'region_code', r.code,
    'name', r.name,
    'month', %(month)s::text,
    'vehicles_registered', (SELECT count(*) FROM ev WHERE type = 'registered'),
    'sales', (SELECT count(*) FROM ev WHERE type = 'sold'),
    'repairs', (SELECT count(*) FROM ev WHERE type = 'repaired'),
    'recycled', (SELECT count(*) FROM ev WHERE type = 'recycled'),
    'complaints', (SELECT count(*) FROM alerts_complaint
                   WHERE region_id LIKE %(pattern)s::text AND created_at >= %(t0)s AND created_at < %(t1)s),
    'alerts', json_build_object(
        'total', (SELECT count(*) FROM cohort),
        'by_status', (SELECT coalesce(json_object_agg(status, n), '{}') FROM
                      (SELECT status, count(*) AS n FROM cohort GROUP BY 1) s),
        'by_rule', (SELECT coalesce(json_object_agg(rule, n ORDER BY rule), '{}') FROM
                    (SELECT rule, count(*) AS n FROM cohort GROUP BY 1) s),
        'by_severity', (SELECT coalesce(json_object_agg(severity, n), '{}') FROM
                        (SELECT severity, count(*) AS n FROM cohort GROUP BY 1) s)
    ),
    'dispatched_within_sla_pct', (SELECT round(100.0 * count(*) FILTER (WHERE dispatched_at <= dispatch_due_at)
                                               / nullif(count(*), 0), 1) FROM cohort),
    'closed_within_sla_pct', (SELECT round(100.0 * count(*) FILTER (WHERE within) / nullif(count(*), 0), 1)
                              FROM closures),
    'median_event_to_alert_s', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(floor(extract(epoch FROM
                                    dispatched_at - (dispatch_due_at - %(sla)s)))::int, 0))
                                FROM cohort WHERE dispatched_at IS NOT NULL),
    'median_alert_to_closed_s', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM closures),
    'enforcement', json_build_object(
        'inspections', (SELECT count(*) FROM done_tasks),
        'enterprises_inspected', (SELECT count(DISTINCT organization_id) FROM done_tasks),
        'hazards_found', (SELECT coalesce(sum(hazards_found), 0) FROM done_tasks),
        'hazards_rectified', (SELECT count(*) FROM alerts_alert a
                              WHERE a.region_code LIKE %(pattern)s::text AND a.rule = 'INSPECTION_HAZARD'
                                AND 'INSPECTION_HAZARD' = ANY(%(rules)s) AND a.status IN ('verified', 'closed')
                                AND EXISTS (SELECT FROM alerts_alerttransition t WHERE t.alert_id = a.id
                                            AND t.action = 'verify' AND t.at >= %(t0)s AND t.at < %(t1)s)),
        'interviews', (SELECT count(*) FROM actions WHERE kind = 'interview'),
        'cases', (SELECT count(*) FROM actions WHERE kind = 'case'),
        'fines_yuan', (SELECT round(coalesce(sum(amount_yuan) FILTER (WHERE kind = 'fine'), 0), 2)::text FROM actions),
        'products_confiscated', (SELECT coalesce(sum(quantity) FILTER (WHERE kind = 'confiscation'), 0) FROM actions),
        'sampling_batches', (SELECT count(*) FROM sampling),
        'sampling_failed', (SELECT count(*) FROM sampling WHERE result = 'fail'),
        'recalls', (SELECT count(*) FROM supervision_recall rc
                    WHERE rc.created_at >= %(t0)s AND rc.created_at < %(t1)s
                      AND (rc.region_code LIKE %(pattern)s::text
                           OR EXISTS (SELECT FROM supervision_recallitem i
                                      WHERE i.recall_id = rc.id AND i.region_code LIKE %(pattern)s::text))),
        'duty_records', (SELECT count(*) FROM supervision_dutyrecord
                         WHERE region_code LIKE %(pattern)s::text
                           AND period_start >= %(d0)s AND period_start <= %(d1)s),
        'duty_overdue', (SELECT count(*) FROM alerts_alert
                         WHERE region_code LIKE %(pattern)s::text AND rule = 'DUTY_OVERDUE'
                           AND 'DUTY_OVERDUE' = ANY(%(rules)s) AND created_at >= %(t0)s AND created_at < %(t1)s)
    ),
    'children', (SELECT coalesce(json_agg(json_build_object(
                     'region_code', c.code, 'name', c.name, 'colour', coalesce(g.colour, 'green'),
                     'risk_enterprises', coalesce(g.risk_enterprises, 0), 'enterprises', coalesce(g.enterprises, 0),
                     'vehicles_registered', coalesce(reg.n, 0), 'open_alerts', coalesce(o.n, 0)) ORDER BY c.code), '[]')
                 FROM core_region c
                 LEFT JOIN reports_regiongrade g ON g.region_code = c.code AND g.current
                 LEFT JOIN registered reg ON reg.child = left(c.code, %(child_len)s::int)
                 LEFT JOIN open_now o ON o.child = left(c.code, %(child_len)s::int)
                 WHERE c.parent_id = r.code)
)
FROM core_region r WHERE r.code = %(city)s::text
"""


def summary_params(region, month: dt.date, rules) -> dict:
    """The baseline's parameters for a region's month: local day bounds, the child prefix length, the rules."""
    from django.conf import settings
    from django.utils import timezone

    from alerts.rules import DISPATCH_SLA
    from core.models import Region
    from reports.selectors import month_last_day

    last = min(month_last_day(month), timezone.localdate())
    child = Region.objects.filter(parent_id=region.code).order_by("code").first()
    return {
        "city": region.code,
        "pattern": region.prefix + "%",
        "child_len": len(child.prefix) if child else len(region.prefix) + 2,
        "d0": month,
        "d1": last,
        "t0": timezone.make_aware(dt.datetime.combine(month, dt.time.min)),
        "t1": timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)),
        "tz": settings.TIME_ZONE,
        "month": f"{month:%Y-%m}",
        "rules": list(rules),
        "sla": DISPATCH_SLA,
    }


def differences(api: dict, raw: dict, path: str = "") -> list[str]:
    """Where two answers differ (numbers compared to 0.05, so 97.3 and 97.30 agree)."""
    if isinstance(api, dict) and isinstance(raw, dict):
        out = []
        for key in sorted(set(api) | set(raw)):
            out += differences(api.get(key), raw.get(key), f"{path}.{key}")
        return out
    if isinstance(api, list) and isinstance(raw, list):
        if len(api) != len(raw):
            return [f"{path}: {len(api)} items against {len(raw)}"]
        return [d for n, (a, b) in enumerate(zip(api, raw, strict=True)) for d in differences(a, b, f"{path}[{n}]")]
    if isinstance(api, int | float) and isinstance(raw, int | float) and not isinstance(api, bool):
        return [] if abs(float(api) - float(raw)) < 0.05 else [f"{path}: {api} against {raw}"]
    return [] if api == raw else [f"{path}: {api!r} against {raw!r}"]


# The outbox traffic of figure 5 -------------------------------------------------------------------------------

DRAIN_MIX = (  # kind, share of the events
    ("produced or received (no rule reads them)", 0.25),
    ("sold", 0.15),
    ("battery_fitted, certified pair", 0.15),
    ("registered", 0.15),
    ("repaired, nothing to report", 0.25),
    ("repaired, speed limiter removed", 0.05),
)
REPAIR_BASE = 950_000_000  # repair numbers of the drain's events (deleted afterwards): never real repairs
DRAIN_MARK = "BENCH-REPORTS-DRAIN"  # the prev_hash of the drain's events: how the clean-up finds them

INSERT_EVENTS = """
WITH ins AS (
    INSERT INTO vehicles_lifecycleevent (recorded_at, occurred_at, vehicle_id, battery_id, seq, type, organization_id,
        region_code, payload, prev_hash, hash)
    SELECT %(now)s, u.occurred, u.vehicle, u.battery, 1, u.type, u.org, u.region, u.payload::jsonb, %(mark)s, ''
    FROM unnest(%(occurred)s::timestamptz[], %(vehicles)s::bigint[], %(batteries)s::bigint[], %(types)s::text[],
                %(orgs)s::bigint[], %(regions)s::text[], %(payloads)s::text[])
         AS u(occurred, vehicle, battery, type, org, region, payload)
    RETURNING id, recorded_at, type, vehicle_id, battery_id
)
INSERT INTO vehicles_outboxmessage (event_id, event_recorded_at, topic, payload, created_at)
SELECT id, recorded_at, %(topic)s,
       jsonb_build_object('event_id', id, 'type', type, 'vehicle_id', vehicle_id, 'battery_id', battery_id), %(now)s
FROM ins
"""


def drain_events(conn, count: int, seed: int) -> tuple[dict, dict[str, int]]:
    """`count` events on registered bikes sampled over the whole data set, in the proportions of DRAIN_MIX, as
    the arrays INSERT_EVENTS takes (their times today, up to 10 hours back). Returns (params, counts)."""
    from vehicles.ledger import OUTBOX_TOPIC

    rng = random.Random(seed)
    total = conn.execute("SELECT count(*) FROM vehicles_vehicle").fetchone()[0]
    share = min(100.0, 300.0 * count / max(total, 1))  # of the bikes: a third or more are registered
    bikes = conn.execute(
        """SELECT v.id, v.region_id, v.dealer_id, b.id FROM vehicles_vehicle v TABLESAMPLE SYSTEM (%s) REPEATABLE (%s)
           JOIN vehicles_battery b ON b.vehicle_id = v.id WHERE v.status = 'registered' LIMIT %s""",
        [share, seed, count],
    ).fetchall()
    if len(bikes) < count:
        raise SystemExit(f"only {len(bikes)} registered bikes sampled, {count} needed")
    shops = [r[0] for r in conn.execute("SELECT id FROM core_organization WHERE kind = 'repair_shop' LIMIT 500")]
    if not shops:
        raise SystemExit("no repair shops: load the data with bench/generate.py (it adds them)")
    now = dt.datetime.now(tz=dt.UTC)
    kinds, weights = [k for k, _ in DRAIN_MIX], [w for _, w in DRAIN_MIX]
    arrays = {name: [] for name in ("occurred", "vehicles", "batteries", "types", "orgs", "regions", "payloads")}
    counts = dict.fromkeys(kinds, 0)
    for n, (vehicle_id, region, dealer_id, battery_id) in enumerate(bikes):
        kind = rng.choices(kinds, weights)[0]
        counts[kind] += 1
        org, battery, payload = dealer_id, None, {}
        if kind.startswith("produced"):
            event_type, payload = "received", {"receipt": 0, "supplier": 0}
        elif kind == "sold":
            event_type, payload = "sold", {"batteries": []}
        elif kind.startswith("battery_fitted"):
            event_type, battery, payload = "battery_fitted", battery_id, {"model": "certified"}
        elif kind == "registered":
            event_type, payload = "registered", {"registration": 0}
        else:
            event_type, org = "repaired", rng.choice(shops)
            payload = {
                "repair": REPAIR_BASE + n,
                "kind": "speed_limiter" if kind.endswith("removed") else "brake_tyre",
                "shop": org,
                "shop_qualified": True,
                "fitted_motor_power_w": None,
                "measured_max_speed_kmh": None,
                "removed_battery_serials": [],
                "fitted_battery_serials": [],
                "flags": [],
                "battery_flags": {},
            }
        arrays["occurred"].append(now - dt.timedelta(minutes=rng.randrange(600)))
        arrays["vehicles"].append(vehicle_id)
        arrays["batteries"].append(battery)
        arrays["types"].append(event_type)
        arrays["orgs"].append(org)
        arrays["regions"].append(region)
        arrays["payloads"].append(json.dumps(payload))
    return {**arrays, "now": now, "topic": OUTBOX_TOPIC, "mark": DRAIN_MARK}, counts


def drain_cleanup(conn, *, backlog: bool = True) -> dict[str, int]:
    """Delete the drain's events (marked), their outbox messages and alerts, give back the others' outbox backlog
    (`backlog`), re-derive the rollups of the days touched, vacuum what was written (autovacuum is off on the
    bench server)."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from bench.alerts_world import backlog_restore
    from reports.rollups import day_rederive

    done = {}
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # the ledger's append-only trigger
        conn.execute(
            "CREATE TEMP TABLE bench_drain_events ON COMMIT DROP AS SELECT id FROM vehicles_lifecycleevent "
            "WHERE prev_hash = %s AND recorded_at > now() - interval '3 days'",
            [DRAIN_MARK],
        )
        conn.execute(
            "CREATE TEMP TABLE bench_drain_alerts ON COMMIT DROP AS SELECT id FROM alerts_alert "
            "WHERE event_id IN (SELECT id FROM bench_drain_events)"
        )
        for table in ("alerts_alertdelivery", "alerts_alerttransition", "alerts_webhookdelivery"):
            conn.execute(f"DELETE FROM {table} WHERE alert_id IN (SELECT id FROM bench_drain_alerts)")
        done["alerts"] = conn.execute(
            "DELETE FROM alerts_alert WHERE id IN (SELECT id FROM bench_drain_alerts)"
        ).rowcount
        done["outbox"] = conn.execute(
            "DELETE FROM vehicles_outboxmessage WHERE event_id IN (SELECT id FROM bench_drain_events)"
        ).rowcount
        done["events"] = conn.execute(
            "DELETE FROM vehicles_lifecycleevent WHERE id IN (SELECT id FROM bench_drain_events) "
            "AND recorded_at > now() - interval '3 days'"
        ).rowcount
    if backlog:
        done["backlog given back"] = backlog_restore(conn)
    today = timezone.localdate()
    quiet = logging.getLogger("reports.rollups")  # the drift repaired here is this benchmark's own, not news
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        done["rollup rows re-derived"] = sum(day_rederive(today - dt.timedelta(days=n)) for n in range(3))
    finally:
        quiet.setLevel(level)
    month = dt.datetime.now(tz=dt.UTC)  # the ledger is partitioned by the UTC month of recorded_at
    partition = f"vehicles_lifecycleevent_y{month:%Y}m{month:%m}"
    for table in (
        "vehicles_outboxmessage",
        "alerts_alert",
        "alerts_alertdelivery",
        "alerts_alerttransition",
        "reports_regionday",
        "reports_enterpriseday",
        "reports_alertday",
        partition,
    ):
        conn.execute(f"VACUUM (ANALYZE) {table}")
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        client.delete("notifications")  # the e-mail tasks of the alerts raised (no notifier runs here)
    return done

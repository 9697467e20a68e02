"""Data and hand-written SQL for bench/bench_alerts.py: repair shops, events, a city's alerts, and the clean-up.

Everything the benchmark writes carries a marker, so `cleanup()` finds it again even after an interrupted run:
- repair shops named `基准维修部 ALERTBENCH-…`; their ledger events, outbox messages and alerts;
- alerts whose dedup key starts with `BENCH-INBOX:` (the inbox's 100,000);
- outbox messages of other writers set aside while the latency test runs: `published_at` = 1970-01-01.

Ledger events are append-only (a trigger refuses DELETE): the clean-up deletes its own with
`session_replication_role = replica` (superuser), which skips that trigger, and puts each bike's chain head back
where it was (the `prev_hash` and `seq - 1` of its first bench event), so the chains verify as before.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

SHOP_MARK = "ALERTBENCH-"
INBOX_MARK = "BENCH-INBOX:"
SET_ASIDE = "1970-01-01 00:00:00+00"  # published_at of the outbox messages of others, hidden during the test
PHASE2_EVENT_BASE = 10**15  # ids of the in-memory events of the batch test: never real ledger ids
CLOSURE_DAYS = {"high": 3, "medium": 7, "low": 15}


# Set-aside of other writers' outbox backlog ---------------------------------------------------------------------


def backlog_set_aside(conn) -> int:
    """Hide the unpublished outbox messages already there (others' benchmarks leave them; no worker ran), so the
    worker drains only what is written during the test. `backlog_restore` gives them back."""
    cursor = conn.execute("UPDATE vehicles_outboxmessage SET published_at = %s WHERE published_at IS NULL", [SET_ASIDE])
    return cursor.rowcount


def backlog_restore(conn) -> int:
    cursor = conn.execute("UPDATE vehicles_outboxmessage SET published_at = NULL WHERE published_at = %s", [SET_ASIDE])
    return cursor.rowcount


# Clean-up ---------------------------------------------------------------------------------------------------------


def cleanup(conn) -> dict[str, int]:
    """Delete every row a run wrote (by marker), put the bikes' chain heads back, give back the outbox backlog."""
    done = {}
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # the ledger's append-only trigger
        shops = [r[0] for r in conn.execute("SELECT id FROM core_organization WHERE name LIKE %s", [f"%{SHOP_MARK}%"])]
        conn.execute(
            "CREATE TEMP TABLE bench_gone_alerts ON COMMIT DROP AS SELECT id FROM alerts_alert "
            "WHERE dedup_key LIKE %s OR organization_id = ANY(%s)",
            [f"{INBOX_MARK}%", shops],
        )
        for table in ("alerts_alertdelivery", "alerts_alerttransition", "alerts_webhookdelivery"):
            conn.execute(f"DELETE FROM {table} WHERE alert_id IN (SELECT id FROM bench_gone_alerts)")
        done["alerts"] = conn.execute(
            "DELETE FROM alerts_alert WHERE id IN (SELECT id FROM bench_gone_alerts)"
        ).rowcount
        if shops:
            # Each bike's head goes back to the state before its first bench event (its prev_hash, seq - 1).
            conn.execute(
                """
                UPDATE vehicles_vehicle v SET ledger_seq = first.seq - 1, ledger_head = first.prev_hash
                FROM (SELECT DISTINCT ON (vehicle_id) vehicle_id, seq, prev_hash FROM vehicles_lifecycleevent
                      WHERE organization_id = ANY(%s) ORDER BY vehicle_id, seq) first
                WHERE v.id = first.vehicle_id
                """,
                [shops],
            )
            done["outbox"] = conn.execute(
                "DELETE FROM vehicles_outboxmessage WHERE event_id IN "
                "(SELECT id FROM vehicles_lifecycleevent WHERE organization_id = ANY(%s))",
                [shops],
            ).rowcount
            done["events"] = conn.execute(
                "DELETE FROM vehicles_lifecycleevent WHERE organization_id = ANY(%s)", [shops]
            ).rowcount
            conn.execute("DELETE FROM core_organization WHERE id = ANY(%s)", [shops])
        done["shops"] = len(shops)
    done["outbox set aside, given back"] = backlog_restore(conn)
    # Autovacuum is off on the bench server: without this, the next scans would wade through the dead rows.
    if done["alerts"]:
        for table in ("alerts_alert", "alerts_alertdelivery", "alerts_alerttransition"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    if done.get("outbox") or done["outbox set aside, given back"]:
        conn.execute("VACUUM (ANALYZE) vehicles_outboxmessage")
    return done


# Repair shops -------------------------------------------------------------------------------------------------


def shops_create(regions: list[str], tag: str) -> list:
    """One repair shop per region (ORM), qualified: a `repaired` event names its shop and its region."""
    from core.codes import make_uscc
    from core.models import Organization, OrganizationKind

    shops = []
    for n, region in enumerate(regions):
        shops.append(
            Organization.objects.create(
                name=f"基准维修部 {SHOP_MARK}{tag}-{n}",
                kind=OrganizationKind.REPAIR_SHOP,
                uscc=make_uscc(f"92{region}R{tag}{n:03d}"[:17]),
                region_id=region,
                qualification_no=f"BENCH-R-{tag}-{n}",
            )
        )
    return shops


def repaired_payload(repair: int, shop_id: int, **changes) -> dict:
    """The payload the repairs service writes (repairs.services.repaired_payload), with `changes` applied."""
    return {
        "repair": repair,
        "kind": "other",
        "shop": shop_id,
        "shop_qualified": True,
        "fitted_motor_power_w": None,
        "measured_max_speed_kmh": None,
        "removed_battery_serials": [],
        "fitted_battery_serials": [],
        "flags": [],
        "battery_flags": {},
        **changes,
    }


# Phase 2: a mix of events for the rules, in memory, and the same checks in one SQL pass ---------------------------


@dataclass
class EventRow:
    id: int
    type: str
    vehicle_id: int
    battery_id: int | None
    organization_id: int
    region_code: str
    payload: dict
    occurred_at: dt.datetime


MIX = (  # share of the events: (kind, share)
    ("repaired, nothing to report", 0.35),
    ("repaired, a violation", 0.25),
    ("battery_fitted, certified pair", 0.30),
    ("battery_fitted, not a certified pair", 0.10),
)


def events_mix(conn, count: int, seed: int) -> tuple[list[EventRow], dict[str, int]]:
    """`count` events over random registered bikes of the whole dataset, in the proportions of MIX."""
    rng = random.Random(seed)
    bikes = conn.execute(
        """
        SELECT v.id, v.model_id, v.region_id, b.id, b.serial
        FROM vehicles_vehicle v TABLESAMPLE SYSTEM (8) REPEATABLE (%s)
        JOIN vehicles_battery b ON b.vehicle_id = v.id
        WHERE v.status = 'registered'
          AND v.model_id IN (SELECT id FROM catalog_vehiclemodel WHERE code LIKE 'BENCH-V%%')
        LIMIT %s
        """,
        [seed, count],
    ).fetchall()
    if len(bikes) < count:
        raise SystemExit(f"only {len(bikes)} registered bikes sampled, {count} needed")
    compatible: dict[int, set[int]] = {}
    for vehicle_model, battery_model in conn.execute(
        "SELECT vehiclemodel_id, batterymodel_id FROM catalog_vehiclemodel_compatible_battery_models"
    ):
        compatible.setdefault(vehicle_model, set()).add(battery_model)
    spare = conn.execute(
        "SELECT id, serial, model_id FROM vehicles_battery TABLESAMPLE SYSTEM (1) REPEATABLE (%s) "
        "WHERE model_id IN (SELECT id FROM catalog_batterymodel WHERE code LIKE 'BENCH-B0%%') LIMIT 5000",
        [seed],
    ).fetchall()
    dealers = [r[0] for r in conn.execute("SELECT id FROM core_organization WHERE kind = 'dealer' LIMIT 200")]
    now = dt.datetime.now(tz=dt.UTC)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    events, counts = [], dict.fromkeys(kinds, 0)
    for n, (vehicle_id, model_id, region, battery_id, _serial) in enumerate(bikes):
        kind = rng.choices(kinds, weights)[0]
        counts[kind] += 1
        shop = rng.choice(dealers)  # stands for the shop: the rules read only the id
        event = EventRow(
            id=PHASE2_EVENT_BASE + n,
            type="repaired",
            vehicle_id=vehicle_id,
            battery_id=None,
            organization_id=shop,
            region_code=region,
            payload={},
            occurred_at=now - dt.timedelta(minutes=rng.randrange(600)),
        )
        repair = 800_000_000 + n
        if kind == "repaired, nothing to report":
            event.payload = repaired_payload(
                repair,
                shop,
                kind=rng.choice(["brake_tyre", "other", "controller_replacement"]),
                measured_max_speed_kmh=rng.choice([None, "24.5", "25.0"]),
            )
        elif kind == "repaired, a violation":
            violation = rng.randrange(6)
            if violation == 0:
                changes = {"kind": "speed_limiter", "measured_max_speed_kmh": "31.5"}
            elif violation == 1:
                changes = {"measured_max_speed_kmh": "29.0"}
            elif violation == 2:
                changes = {"kind": "motor_replacement", "fitted_motor_power_w": rng.choice([380, 500, 800])}
            elif violation == 3:
                changes = {"shop_qualified": False, "flags": ["shop_unqualified"]}
            else:
                other = rng.choice(spare)
                flag = "battery_fitted_elsewhere" if violation == 4 else "battery_recycled"
                changes = {
                    "kind": "battery_replacement",
                    "fitted_battery_serials": [other[1]],
                    "flags": [flag],
                    "battery_flags": {other[1]: [flag]},
                }
            event.payload = repaired_payload(repair, shop, **changes)
        elif kind == "battery_fitted, certified pair":
            event.type, event.battery_id, event.payload = "battery_fitted", battery_id, {"model": "certified"}
        else:
            pool = [b for b in spare if b[2] not in compatible.get(model_id, set())]
            other = rng.choice(pool)
            event.type, event.battery_id, event.payload = "battery_fitted", other[0], {"model": "other"}
        events.append(event)
    return events, counts


def events_copy(conn, events: list[EventRow]) -> None:
    """The same events into a temporary table of the baseline's connection (it reads them from there)."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_events (id bigint PRIMARY KEY, type text, vehicle_id bigint, "
        "battery_id bigint, organization_id bigint, region_code text, payload jsonb, occurred_at timestamptz)"
    )
    conn.execute("TRUNCATE bench_events")
    with conn.cursor().copy("COPY bench_events FROM STDIN") as copy:
        for e in events:
            copy.write_row(
                (
                    e.id,
                    e.type,
                    e.vehicle_id,
                    e.battery_id,
                    e.organization_id,
                    e.region_code,
                    json.dumps(e.payload),
                    e.occurred_at,
                )
            )
    conn.execute("ANALYZE bench_events")


def lifecycle_events(events: list[EventRow]) -> list:
    """The same events as the model instances drain_outbox hands to the engine (unsaved: ids are made up)."""
    from vehicles.models import LifecycleEvent

    return [
        LifecycleEvent(
            id=e.id,
            recorded_at=e.occurred_at,
            occurred_at=e.occurred_at,
            vehicle_id=e.vehicle_id,
            battery_id=e.battery_id,
            seq=1,
            type=e.type,
            organization_id=e.organization_id,
            region_code=e.region_code,
            payload=json.loads(json.dumps(e.payload)),
        )
        for e in events
    ]


# Every finding of alerts/rules.py over bench_events, in one statement. Same rules, same thresholds (the catalog's
# standards rows), same dedup keys and evidence keys.
FINDINGS_SQL = """
WITH ev AS (
    SELECT e.*, v.frame_no, v.model_id, vm.code AS vm_code, vm.nominal_voltage_v AS vm_voltage,
           vm.motor_power_w AS vm_power, s.code AS std_code, s.max_design_speed_kmh AS speed_limit,
           s.max_nominal_voltage_v AS voltage_limit, s.max_motor_power_w AS power_limit,
           e.payload ->> 'repair' AS repair
    FROM bench_events e
    JOIN vehicles_vehicle v ON v.id = e.vehicle_id
    JOIN catalog_vehiclemodel vm ON vm.id = v.model_id
    JOIN catalog_standard s ON s.id = vm.standard_id
),
pairs AS (
    SELECT p.vehiclemodel_id, array_agg(p.batterymodel_id) AS ids, max(bm.capacity_ah) AS largest,
           jsonb_agg(bm.code ORDER BY bm.code) AS codes
    FROM catalog_vehiclemodel_compatible_battery_models p
    JOIN catalog_batterymodel bm ON bm.id = p.batterymodel_id
    GROUP BY p.vehiclemodel_id
),
fitted AS (
    SELECT ev.*, b.serial, bm.code AS bm_code, bm.nominal_voltage_v AS bm_voltage, bm.capacity_ah AS bm_capacity,
           pairs.codes, array_remove(ARRAY[
               CASE WHEN NOT b.model_id = ANY(coalesce(pairs.ids, '{}')) THEN 'not_a_certified_pair' END,
               CASE WHEN bm.nominal_voltage_v > ev.vm_voltage
                      OR bm.nominal_voltage_v > ev.voltage_limit THEN 'voltage_exceeds' END,
               CASE WHEN bm.capacity_ah > pairs.largest THEN 'capacity_exceeds' END
           ], NULL) AS reasons
    FROM ev
    JOIN vehicles_battery b ON b.id = ev.battery_id
    JOIN catalog_batterymodel bm ON bm.id = b.model_id
    LEFT JOIN pairs ON pairs.vehiclemodel_id = ev.model_id
    WHERE ev.type = 'battery_fitted'
),
repaired AS (
    SELECT ev.*, nullif(ev.payload ->> 'measured_max_speed_kmh', '')::numeric AS measured,
           nullif(ev.payload ->> 'fitted_motor_power_w', '')::numeric AS power
    FROM ev WHERE ev.type = 'repaired'
),
speed AS (
    SELECT r.*, array_remove(ARRAY[
               CASE WHEN r.payload ->> 'kind' = 'speed_limiter' THEN 'speed_limiter_work' END,
               CASE WHEN r.measured > r.speed_limit THEN 'measured_speed_over_limit' END
           ], NULL) AS reasons
    FROM repaired r
),
motor AS (
    SELECT r.*, array_remove(ARRAY[
               CASE WHEN r.power > r.vm_power THEN 'above_certified_power' END,
               CASE WHEN r.power > r.power_limit THEN 'above_standard_limit' END
           ], NULL) AS reasons
    FROM repaired r WHERE r.power IS NOT NULL
),
flagged AS (
    SELECT r.*, f.key AS flag_serial, f.value AS flags, b.id AS flag_battery_id
    FROM repaired r
    CROSS JOIN LATERAL jsonb_each(coalesce(nullif(r.payload -> 'battery_flags', 'null'), '{}')) f
    LEFT JOIN vehicles_battery b ON b.serial = f.key
)
SELECT id AS event_id, 'MOD_BATTERY_NONSTANDARD' AS rule, 'MOD_BATTERY_NONSTANDARD:event:' || id AS dedup_key,
       region_code, vehicle_id, battery_id, frame_no, serial AS battery_serial, organization_id, occurred_at,
       jsonb_build_object('reasons', to_jsonb(reasons), 'battery_model', bm_code,
           'battery_voltage_v', bm_voltage::text, 'battery_capacity_ah', bm_capacity::text, 'vehicle_model', vm_code,
           'vehicle_voltage_v', vm_voltage::text, 'standard', std_code, 'standard_max_voltage_v', voltage_limit::text,
           'certified_battery_models', coalesce(codes, '[]')) AS evidence
FROM fitted WHERE cardinality(reasons) > 0
UNION ALL
SELECT id, 'MOD_SPEED_UNLOCK', 'MOD_SPEED_UNLOCK:repair:' || repair, region_code, vehicle_id, NULL, frame_no, '',
       organization_id, occurred_at,
       jsonb_build_object('reasons', to_jsonb(reasons), 'measured_max_speed_kmh', nullif(measured, 0)::text,
           'limit_kmh', speed_limit::text, 'standard', std_code, 'repair', payload -> 'repair',
           'kind', payload -> 'kind')
FROM speed WHERE cardinality(reasons) > 0
UNION ALL
SELECT id, 'MOD_MOTOR_POWER', 'MOD_MOTOR_POWER:repair:' || repair, region_code, vehicle_id, NULL, frame_no, '',
       organization_id, occurred_at,
       jsonb_build_object('reasons', to_jsonb(reasons), 'fitted_motor_power_w', power::int,
           'certified_power_w', vm_power, 'limit_w', power_limit, 'standard', std_code, 'repair', payload -> 'repair')
FROM motor WHERE cardinality(reasons) > 0
UNION ALL
SELECT id, 'SHOP_UNQUALIFIED', 'SHOP_UNQUALIFIED:repair:' || repair, region_code, vehicle_id, NULL, frame_no, '',
       organization_id, occurred_at,
       jsonb_build_object('shop', organization_id, 'repair', payload -> 'repair', 'kind', payload -> 'kind')
FROM repaired WHERE NOT coalesce((payload ->> 'shop_qualified')::boolean, true)
UNION ALL
SELECT id, rule, rule || ':repair:' || repair || ':' || flag_serial, region_code, vehicle_id, flag_battery_id,
       frame_no, flag_serial, organization_id, occurred_at,
       jsonb_build_object('serial', flag_serial, 'flags', flags, 'repair', payload -> 'repair')
FROM flagged
CROSS JOIN LATERAL (VALUES ('BATTERY_DUPLICATE', 'battery_fitted_elsewhere'),
                           ('BATTERY_RECYCLED_REAPPEARS', 'battery_recycled')) AS r(rule, flag)
WHERE flags ? r.flag
"""


def raise_sql() -> str:
    """The findings inserted as dispatched alerts (routed to the regulator of the longest region prefix), with
    the jurisdiction delivery and the dispatch step: what raise_findings + dispatch write, in one statement."""
    from alerts.rules import REGISTRY, Severity

    closure = {Severity.HIGH: 3, Severity.MEDIUM: 7, Severity.LOW: 15}
    rules = ", ".join(
        f"('{code}', '{r.category}', '{r.severity}', interval '{closure[r.severity]} days')"
        for code, r in REGISTRY.items()
    )
    return f"""
WITH f AS ({FINDINGS_SQL}),
rules(code, category, severity, closure) AS (VALUES {rules}),
regulators AS MATERIALIZED (
    SELECT o.id, o.name, rr.level,
           left(rr.code, CASE rr.level WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 6 ELSE 9 END) AS prefix
    FROM core_organization o JOIN core_region rr ON rr.code = o.region_id
    WHERE o.kind = 'regulator' AND o.status = 'active'
),
ins AS (
    INSERT INTO alerts_alert (rule, category, severity, status, region_code, regulator_id, organization_id,
        vehicle_id, battery_id, frame_no, battery_serial, evidence, dedup_key, event_id, event_at, created_at,
        dispatched_at, dispatch_due_at, due_at, escalation_level)
    SELECT f.rule, r.category, r.severity, 'dispatched', f.region_code, reg.id, f.organization_id, f.vehicle_id,
           f.battery_id, f.frame_no, f.battery_serial, f.evidence, left(f.dedup_key, 200), f.event_id,
           f.occurred_at, now(), now(), f.occurred_at + interval '10 minutes', f.occurred_at + r.closure, 0
    FROM f JOIN rules r ON r.code = f.rule
    LEFT JOIN LATERAL (SELECT g.id FROM regulators g WHERE f.region_code LIKE g.prefix || '%'
                       ORDER BY g.level DESC, g.id LIMIT 1) reg ON true
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id, regulator_id
),
delivered AS (
    INSERT INTO alerts_alertdelivery (alert_id, organization_id, reason, delivered_at)
    SELECT id, regulator_id, 'jurisdiction', now() FROM ins WHERE regulator_id IS NOT NULL
),
stepped AS (
    INSERT INTO alerts_alerttransition (alert_id, action, from_status, to_status, note, at)
    SELECT ins.id, 'dispatch', 'new', 'dispatched', coalesce(o.name, 'no regulator for this region'), now()
    FROM ins LEFT JOIN core_organization o ON o.id = ins.regulator_id
)
SELECT count(*) FROM ins
"""


# Phase 3: a city's inbox of 100,000 alerts, by COPY ------------------------------------------------------------

INBOX_RULES = (  # rule, category, severity, weight
    ("MOD_BATTERY_NONSTANDARD", "battery", "high", 24),
    ("MOD_SPEED_UNLOCK", "speed", "high", 20),
    ("MOD_MOTOR_POWER", "motor", "high", 8),
    ("SHOP_UNQUALIFIED", "shop", "medium", 9),
    ("BATTERY_DUPLICATE", "battery", "medium", 4),
    ("BATTERY_RECYCLED_REAPPEARS", "battery", "high", 3),
    ("PRODUCT_UNCERTIFIED", "product", "high", 8),
    ("STOCK_MISMATCH", "stock", "medium", 12),
    ("COMPLAINT", "complaint", "medium", 12),
)
ALERT_COLUMNS = (
    "id, rule, category, severity, status, region_code, regulator_id, organization_id, vehicle_id, battery_id, "
    "frame_no, battery_serial, evidence, dedup_key, event_id, event_at, created_at, dispatched_at, dispatch_due_at, "
    "due_at, closed_at, escalation_level, escalated_at"
)


def _status(age_days: float, rng: random.Random, closure_days: int) -> tuple[str, bool]:
    """A plausible state for an alert of this age: most old ones closed, recent ones in the loop."""
    if age_days > closure_days * 2:
        states = ["closed", "dismissed", "verified", "rectification_requested", "reopened"]
        return rng.choices(states, [70, 12, 6, 9, 3])[0], True
    return rng.choices(
        ["dispatched", "rectification_requested", "rectification_submitted", "verified", "closed", "dismissed"],
        [35, 25, 12, 8, 15, 5],
    )[0], False


def inbox_load(conn, city: str, count: int, tag: str, seed: int) -> dict:
    """`count` dispatched alerts in the city's districts (by share of registered bikes), over 90 days, by COPY,
    with their jurisdiction deliveries. Returns what was loaded."""
    rng = random.Random(seed)
    prefix = city[:4]
    districts = conn.execute(
        "SELECT region_id, count(*) FROM vehicles_vehicle WHERE region_id LIKE %s AND status = 'registered' "
        "GROUP BY 1 ORDER BY 1",
        [f"{prefix}%"],
    ).fetchall()
    regulators = dict(
        conn.execute(
            "SELECT region_id, id FROM core_organization WHERE kind = 'regulator' AND region_id LIKE %s", [f"{prefix}%"]
        ).fetchall()
    )
    city_regulator = regulators[city]
    bikes: dict[str, list[tuple]] = {}
    for vehicle_id, frame_no, region, battery_id, serial in conn.execute(
        """
        SELECT v.id, v.frame_no, v.region_id, b.id, b.serial
        FROM vehicles_vehicle v TABLESAMPLE SYSTEM (10) REPEATABLE (%s)
        LEFT JOIN vehicles_battery b ON b.vehicle_id = v.id
        WHERE v.region_id LIKE %s AND v.status = 'registered'
        """,
        [seed, f"{prefix}%"],
    ):
        bikes.setdefault(region, []).append((vehicle_id, frame_no, battery_id, serial))
    dealers: dict[str, list[int]] = {}
    for org_id, region in conn.execute(
        "SELECT id, region_id FROM core_organization WHERE kind = 'dealer' AND region_id LIKE %s", [f"{prefix}%"]
    ):
        dealers.setdefault(region, []).append(org_id)
    all_dealers = [d for ds in dealers.values() for d in ds]
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('alerts_alert', 'id')) FROM generate_series(1, %s)", [count]
        )
    ]
    regions = [d[0] for d in districts]
    region_weights = [d[1] for d in districts]
    rules = [r[:3] for r in INBOX_RULES]
    rule_weights = [r[3] for r in INBOX_RULES]
    now = dt.datetime.now(tz=dt.UTC)
    statuses: dict[str, int] = {}
    deliveries = []
    with conn.transaction():
        with conn.cursor().copy(f"COPY alerts_alert ({ALERT_COLUMNS}) FROM STDIN") as copy:
            for n, alert_id in enumerate(ids):
                region = rng.choices(regions, region_weights)[0]
                rule, category, severity = rng.choices(rules, rule_weights)[0]
                vehicle_id, frame_no, battery_id, serial = rng.choice(bikes[region])
                organization = rng.choice(dealers.get(region) or all_dealers)
                age = rng.random() ** 1.3 * 90  # a little denser towards today
                created = now - dt.timedelta(days=age)
                event_at = created - dt.timedelta(seconds=rng.randint(1, 30))
                closure = CLOSURE_DAYS[severity]
                status, old = _status(age, rng, closure)
                statuses[status] = statuses.get(status, 0) + 1
                closed = status in ("closed", "dismissed")
                closed_at = created + dt.timedelta(days=rng.uniform(0.5, closure)) if closed else None
                escalation = 1 if (old and status == "rectification_requested") else 0
                battery = rule in ("MOD_BATTERY_NONSTANDARD", "BATTERY_DUPLICATE", "BATTERY_RECYCLED_REAPPEARS")
                evidence = {"source": f"bench:{n}"}
                if rule == "MOD_SPEED_UNLOCK":
                    evidence = {"reasons": ["speed_limiter_work"], "repair": 700_000_000 + n, "kind": "speed_limiter"}
                elif battery:
                    evidence = {"reasons": ["not_a_certified_pair"], "serial": serial, "standard": "GB17761-2024"}
                regulator = regulators.get(region, city_regulator)
                deliveries.append((alert_id, regulator, "jurisdiction", created + dt.timedelta(seconds=2)))
                copy.write_row(
                    (
                        alert_id,
                        rule,
                        category,
                        severity,
                        status,
                        region,
                        regulator,
                        organization,
                        vehicle_id,
                        battery_id if battery else None,
                        frame_no,
                        serial if battery and serial else "",
                        json.dumps(evidence),
                        f"{INBOX_MARK}{tag}:{n}",
                        None,
                        event_at,
                        created,
                        created + dt.timedelta(seconds=2),
                        event_at + dt.timedelta(minutes=10),
                        event_at + dt.timedelta(days=closure),
                        closed_at,
                        escalation,
                        created + dt.timedelta(days=closure) if escalation else None,
                    )
                )
        with conn.cursor().copy(
            "COPY alerts_alertdelivery (alert_id, organization_id, reason, delivered_at) FROM STDIN"
        ) as copy:
            for row in deliveries:
                copy.write_row(row)
    return {"alerts": count, "districts": len(regions), "statuses": statuses, "first_id": ids[0], "last_id": ids[-1]}

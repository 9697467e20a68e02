"""The governance year of the bench data: repair shops, a year of repairs and complaints on the registered bikes,
the alerts the rule engine raises from them with their closed loop; then the daily rollups, backfilled set-based,
and the monthly 三分 risk gradings. Used by bench/generate.py.

What it writes, per registered bike, from its sale (or the start of the year, whichever is later) to now:
- repairs at `REPAIRS_PER_YEAR` (a Poisson process), each by a repair shop of the bike's county: the Repair row and
  its `repaired` event on the bike's hash chain, with the payload repairs.services writes. Illegal modifications
  (a speed limiter removed, an 800 W motor, a measured speed over the limit) are rare, except at the few shops
  that make a trade of them (`MODIFYING_SHOPS`); a few shops are unqualified (no qualification number filed), so
  each of their repairs is flagged;
- consumer complaints at `COMPLAINTS_PER_YEAR`, five times as many about the bikes of a few dealers
  (`COMPLAINED_DEALERS`): the Complaint row and its `complaint` event;
- for each of those the alerts alerts/rules.py raises (MOD_SPEED_UNLOCK, MOD_MOTOR_POWER, SHOP_UNQUALIFIED,
  COMPLAINT), with the engine's dedup keys, evidence, routing (regulator and jurisdiction delivery) and
  deadlines, dispatched seconds after upload; then the closed loop as it would have gone by now (rectification
  requested, submitted, verified, closed; some dismissed, some reopened, some left overdue), each step a row.

The rollups (reports.models RegionDay, EnterpriseDay, AlertDay) are then filled for every day of the data with
three INSERT … SELECT that compute what reports.rollups.day_rederive computes one day at a time (the same filters,
days and second-lists); a sample of days is re-derived with day_rederive afterwards, which must find nothing to
repair. Last, reports.risk.risk_grade_all grades every enterprise and region as of the first day of each month of
the year, then now, so the grade history has a year of changes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time

HISTORY_MONTHS = 12
REPAIRS_PER_YEAR = 0.5  # per registered bike
COMPLAINTS_PER_YEAR = 0.01
COMPLAINED_DEALERS = 0.1  # share of dealers whose bikes draw five times as many complaints
UNQUALIFIED_SHARE = 0.08  # of repair shops
MODIFYING_SHOPS = 0.15  # share of repair shops where modifications are common
LATE_DISPATCH_SHARE = 0.01  # alerts the engine dispatched late (a worker down for a while)
REPAIR_KINDS = (("brake_tyre", 50), ("other", 25), ("controller_replacement", 10), ("motor_replacement", 8))
# Per repair, at an ordinary shop / at a modifying one: a speed limiter removed, an 800 W motor among motor
# replacements, a measured speed over the limit.
SPEED_LIMITER_SHARE = (0.003, 0.12)
OVER_POWER_SHARE = (0.03, 0.6)
OVER_SPEED_SHARE = (0.005, 0.05)
DESTINIES = (("closed", 78), ("dismissed", 10), ("overdue", 8), ("reopened", 4))
COMPLAINT_CATEGORIES = ("quality", "battery_fire_risk", "illegal_modification", "dealer_conduct", "repair_conduct")

TABLES = {
    "repairs_repair": (
        "id, shop_id, vehicle_id, kind, removed_battery_serials, fitted_battery_serials, fitted_motor_power_w, "
        "measured_max_speed_kmh, notes, performed_at, created_by_id, shop_qualified, flags, flag_serials, created_at"
    ),
    "alerts_complaint": (
        "id, ticket, category, description, subject, code, vehicle_id, battery_id, region_id, contact_phone_enc, "
        "contact_phone_hash, created_at"
    ),
    "alerts_alert": (
        "id, rule, category, severity, status, region_code, regulator_id, organization_id, vehicle_id, battery_id, "
        "frame_no, battery_serial, evidence, dedup_key, event_id, event_at, created_at, dispatched_at, "
        "dispatch_due_at, due_at, closed_at, escalation_level"
    ),
    "alerts_alerttransition": "id, alert_id, action, from_status, to_status, note, at, due_at",
    "alerts_alertdelivery": "id, alert_id, organization_id, reason, delivered_at",
}


def history_start(today: dt.date) -> dt.date:
    """The first day of the month `HISTORY_MONTHS` before this one: twelve whole months, then this one so far."""
    month = today.replace(day=1)
    for _ in range(HISTORY_MONTHS):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


class Governance:
    """Repair shops (ORM), then, fed bike by bike from the generator's loop, the year's repairs, complaints and
    alerts, streamed to the generator's COPYs."""

    def __init__(self, scale: int, counties: list[str], regulators: dict[str, int], rng: random.Random, tz):
        from django.contrib.auth.hashers import make_password

        from catalog.models import Standard
        from core.codes import make_uscc
        from core.models import Organization, OrganizationKind, Region, User

        self.rng, self.tz = rng, tz
        self.now = dt.datetime.now(tz=dt.UTC)
        self.start = dt.datetime.combine(history_start(dt.datetime.now(tz=tz).date()), dt.time(), tzinfo=tz)
        n_shops = max(len(counties), scale // 2000)
        shops = []
        for n in range(n_shops):
            region = counties[n % len(counties)]
            qualified = rng.random() >= UNQUALIFIED_SHARE
            shops.append(
                Organization(
                    name=f"基准电动车维修部{n:05d}",
                    kind=OrganizationKind.REPAIR_SHOP,
                    region_id=region,
                    uscc=make_uscc(f"92{region}R{n:08d}"),
                    qualification_no=f"BENCH-R-{n:06d}" if qualified else "",
                )
            )
        Organization.objects.bulk_create(shops, batch_size=2000)
        password = make_password("bench-2026")  # one hash for all, as generate.py does
        users = [
            User(username=f"bench_shop_{n:05d}", organization=o, password=password, role="admin")
            for n, o in enumerate(shops)
        ]
        User.objects.bulk_create(users, batch_size=2000)
        self.shops_of: dict[str, list[tuple[int, str, bool, int, bool]]] = {}
        for shop, user in zip(shops, users, strict=True):
            modifying = rng.random() < MODIFYING_SHOPS
            self.shops_of.setdefault(shop.region_id, []).append(
                (shop.pk, shop.region_id, bool(shop.qualification_no), user.pk, modifying)
            )
        self.complained: dict[int, float] = {}  # dealer → its complaint rate, drawn when first met
        self.shop_count = len(shops)
        standards = {s.code: s for s in Standard.objects.all()}
        self.limits = {
            code: (str(s.max_design_speed_kmh), s.max_motor_power_w)
            for code, s in standards.items()
            if s.max_design_speed_kmh is not None
        }
        # The engine routes an alert to the regulator of the longest region prefix that has one.
        prefixes = {Region.objects.get(code=code).prefix: pk for code, pk in regulators.items()}
        self.regulator_of = {}
        for county in counties:
            matches = [p for p in prefixes if county.startswith(p)]
            self.regulator_of[county] = prefixes[max(matches, key=len)] if matches else None
        self.counts = {"repairs": 0, "complaints": 0, "alerts": 0, "steps": 0}

    # Per bike ---------------------------------------------------------------------------------------------------

    def after_sale(
        self,
        load,
        ledger,
        chain: list,
        vehicle: tuple[int, str],
        code: str,
        model_code: str,
        region: str,
        dealer_id: int,
        sold_at: dt.datetime,
    ) -> None:
        """The bike's year after its sale: repairs and complaints in time order, appended to its chain."""
        rng = self.rng
        begin = max(sold_at, self.start)
        end = self.now - dt.timedelta(hours=6)  # an upload a few hours after the fact still lies in the past
        if begin >= end:
            return
        if dealer_id not in self.complained:
            often = rng.random() < COMPLAINED_DEALERS
            self.complained[dealer_id] = COMPLAINTS_PER_YEAR * (5 if often else 1)
        facts = []
        for kind, rate in (("repair", REPAIRS_PER_YEAR), ("complaint", self.complained[dealer_id])):
            moment = begin
            while True:
                moment += dt.timedelta(days=rng.expovariate(rate / 365))
                if moment >= end:
                    break
                facts.append((moment, kind))
        for moment, kind in sorted(facts):
            if kind == "repair":
                self._repair(load, ledger, chain, vehicle, model_code, region, moment)
            else:
                self._complaint(load, ledger, chain, vehicle, code, region, dealer_id, moment)

    def _repair(self, load, ledger, chain, vehicle, model_code, region, performed) -> None:
        rng = self.rng
        shops = self.shops_of.get(region) or self.shops_of[rng.choice(list(self.shops_of))]
        shop_id, shop_region, qualified, user_id, modifying = rng.choice(shops)
        if rng.random() < SPEED_LIMITER_SHARE[modifying]:
            kind = "speed_limiter"
        else:
            kind = rng.choices([k for k, _ in REPAIR_KINDS], [w for _, w in REPAIR_KINDS])[0]
        power = None
        if kind == "motor_replacement":
            power = 800 if rng.random() < OVER_POWER_SHARE[modifying] else 350
        measured = None
        if kind == "speed_limiter":
            measured = rng.choice((None, "31.5", "38.0"))
        elif rng.random() < 0.3:
            measured = "29.0" if rng.random() < OVER_SPEED_SHARE[modifying] else rng.choice(("24.5", "25.0"))
        flags = [] if qualified else ["shop_unqualified"]
        repair_id = load.next_id("repairs_repair")
        uploaded = performed + dt.timedelta(minutes=rng.randint(5, 240))
        load.put(
            "repairs_repair",
            (
                repair_id,
                shop_id,
                vehicle[0],
                kind,
                "[]",
                "[]",
                power,
                measured,
                "",
                performed,
                user_id,
                qualified,
                json.dumps(flags),
                "{}",
                uploaded,
            ),
        )
        payload = {
            "repair": repair_id,
            "kind": kind,
            "shop": shop_id,
            "shop_qualified": qualified,
            "fitted_motor_power_w": power,
            "measured_max_speed_kmh": measured,
            "removed_battery_serials": [],
            "fitted_battery_serials": [],
            "flags": flags,
            "battery_flags": {},
        }
        event_id = ledger.append(chain, "repaired", performed, uploaded, shop_id, shop_region, payload, vehicle=vehicle)
        self.counts["repairs"] += 1
        standard = "GB17761-2018" if model_code.endswith("-2") else "GB17761-2024"
        limit_kmh, limit_w = self.limits[standard]
        found = []
        reasons = ["speed_limiter_work"] if kind == "speed_limiter" else []
        if measured is not None and float(measured) > float(limit_kmh):
            reasons.append("measured_speed_over_limit")
        if reasons:
            evidence = {
                "reasons": reasons,
                "measured_max_speed_kmh": measured,
                "limit_kmh": limit_kmh,
                "standard": standard,
                "repair": repair_id,
                "kind": kind,
            }
            found.append(("MOD_SPEED_UNLOCK", evidence))
        if power is not None and power > 350:
            reasons = ["above_certified_power"] + (["above_standard_limit"] if power > limit_w else [])
            evidence = {
                "reasons": reasons,
                "fitted_motor_power_w": power,
                "certified_power_w": 350,
                "limit_w": limit_w,
                "standard": standard,
                "repair": repair_id,
            }
            found.append(("MOD_MOTOR_POWER", evidence))
        if not qualified:
            evidence = {"shop": shop_id, "repair": repair_id, "kind": kind}
            found.append(("SHOP_UNQUALIFIED", evidence))
        for rule, evidence in found:
            self._alert(
                load,
                rule,
                shop_region,
                shop_id,
                vehicle,
                evidence,
                f"{rule}:repair:{repair_id}",
                event_id,
                performed,
                uploaded,
            )

    def _complaint(self, load, ledger, chain, vehicle, code, region, dealer_id, filed) -> None:
        from alerts.complaints import TICKET_ALPHABET, TICKET_PREFIX

        complaint_id = load.next_id("alerts_complaint")
        x = (complaint_id * 0x9E3779B97F4A7C15) & ((1 << 50) - 1)  # a bijection: unique tickets
        ticket = TICKET_PREFIX + "".join(TICKET_ALPHABET[(x >> shift) & 31] for shift in range(0, 50, 5))
        category = self.rng.choice(COMPLAINT_CATEGORIES)
        load.put(
            "alerts_complaint",
            (
                complaint_id,
                ticket,
                category,
                "基准投诉：车辆使用中出现问题。",
                "vehicle",
                code,
                vehicle[0],
                None,
                region,
                "",
                "",
                filed,
            ),
        )
        recorded = filed + dt.timedelta(seconds=1)
        payload = {"complaint": complaint_id, "category": category}
        event_id = ledger.append(chain, "complaint", filed, recorded, None, region, payload, vehicle=vehicle)
        self.counts["complaints"] += 1
        self._alert(
            load,
            "COMPLAINT",
            region,
            dealer_id,
            vehicle,
            payload,
            f"COMPLAINT:complaint:{complaint_id}",
            event_id,
            filed,
            recorded,
        )

    def _alert(self, load, rule, region, organization_id, vehicle, evidence, dedup_key, event_id, event_at, known_at):
        """One alert as the engine raises it (seconds after the upload; a few late), with its closed loop so far."""
        from alerts.rules import REGISTRY

        rng = self.rng
        category, severity = REGISTRY[rule].category, REGISTRY[rule].severity
        delay = rng.uniform(1, 15) if rng.random() >= LATE_DISPATCH_SHARE else rng.uniform(900, 3600)
        created = known_at + dt.timedelta(seconds=delay)
        if created >= self.now:
            return
        sla = REGISTRY[rule].closure_sla
        due = created + sla
        regulator = self.regulator_of.get(region)
        alert_id = load.next_id("alerts_alert")
        steps = [("dispatch", "new", "dispatched", created, None)]
        destiny = rng.choices([d for d, _ in DESTINIES], [w for _, w in DESTINIES])[0]
        at = created + sla * rng.uniform(0.05, 0.3)
        if destiny == "dismissed" or destiny == "reopened":
            steps.append(("dismiss", "dispatched", "dismissed", at, due))
            if destiny == "reopened":
                reopened = at + dt.timedelta(days=rng.uniform(1, 10))
                steps.append(("reopen", "dismissed", "reopened", reopened, reopened + sla))
        else:
            steps.append(("request_rectification", "dispatched", "rectification_requested", at, due))
            if destiny == "closed":
                at += sla * rng.uniform(0.1, 0.45)
                steps.append(("submit_rectification", "rectification_requested", "rectification_submitted", at, due))
                at += sla * rng.uniform(0.05, 0.2)
                steps.append(("verify", "rectification_submitted", "verified", at, due))
                at += sla * rng.uniform(0.01, 0.35)
                steps.append(("close", "verified", "closed", at, due))
        steps = [s for s in steps if s[3] < self.now]
        status = steps[-1][2]
        closed_at = steps[-1][3] if status in ("closed", "dismissed") else None
        if status == "reopened":
            due = steps[-1][4]
        load.put(
            "alerts_alert",
            (
                alert_id,
                rule,
                category,
                severity,
                status,
                region,
                regulator,
                organization_id,
                vehicle[0],
                None,
                vehicle[1],
                "",
                json.dumps(evidence),
                dedup_key,
                event_id,
                event_at,
                created,
                created,
                known_at + dt.timedelta(minutes=10),
                due,
                closed_at,
                0,
            ),
        )
        if regulator is not None:
            load.put(
                "alerts_alertdelivery",
                (load.next_id("alerts_alertdelivery"), alert_id, regulator, "jurisdiction", created),
            )
        for action, before, after, moment, deadline in steps:
            load.put(
                "alerts_alerttransition",
                (load.next_id("alerts_alerttransition"), alert_id, action, before, after, "", moment, deadline),
            )
        self.counts["alerts"] += 1
        self.counts["steps"] += len(steps)


# The rollups, set-based ----------------------------------------------------------------------------------------

# Each SELECT computes, for every day at once, what the matching derive_* of reports.rollups computes for one day:
# days are local dates (the TIME_ZONE passed as %(tz)s); an event counts on the day it occurred if it was recorded
# no earlier than an hour before that day began (the partition-pruning bound of derive_region_day).
LOCAL_DAY = "(({column}) AT TIME ZONE %(tz)s)::date"
RECORDED_IN_TIME = (
    "recorded_at >= (date_trunc('day', occurred_at AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s) - interval '1 hour'"
)

REGION_DAY_SQL = f"""
INSERT INTO reports_regionday (region_code, day, sales, registrations, transfers, cancellations, repairs,
    vehicles_recycled, batteries_recycled, receipts_rejected, complaints)
SELECT region_code, day, sum(sales), sum(registrations), sum(transfers), sum(cancellations), sum(repairs),
       sum(vehicles_recycled), sum(batteries_recycled), sum(receipts_rejected), sum(complaints)
FROM (
    SELECT region_code, {LOCAL_DAY.format(column="occurred_at")} AS day,
           count(*) FILTER (WHERE type = 'sold') AS sales,
           count(*) FILTER (WHERE type = 'registered') AS registrations,
           count(*) FILTER (WHERE type = 'transferred') AS transfers,
           count(*) FILTER (WHERE type = 'registration_cancelled') AS cancellations,
           count(*) FILTER (WHERE type = 'repaired') AS repairs,
           count(*) FILTER (WHERE type = 'recycled' AND vehicle_id IS NOT NULL) AS vehicles_recycled,
           count(*) FILTER (WHERE type = 'recycled' AND vehicle_id IS NULL) AS batteries_recycled,
           0 AS receipts_rejected, 0 AS complaints
    FROM vehicles_lifecycleevent
    WHERE type IN ('sold', 'registered', 'transferred', 'registration_cancelled', 'repaired', 'recycled')
      AND {RECORDED_IN_TIME}
    GROUP BY 1, 2
    UNION ALL
    SELECT region_id, {LOCAL_DAY.format(column="created_at")}, 0, 0, 0, 0, 0, 0, 0, 0, count(*)
    FROM alerts_complaint GROUP BY 1, 2
    UNION ALL
    SELECT o.region_id, {LOCAL_DAY.format(column="r.received_at")}, 0, 0, 0, 0, 0, 0, 0, count(*), 0
    FROM dealers_receiptitem i JOIN dealers_receipt r ON r.id = i.receipt_id
    JOIN core_organization o ON o.id = r.dealer_id
    WHERE i.verdict = 'rejected' GROUP BY 1, 2
) parts
GROUP BY region_code, day
"""

ENTERPRISE_DAY_SQL = f"""
INSERT INTO reports_enterpriseday (region_code, day, organization_id, sales, repairs, recycled, receipts_rejected,
    alerts_raised)
SELECT region_code, day, organization_id, sum(sales), sum(repairs), sum(recycled), sum(receipts_rejected),
       sum(alerts_raised)
FROM (
    SELECT region_code, {LOCAL_DAY.format(column="occurred_at")} AS day, organization_id,
           count(*) FILTER (WHERE type = 'sold') AS sales, count(*) FILTER (WHERE type = 'repaired') AS repairs,
           count(*) FILTER (WHERE type = 'recycled') AS recycled, 0 AS receipts_rejected, 0 AS alerts_raised
    FROM vehicles_lifecycleevent
    WHERE type IN ('sold', 'repaired', 'recycled') AND organization_id IS NOT NULL AND {RECORDED_IN_TIME}
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT region_code, {LOCAL_DAY.format(column="created_at")}, organization_id, 0, 0, 0, 0, count(*)
    FROM alerts_alert WHERE organization_id IS NOT NULL GROUP BY 1, 2, 3
    UNION ALL
    SELECT o.region_id, {LOCAL_DAY.format(column="r.received_at")}, r.dealer_id, 0, 0, 0, count(*), 0
    FROM dealers_receiptitem i JOIN dealers_receipt r ON r.id = i.receipt_id
    JOIN core_organization o ON o.id = r.dealer_id
    WHERE i.verdict = 'rejected' GROUP BY 1, 2, 3
) parts
GROUP BY region_code, day, organization_id
"""


def alert_day_sql() -> str:
    from reports.rollups import CLOSING, STATUS_COLUMNS

    statuses = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS {c}" for s, c in STATUS_COLUMNS.items())
    columns = ", ".join(STATUS_COLUMNS.values())
    closing = ", ".join(f"'{s}'" for s in CLOSING)
    return f"""
INSERT INTO reports_alertday (region_code, day, rule, severity, raised, dispatched_within_sla, event_to_alert_s,
    {columns}, closed, closed_within_sla, alert_to_closed_s)
SELECT coalesce(c.region_code, x.region_code), coalesce(c.day, x.day), coalesce(c.rule, x.rule),
       coalesce(c.severity, x.severity), coalesce(c.raised, 0), coalesce(c.dispatched_within_sla, 0),
       coalesce(c.event_to_alert_s, '{{}}'),
       {", ".join(f"coalesce(c.{col}, 0)" for col in STATUS_COLUMNS.values())},
       coalesce(x.closed, 0), coalesce(x.closed_within_sla, 0), coalesce(x.alert_to_closed_s, '{{}}')
FROM (
    SELECT region_code, {LOCAL_DAY.format(column="created_at")} AS day, rule, severity, count(*) AS raised,
           count(*) FILTER (WHERE dispatched_at <= dispatch_due_at) AS dispatched_within_sla,
           coalesce(array_agg(greatest(floor(extract(epoch FROM dispatched_at - (dispatch_due_at - %(sla)s)))::int, 0)
                              ORDER BY id) FILTER (WHERE dispatched_at IS NOT NULL), '{{}}') AS event_to_alert_s,
           {statuses}
    FROM alerts_alert GROUP BY 1, 2, 3, 4
) c
FULL JOIN (
    SELECT a.region_code, {LOCAL_DAY.format(column="t.at")} AS day, a.rule, a.severity, count(*) AS closed,
           count(*) FILTER (WHERE t.due_at IS NOT NULL AND t.at <= t.due_at) AS closed_within_sla,
           array_agg(greatest(floor(extract(epoch FROM t.at - coalesce(a.dispatched_at, a.created_at)))::int, 0)
                     ORDER BY t.id) AS alert_to_closed_s
    FROM alerts_alerttransition t JOIN alerts_alert a ON a.id = t.alert_id
    WHERE t.to_status IN ({closing}) AND t.from_status NOT IN ({closing})
    GROUP BY 1, 2, 3, 4
) x ON x.region_code = c.region_code AND x.day = c.day AND x.rule = c.rule AND x.severity = c.severity
"""


def rollups_backfill(conn, tz: str) -> dict[str, tuple[int, float]]:
    """Every rollup of every day of the data, from the raw rows (the tables must be empty). Returns table →
    (rows, seconds)."""
    from alerts.rules import DISPATCH_SLA

    done = {}
    for table, sql in (
        ("reports_regionday", REGION_DAY_SQL),
        ("reports_enterpriseday", ENTERPRISE_DAY_SQL),
        ("reports_alertday", alert_day_sql()),
    ):
        started = time.perf_counter()
        if conn.execute(f"SELECT EXISTS (SELECT FROM {table})").fetchone()[0]:
            raise SystemExit(f"{table} is not empty: the backfill fills empty rollups only")
        rows = conn.execute(sql, {"tz": tz, "sla": DISPATCH_SLA}).rowcount
        conn.execute(f"ANALYZE {table}")
        done[table] = (rows, time.perf_counter() - started)
    return done


def rollups_verify(days: list[dt.date]) -> list[tuple[dt.date, int, float]]:
    """reports.rollups.day_rederive on each day: the rows it had to repair (0 when the backfill is right), and its
    seconds."""
    from reports.rollups import day_rederive

    out = []
    for day in days:
        started = time.perf_counter()
        drift = day_rederive(day)
        out.append((day, drift, time.perf_counter() - started))
    return out


def gradings(tz) -> list[tuple[dt.datetime, object, float]]:
    """reports.risk.risk_grade_all as of the first day of each month of the year, then now."""
    from django.utils import timezone

    from reports.risk import risk_grade_all

    month = history_start(timezone.localdate())
    moments = []
    while month <= timezone.localdate():
        moments.append(dt.datetime.combine(month, dt.time(), tzinfo=tz))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    moments.append(timezone.now())
    out = []
    for moment in moments:
        started = time.perf_counter()
        grading = risk_grade_all(now=moment)
        out.append((moment, grading, time.perf_counter() - started))
    return out

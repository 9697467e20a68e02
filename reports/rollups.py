"""The daily rollups (reports.models RegionDay, EnterpriseDay, AlertDay): kept current as the work happens, and
re-derived from the raw rows every night.

Upkeep adds deltas with one `INSERT … ON CONFLICT DO UPDATE SET col = col + EXCLUDED.col` per table and batch:
- the outbox drain adds the batch's ledger events (`events_add`), in its own transaction;
- the rule engine adds the alerts it raises (`alerts_raised`), the closed loop each step (`alert_moved`);
- filing a complaint adds it (`complaint_added`), an incoming inspection its refusals (`refusals_added`: unknown
  codes have no ledger to be counted from).

`day_rederive` recomputes one day of every rollup from the raw rows (the ledger, alerts, their steps, complaints)
and overwrites what drifted; beat runs it for yesterday each night. Days are local dates (TIME_ZONE) of when the
fact happened: a sale's `occurred_at`, an alert's creation, a closure's step.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Alert, AlertTransition
from alerts.rules import DISPATCH_SLA
from reports.models import AlertDay, EnterpriseDay, RegionDay
from vehicles.models import EventType

log = logging.getLogger(__name__)

# Ledger event → the RegionDay column it counts in.
REGION_COLUMNS = {
    EventType.SOLD: "sales",
    EventType.REGISTERED: "registrations",
    EventType.TRANSFERRED: "transfers",
    EventType.REGISTRATION_CANCELLED: "cancellations",
    EventType.REPAIRED: "repairs",
}
# Ledger event → the EnterpriseDay column of the organization that recorded it.
ENTERPRISE_COLUMNS = {
    EventType.SOLD: "sales",
    EventType.REPAIRED: "repairs",
    EventType.RECYCLED: "recycled",
}
CLOSING = (Alert.Status.CLOSED, Alert.Status.DISMISSED)
STATUS_COLUMNS = {status: f"status_{status}" for status in Alert.Status.values}


@dataclass(frozen=True)
class Table:
    """A rollup table as upkeep writes it: its key columns and its summed columns (arrays are concatenated)."""

    model: type
    key: tuple[str, ...]
    sums: tuple[str, ...]
    arrays: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.model._meta.db_table


REGION = Table(
    RegionDay,
    ("region_code", "day"),
    (
        "sales",
        "registrations",
        "transfers",
        "cancellations",
        "repairs",
        "vehicles_recycled",
        "batteries_recycled",
        "receipts_rejected",
        "complaints",
    ),
)
ENTERPRISE = Table(
    EnterpriseDay,
    ("region_code", "day", "organization_id"),
    ("sales", "repairs", "recycled", "receipts_rejected", "alerts_raised"),
)
ALERTS = Table(
    AlertDay,
    ("region_code", "day", "rule", "severity"),
    ("raised", "dispatched_within_sla", *STATUS_COLUMNS.values(), "closed", "closed_within_sla"),
    ("event_to_alert_s", "alert_to_closed_s"),
)


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def seconds_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole seconds, rounded down, never negative: the same figure in Python and in SQL (floor of the epoch)."""
    return max(int((end - start).total_seconds() // 1), 0)


def known_at(alert: Alert) -> dt.datetime:
    """When the platform learnt of the alert's fact: its dispatch deadline runs from then (alerts.engine)."""
    return alert.dispatch_due_at - DISPATCH_SLA


# ── Upkeep ───────────────────────────────────────────────────────────────────────────────────────────────────


class Deltas:
    """Deltas of one table, summed per key in memory, written with one upsert (`write_together` writes those of
    several tables in one statement)."""

    def __init__(self, table: Table):
        self.table = table
        self.rows: dict[tuple, dict] = {}

    def add(self, key: tuple, **values) -> None:
        row = self.rows.setdefault(key, {})
        for column, value in values.items():
            if column in self.table.arrays:
                row.setdefault(column, []).extend(value)
            else:
                row[column] = row.get(column, 0) + value

    def count(self, key: tuple, column: str) -> None:
        """add(key, column=1), for the hot loop of the drain."""
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = {}
        row[column] = row.get(column, 0) + 1

    def params(self) -> list[str]:
        """One array literal per column (text the server casts, where psycopg would adapt value by value), the
        keys in one order, so that two workers adding to the same rows lock them in the same order."""
        table, rows = self.table, self.rows
        keys = sorted(rows, key=lambda key: tuple(str(k) for k in key))
        columns = [[key[i] for key in keys] for i in range(len(table.key))]
        columns += [[rows[key].get(c, 0) for key in keys] for c in table.sums]
        columns += [[_array_literal(rows[key].get(c, [])) for key in keys] for c in table.arrays]
        return [_array_literal(column) for column in columns]

    def write(self) -> None:
        write_together(self)


def write_together(*deltas: Deltas) -> None:
    """The upserts of several tables in one statement (one round trip), each in the order given."""
    parts = [d for d in deltas if d.rows]
    if not parts:
        return
    with connection.cursor() as cursor:
        cursor.execute(_upserts_sql(tuple(d.table for d in parts)), [p for d in parts for p in d.params()])


def _array_literal(values: list) -> str:
    """A PostgreSQL array literal: numbers and dates as they print, text quoted."""
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


@functools.cache
def _upserts_sql(tables: tuple[Table, ...]) -> str:
    """The upsert of the last table, those of the ones before it as WITH parts of the same statement."""
    *first, last = tables
    parts = ", ".join(f"w{n} AS ({_upsert_sql(table)})" for n, table in enumerate(first))
    return f"WITH {parts} {_upsert_sql(last)}" if first else _upsert_sql(last)


def _upsert_sql(table: Table) -> str:
    """One statement per table whatever the batch: a column of values per array parameter (unnest), so the text
    never changes and the connection prepares it once; a second-list travels as an array literal in a text array."""
    columns = [*table.key, *table.sums, *table.arrays]
    fields = {c: table.model._meta.get_field(c.removesuffix("_id")) for c in columns}
    types = [fields[c].db_type(connection) if c not in table.arrays else "text" for c in columns]
    selected = [f"u.{c}::{fields[c].db_type(connection)}" if c in table.arrays else f"u.{c}" for c in columns]
    updates = [f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in table.sums]
    updates += [f"{c} = {table.name}.{c} || EXCLUDED.{c}" for c in table.arrays]
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(selected)} "
        f"FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) AS u({', '.join(columns)}) "
        f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {', '.join(updates)}"
    )


def events_add(events: Iterable) -> None:
    """Add a drained batch of ledger events to the region and enterprise rollups."""
    regions, enterprises = Deltas(REGION), Deltas(ENTERPRISE)
    zone = timezone.get_current_timezone()  # once per batch: local_day looks it up on every call
    for event in events:
        column = REGION_COLUMNS.get(event.type)
        if event.type == EventType.RECYCLED:
            column = "vehicles_recycled" if event.vehicle_id else "batteries_recycled"
        enterprise_column = ENTERPRISE_COLUMNS.get(event.type) if event.organization_id else None
        if not (column or enterprise_column):
            continue  # most of the traffic (production, receipts, fittings) counts in no rollup
        day = timezone.localtime(event.occurred_at, zone).date()
        if column:
            regions.count((event.region_code, day), column)
        if enterprise_column:
            enterprises.count((event.region_code, day, event.organization_id), enterprise_column)
    write_together(regions, enterprises)


def refusals_added(receipt, refused: int) -> None:
    """Items a dealer refused at incoming inspection, counted where and when the delivery was received."""
    if not refused:
        return
    key = (receipt.dealer.region_id, local_day(receipt.received_at))
    regions, enterprises = Deltas(REGION), Deltas(ENTERPRISE)
    regions.add(key, receipts_rejected=refused)
    enterprises.add((*key, receipt.dealer_id), receipts_rejected=refused)
    write_together(regions, enterprises)


def complaint_added(complaint) -> None:
    regions = Deltas(REGION)
    regions.add((complaint.region_id, local_day(complaint.created_at)), complaints=1)
    regions.write()


def alerts_raised(alerts: Iterable[Alert]) -> None:
    """Add alerts just raised (and dispatched) to their day's cohort, and to their enterprises' figures."""
    cohorts, enterprises = Deltas(ALERTS), Deltas(ENTERPRISE)
    for alert in alerts:
        day = local_day(alert.created_at)
        cohorts.add(
            (alert.region_code, day, alert.rule, alert.severity),
            raised=1,
            dispatched_within_sla=int(alert.dispatched_at is not None and alert.dispatched_at <= alert.dispatch_due_at),
            event_to_alert_s=[seconds_between(known_at(alert), alert.dispatched_at)] if alert.dispatched_at else [],
            **{STATUS_COLUMNS[alert.status]: 1},
        )
        if alert.organization_id:
            enterprises.count((alert.region_code, day, alert.organization_id), "alerts_raised")
    write_together(cohorts, enterprises)


def alert_moved(alert: Alert, *, before: str, step: AlertTransition) -> None:
    """One step of the closed loop: the alert moves between status columns of its cohort; a closure (or a
    dismissal) counts on its own day, within its deadline or not, with the seconds since dispatch."""
    if alert.status == before and alert.status not in CLOSING:
        return
    rows = Deltas(ALERTS)
    key = (alert.region_code, local_day(alert.created_at), alert.rule, alert.severity)
    if alert.status != before:
        rows.add(key, **{STATUS_COLUMNS[before]: -1, STATUS_COLUMNS[alert.status]: 1})
    if alert.status in CLOSING and before not in CLOSING:
        rows.add(
            (alert.region_code, local_day(step.at), alert.rule, alert.severity),
            closed=1,
            closed_within_sla=int(step.due_at is not None and step.at <= step.due_at),
            alert_to_closed_s=[seconds_between(alert.dispatched_at or alert.created_at, step.at)],
        )
    rows.write()


# ── The nightly re-derivation from the raw rows ─────────────────────────────────────────────────────────────


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def derive_region_day(day: dt.date) -> dict[tuple, dict]:
    """RegionDay of one day computed from the ledger and the complaints."""
    start, end = _day_bounds(day)
    cases = ", ".join(
        f"count(*) FILTER (WHERE type = '{event}') AS {column}" for event, column in REGION_COLUMNS.items()
    )
    # An event is recorded when or after it happens (a clock may run 5 minutes ahead): the recorded_at bound lets
    # PostgreSQL skip the older monthly partitions of the ledger.
    sql = f"""
        SELECT region_code, {cases},
               count(*) FILTER (WHERE type = 'recycled' AND vehicle_id IS NOT NULL) AS vehicles_recycled,
               count(*) FILTER (WHERE type = 'recycled' AND vehicle_id IS NULL) AS batteries_recycled
        FROM vehicles_lifecycleevent
        WHERE occurred_at >= %s AND occurred_at < %s AND recorded_at >= %s
        GROUP BY region_code
    """
    rows: dict[tuple, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, start - dt.timedelta(hours=1)])
        names = [c.name for c in cursor.description]
        for record in cursor.fetchall():
            values = dict(zip(names, record, strict=True))
            rows[(values.pop("region_code"), day)] = values
        cursor.execute(
            "SELECT region_id, count(*) FROM alerts_complaint WHERE created_at >= %s AND created_at < %s "
            "GROUP BY region_id",
            [start, end],
        )
        for region_code, count in cursor.fetchall():
            rows.setdefault((region_code, day), {})["complaints"] = count
        for (region_code, _day, _dealer), refused in _refusals(cursor, day).items():
            row = rows.setdefault((region_code, day), {})
            row["receipts_rejected"] = row.get("receipts_rejected", 0) + refused
    return {key: {c: values.get(c, 0) for c in REGION.sums} for key, values in rows.items() if any(values.values())}


def _refusals(cursor, day: dt.date) -> dict[tuple, int]:
    """Refused items of the deliveries received that day, per (dealer region, day, dealer)."""
    start, end = _day_bounds(day)
    cursor.execute(
        """SELECT o.region_id, r.dealer_id, count(*) FROM dealers_receiptitem i
           JOIN dealers_receipt r ON r.id = i.receipt_id JOIN core_organization o ON o.id = r.dealer_id
           WHERE r.received_at >= %s AND r.received_at < %s AND i.verdict = 'rejected'
           GROUP BY o.region_id, r.dealer_id""",
        [start, end],
    )
    return {(region_code, day, dealer): count for region_code, dealer, count in cursor.fetchall()}


def derive_enterprise_day(day: dt.date) -> dict[tuple, dict]:
    start, end = _day_bounds(day)
    cases = ", ".join(
        f"count(*) FILTER (WHERE type = '{event}') AS {column}" for event, column in ENTERPRISE_COLUMNS.items()
    )
    rows: dict[tuple, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT region_code, organization_id, {cases} FROM vehicles_lifecycleevent "
            "WHERE occurred_at >= %s AND occurred_at < %s AND recorded_at >= %s AND organization_id IS NOT NULL "
            "AND type = ANY(%s) GROUP BY region_code, organization_id",
            [start, end, start - dt.timedelta(hours=1), list(ENTERPRISE_COLUMNS)],
        )
        names = [c.name for c in cursor.description]
        for record in cursor.fetchall():
            values = dict(zip(names, record, strict=True))
            rows[(values.pop("region_code"), day, values.pop("organization_id"))] = values
        cursor.execute(
            "SELECT region_code, organization_id, count(*) FROM alerts_alert "
            "WHERE created_at >= %s AND created_at < %s AND organization_id IS NOT NULL "
            "GROUP BY region_code, organization_id",
            [start, end],
        )
        for region_code, organization_id, count in cursor.fetchall():
            rows.setdefault((region_code, day, organization_id), {})["alerts_raised"] = count
        for key, refused in _refusals(cursor, day).items():
            rows.setdefault(key, {})["receipts_rejected"] = refused
    return {key: {c: values.get(c, 0) for c in ENTERPRISE.sums} for key, values in rows.items()}


def derive_alert_day(day: dt.date) -> dict[tuple, dict]:
    """AlertDay of one day: the cohort raised that day (as it stands now) and the closures of that day."""
    start, end = _day_bounds(day)
    statuses = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS {c}" for s, c in STATUS_COLUMNS.items())
    known = "dispatch_due_at - %s"
    rows: dict[tuple, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT region_code, rule, severity, count(*) AS raised,
                       count(*) FILTER (WHERE dispatched_at <= dispatch_due_at) AS dispatched_within_sla,
                       coalesce(array_agg(greatest(floor(extract(epoch FROM dispatched_at - ({known})))::int, 0)
                                          ORDER BY id) FILTER (WHERE dispatched_at IS NOT NULL), '{{}}')
                           AS event_to_alert_s,
                       {statuses}
                FROM alerts_alert WHERE created_at >= %s AND created_at < %s
                GROUP BY region_code, rule, severity""",
            [DISPATCH_SLA, start, end],
        )
        names = [c.name for c in cursor.description]
        for record in cursor.fetchall():
            values = dict(zip(names, record, strict=True))
            rows[(values.pop("region_code"), day, values.pop("rule"), values.pop("severity"))] = values
        # A closure is a step into closed or dismissed from an open state (closing a dismissed alert is not another).
        cursor.execute(
            """SELECT a.region_code, a.rule, a.severity, count(*),
                      count(*) FILTER (WHERE t.due_at IS NOT NULL AND t.at <= t.due_at),
                      array_agg(greatest(floor(extract(epoch FROM t.at - coalesce(a.dispatched_at, a.created_at))
                                         )::int, 0) ORDER BY t.id)
               FROM alerts_alerttransition t JOIN alerts_alert a ON a.id = t.alert_id
               WHERE t.at >= %s AND t.at < %s AND t.to_status = ANY(%s) AND NOT t.from_status = ANY(%s)
               GROUP BY a.region_code, a.rule, a.severity""",
            [start, end, list(CLOSING), list(CLOSING)],
        )
        for region_code, rule, severity, closed, within, seconds in cursor.fetchall():
            row = rows.setdefault((region_code, day, rule, severity), {})
            row.update(closed=closed, closed_within_sla=within, alert_to_closed_s=seconds)
    columns = (*ALERTS.sums, *ALERTS.arrays)
    return {key: {c: values.get(c, [] if c in ALERTS.arrays else 0) for c in columns} for key, values in rows.items()}


DERIVED = ((REGION, derive_region_day), (ENTERPRISE, derive_enterprise_day), (ALERTS, derive_alert_day))


def _stored(table: Table, day: dt.date) -> dict[tuple, dict]:
    columns = [*table.key, *table.sums, *table.arrays]
    rows = table.model.objects.select_for_update().filter(day=day).values_list(*columns)
    width = len(table.key)
    return {tuple(r[:width]): dict(zip(columns[width:], r[width:], strict=True)) for r in rows}


def _same(table: Table, stored: dict, derived: dict) -> bool:
    """Equal figures; a second-list compares as a multiset (upkeep appends in the order the work came)."""
    return all(stored.get(c) == derived.get(c) for c in table.sums) and all(
        sorted(stored.get(c) or []) == sorted(derived.get(c) or []) for c in table.arrays
    )


@transaction.atomic
def day_rederive(day: dt.date) -> int:
    """Recompute every rollup of `day` from the raw rows and repair what drifted; returns how many rows changed."""
    drift = 0
    for table, derive in DERIVED:
        stored, derived = _stored(table, day), derive(day)
        changed = [key for key, values in derived.items() if key not in stored or not _same(table, stored[key], values)]
        gone = [key for key in stored if key not in derived]
        for key in changed:
            table.model.objects.update_or_create(**dict(zip(table.key, key, strict=True)), defaults=derived[key])
        for key in gone:
            table.model.objects.filter(**dict(zip(table.key, key, strict=True))).delete()
        drift += len(changed) + len(gone)
    if drift:
        log.warning("rollups of %s re-derived: %d rows had drifted", day, drift)
    return drift


def days_rederive(first: dt.date, last: dt.date) -> int:
    """Every day from `first` to `last` (a backfill after loading data, or after this feature is deployed)."""
    drift, day = 0, first
    while day <= last:
        drift += day_rederive(day)
        day += dt.timedelta(days=1)
    return drift

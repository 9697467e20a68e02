"""Ledger events and their outbox messages written in bulk with COPY (production, battery swaps): ids drawn from
the sequences up front, the columns both tables take, and each message exactly as events_append writes it.

The writers hash their events with vehicles.ledger.event_hash themselves and move the chains' heads; this module
only carries the rows to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Model

from vehicles.ledger import OUTBOX_TOPIC

EVENT_COLUMNS = (
    "id",
    "recorded_at",
    "occurred_at",
    "vehicle_id",
    "battery_id",
    "seq",
    "type",
    "organization_id",
    "region_code",
    "payload",
    "prev_hash",
    "hash",
)
OUTBOX_COLUMNS = ("event_id", "event_recorded_at", "topic", "payload", "created_at")


def ids_allocate(cursor, model: type[Model], count: int) -> list[int]:
    """`count` ids from the table's sequence, so rows written together can name each other before they exist."""
    if not count:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, count]
    )
    return [row[0] for row in cursor.fetchall()]


def rows_copy(cursor, model: type[Model], columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY rows of Python values, each adapted by psycopg."""
    with cursor.copy(_copy_statement(model, columns)) as copy:
        for row in rows:
            copy.write_row(row)


def lines_copy(cursor, model: type[Model], columns: Sequence[str], lines: Iterable[str], chunk: int = 2_000) -> None:
    """COPY lines already in COPY's text format (tab-separated, newline-ended, `\\N` for null), sent in chunks: much
    cheaper than adapting each value, for rows whose values need no escaping."""
    with cursor.copy(_copy_statement(model, columns)) as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == chunk:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def outbox_payload(event_id: int, type: str, vehicle_id: int | None, battery_id: int | None, region_code: str) -> str:
    """An event's outbox message as JSON text: the payload events_append writes. Types are codes and region codes
    digits, so nothing in it needs escaping."""
    vehicle = "null" if vehicle_id is None else vehicle_id
    battery = "null" if battery_id is None else battery_id
    return (
        f'{{"event_id": {event_id}, "type": "{type}", "vehicle_id": {vehicle}, "battery_id": {battery}, '
        f'"region_code": "{region_code}"}}'
    )


def outbox_row(
    event_id: int, type: str, vehicle_id: int | None, battery_id: int | None, region_code: str, recorded_at
) -> tuple:
    """An event's outbox row, in OUTBOX_COLUMNS' order, for rows_copy."""
    return (
        event_id,
        recorded_at,
        OUTBOX_TOPIC,
        outbox_payload(event_id, type, vehicle_id, battery_id, region_code),
        recorded_at,
    )


def _copy_statement(model: type[Model], columns: Sequence[str]) -> str:
    return f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"

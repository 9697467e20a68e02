"""Production's writes (vehicles.production): the checked rows, their `produced` events, the factory fittings and
the outbox messages, each carried to PostgreSQL by COPY from generators, with ids drawn from the sequences up front
so every row can name the others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.db import connection

from catalog.models import BatteryModel, VehicleModel
from core.models import Organization
from vehicles import codes, factory_fitting
from vehicles.ledger import canonical, event_hash
from vehicles.ledger_copy import EVENT_COLUMNS, OUTBOX_COLUMNS, ids_allocate, outbox_row, rows_copy
from vehicles.models import Battery, EventType, Fitment, LifecycleEvent, OutboxMessage, Vehicle

PRODUCTION_TZ = ZoneInfo("Asia/Shanghai")  # the day a maker writes is a day in China


def _day_start(day: dt.date, cache: dict[dt.date, dt.datetime]) -> dt.datetime:
    moment = cache.get(day)
    if moment is None:
        moment = cache[day] = dt.datetime.combine(day, dt.time(), tzinfo=PRODUCTION_TZ)
    return moment


def vehicles_copy(
    *,
    maker: Organization,
    model: VehicleModel,
    units: list[tuple[str, str, dt.date]],
    recorded_at: dt.datetime,
    fitted: dict[int, list[factory_fitting.FittedBattery]] | None = None,
) -> None:
    region_code = maker.region_id
    day_starts: dict[dt.date, dt.datetime] = {}
    heads: list[str] = []
    fitted = fitted or {}
    # unit index → its battery_fitted events; filled as the vehicles are written, read after
    fitting_events: dict[int, list[tuple[factory_fitting.FittedBattery, int, str, str]]] = {}

    def payload(motor_no: str) -> dict:
        return {"model": model.code, "motor_no": motor_no}

    def vehicle_rows(ids: list[int]) -> Iterator[tuple]:
        for index, (vehicle_id, (frame_no, motor_no, produced_on)) in enumerate(zip(ids, units, strict=True)):
            # Exactly the hash event_append would write for the first event of this chain.
            digest = event_hash(
                prev_hash="",
                seq=1,
                type=EventType.PRODUCED.value,
                occurred_at=_day_start(produced_on, day_starts),
                frame_no=frame_no,
                serial=None,
                organization_id=maker.pk,
                region_code=region_code,
                payload=payload(motor_no),
            )
            heads.append(digest)
            seq, head = 1, digest
            if index in fitted:
                events = fitting_events[index] = factory_fitting.fitted_events(
                    frame_no, fitted[index], prev_hash=digest, maker=maker, recorded_at=recorded_at
                )
                seq, head = events[-1][1], events[-1][3]
            yield (
                vehicle_id,
                frame_no,
                motor_no,
                model.pk,
                maker.pk,
                produced_on,
                codes.public_code_new(),
                Vehicle.Status.PRODUCED.value,
                maker.pk,
                region_code,
                seq,
                head,
                recorded_at,
                recorded_at,
            )

    def event_rows(ids: list[int], event_ids: list[int]) -> Iterator[tuple]:
        for event_id, vehicle_id, (_frame_no, motor_no, produced_on), digest in zip(
            event_ids, ids, units, heads, strict=True
        ):
            yield (
                event_id,
                recorded_at,
                _day_start(produced_on, day_starts),
                vehicle_id,
                None,
                1,
                EventType.PRODUCED.value,
                maker.pk,
                region_code,
                canonical(payload(motor_no)),
                "",
                digest,
            )

    with connection.cursor() as cursor:
        ids = ids_allocate(cursor, Vehicle, len(units))
        event_ids = ids_allocate(cursor, LifecycleEvent, len(units))
        rows_copy(
            cursor,
            Vehicle,
            (
                "id",
                "frame_no",
                "motor_no",
                "model_id",
                "manufacturer_id",
                "produced_on",
                "code",
                "status",
                "holder_id",
                "region_id",
                "ledger_seq",
                "ledger_head",
                "created_at",
                "updated_at",
            ),
            vehicle_rows(ids),
        )
        rows_copy(cursor, LifecycleEvent, EVENT_COLUMNS, event_rows(ids, event_ids))
        rows_copy(
            cursor,
            OutboxMessage,
            OUTBOX_COLUMNS,
            (
                outbox_row(event_id, EventType.PRODUCED, vehicle_id, None, region_code, recorded_at)
                for event_id, vehicle_id in zip(event_ids, ids, strict=True)
            ),
        )
        if fitting_events:
            _fitments_copy(cursor, maker=maker, vehicle_ids=ids, events=fitting_events, recorded_at=recorded_at)


def _fitments_copy(
    cursor,
    *,
    maker: Organization,
    vehicle_ids: list[int],
    events: dict[int, list[tuple[factory_fitting.FittedBattery, int, str, str]]],
    recorded_at: dt.datetime,
) -> None:
    """The factory fitments of the vehicles just written: their battery_fitted events with outbox messages, the
    fitment rows, and the batteries fitted and held with their bike (one UPDATE)."""
    region_code = maker.region_id
    pairs = [(vehicle_ids[index], event) for index in sorted(events) for event in events[index]]
    event_ids = ids_allocate(cursor, LifecycleEvent, len(pairs))
    rows_copy(
        cursor,
        LifecycleEvent,
        EVENT_COLUMNS,
        (
            (
                event_id,
                recorded_at,
                recorded_at,
                vehicle_id,
                battery.id,
                seq,
                EventType.BATTERY_FITTED.value,
                maker.pk,
                region_code,
                canonical({"model": battery.model_code}),
                prev_hash,
                digest,
            )
            for event_id, (vehicle_id, (battery, seq, prev_hash, digest)) in zip(event_ids, pairs, strict=True)
        ),
    )
    rows_copy(
        cursor,
        OutboxMessage,
        OUTBOX_COLUMNS,
        (
            outbox_row(event_id, EventType.BATTERY_FITTED, vehicle_id, event[0].id, region_code, recorded_at)
            for event_id, (vehicle_id, event) in zip(event_ids, pairs, strict=True)
        ),
    )
    rows_copy(
        cursor,
        Fitment,
        ("battery_id", "vehicle_id", "fitted_at", "fitted_by_id"),
        ((event[0].id, vehicle_id, recorded_at, maker.pk) for vehicle_id, event in pairs),
    )
    cursor.execute(
        f"UPDATE {Battery._meta.db_table} AS b SET status = %s, vehicle_id = f.vehicle_id, holder_id = %s, "
        "region_id = %s, updated_at = %s FROM unnest(%s::bigint[], %s::bigint[]) AS f(battery_id, vehicle_id) "
        "WHERE b.id = f.battery_id",
        [
            Battery.Status.FITTED.value,
            maker.pk,
            region_code,
            recorded_at,
            [event[0].id for _vehicle_id, event in pairs],
            [vehicle_id for vehicle_id, _event in pairs],
        ],
    )


def batteries_copy(
    *, maker: Organization, model: BatteryModel, units: list[tuple[str, dt.date]], recorded_at: dt.datetime
) -> None:
    region_code = maker.region_id
    day_starts: dict[dt.date, dt.datetime] = {}
    heads: list[str] = []
    payload = {"model": model.code}
    payload_json = canonical(payload)

    def battery_rows(ids: list[int]) -> Iterator[tuple]:
        for battery_id, (serial, produced_on) in zip(ids, units, strict=True):
            # A battery not fitted to a vehicle has its own chain (vehicles.ledger).
            digest = event_hash(
                prev_hash="",
                seq=1,
                type=EventType.PRODUCED.value,
                occurred_at=_day_start(produced_on, day_starts),
                frame_no=None,
                serial=serial,
                organization_id=maker.pk,
                region_code=region_code,
                payload=payload,
            )
            heads.append(digest)
            yield (
                battery_id,
                serial,
                model.pk,
                maker.pk,
                produced_on,
                codes.public_code_new(),
                Battery.Status.PRODUCED.value,
                maker.pk,
                region_code,
                1,
                digest,
                recorded_at,
                recorded_at,
            )

    def event_rows(ids: list[int], event_ids: list[int]) -> Iterator[tuple]:
        for event_id, battery_id, (_serial, produced_on), digest in zip(event_ids, ids, units, heads, strict=True):
            yield (
                event_id,
                recorded_at,
                _day_start(produced_on, day_starts),
                None,
                battery_id,
                1,
                EventType.PRODUCED.value,
                maker.pk,
                region_code,
                payload_json,
                "",
                digest,
            )

    with connection.cursor() as cursor:
        ids = ids_allocate(cursor, Battery, len(units))
        event_ids = ids_allocate(cursor, LifecycleEvent, len(units))
        rows_copy(
            cursor,
            Battery,
            (
                "id",
                "serial",
                "model_id",
                "maker_id",
                "produced_on",
                "code",
                "status",
                "holder_id",
                "region_id",
                "ledger_seq",
                "ledger_head",
                "created_at",
                "updated_at",
            ),
            battery_rows(ids),
        )
        rows_copy(cursor, LifecycleEvent, EVENT_COLUMNS, event_rows(ids, event_ids))
        rows_copy(
            cursor,
            OutboxMessage,
            OUTBOX_COLUMNS,
            (
                outbox_row(event_id, EventType.PRODUCED, None, battery_id, region_code, recorded_at)
                for event_id, battery_id in zip(event_ids, ids, strict=True)
            ),
        )

"""Swaps onto the ledger (docs/decisions/005): the batteries and bikes whose chains a batch of swaps moves, locked;
one `swapped` event per known battery of each swap, hashed with vehicles.ledger.event_hash onto its chain exactly
as events_append would chain it; the swap rows, events and outbox messages written with COPY; each head moved.

A battery fitted in a bike has its events on the bike's chain, any other on its own. Bikes are locked before
batteries, each in id order (the order of repairs and sales), so two writers never deadlock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Model
from django.utils.translation import gettext as _

from charging.models import SwapEvent
from core.errors import Conflict
from core.models import Organization
from vehicles.ledger import OUTBOX_TOPIC, event_hash
from vehicles.ledger_copy import EVENT_COLUMNS, OUTBOX_COLUMNS, ids_allocate, lines_copy, outbox_payload
from vehicles.models import Battery, EventType, LifecycleEvent, OutboxMessage, Vehicle

if TYPE_CHECKING:
    from charging.alarms import Sightings
    from charging.swaps import Swap

_SWAPPED = EventType.SWAPPED.value
_LOCK_ATTEMPTS = 3


@dataclass(frozen=True)
class Head:
    """A battery or bike row as locked for the write: what its chain and the checks need."""

    id: int
    key: str  # serial or frame number
    model_id: int
    ledger_seq: int
    ledger_head: str
    status: str = ""
    vehicle_id: int | None = None


def heads_lock(cursor, serials: set[str]) -> tuple[dict[str, Head], dict[int, Head]]:
    """Lock the batteries named and the bikes they are fitted in: bikes first, then batteries, in id order. A
    battery fitted into another bike between the first read and its lock has that bike locked too."""
    if not serials:
        return {}, {}
    cursor.execute(
        f"SELECT id, vehicle_id FROM {Battery._meta.db_table} WHERE serial = ANY(%s::varchar[])", [_array(serials)]
    )
    found = cursor.fetchall()
    battery_ids = sorted(pk for pk, _vehicle in found)
    wanted = {vehicle for _pk, vehicle in found if vehicle}
    vehicles: dict[int, Head] = {}
    for _attempt in range(_LOCK_ATTEMPTS):
        if wanted:
            cursor.execute(
                f"SELECT id, frame_no, model_id, ledger_seq, ledger_head FROM {Vehicle._meta.db_table} "
                "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                [_array(sorted(wanted))],
            )
            vehicles.update((row[0], Head(*row)) for row in cursor.fetchall())
        cursor.execute(
            f"SELECT id, serial, model_id, ledger_seq, ledger_head, status, vehicle_id FROM {Battery._meta.db_table} "
            "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
            [_array(battery_ids)],
        )
        batteries = {row[1]: Head(*row) for row in cursor.fetchall()}
        wanted = {b.vehicle_id for b in batteries.values() if b.vehicle_id and b.vehicle_id not in vehicles}
        if not wanted:
            return batteries, vehicles
    raise Conflict(_("Batteries of this batch were being fitted meanwhile; send the batch again."), code="busy")


def swaps_write(
    cursor,
    *,
    operator: Organization,
    swaps: list[Swap],
    batteries: dict[str, Head],
    vehicles: dict[int, Head],
    sightings: Sightings,
    received_at: dt.datetime,
) -> int:
    """Write the swaps (their ids set on them), their events and outbox messages, and move the chains' heads; the
    heads are locked (heads_lock). Returns how many events were written."""
    for swap, swap_id in zip(swaps, ids_allocate(cursor, SwapEvent, len(swaps)), strict=True):
        swap.id = swap_id
    events = _chained_events(operator, swaps, batteries, vehicles, sightings)
    event_ids = ids_allocate(cursor, LifecycleEvent, len(events))
    lines_copy(cursor, SwapEvent, _SWAP_COLUMNS, _swap_rows(operator, swaps, batteries, received_at))
    lines_copy(cursor, LifecycleEvent, EVENT_COLUMNS, _event_rows(events, event_ids, received_at))
    lines_copy(cursor, OutboxMessage, OUTBOX_COLUMNS, _outbox_rows(events, event_ids, received_at))
    _move_heads(cursor, Vehicle, events.vehicle_heads)
    _move_heads(cursor, Battery, events.battery_heads)
    return len(events)


def _array(values: Iterable) -> str:
    """A PostgreSQL array literal of values that need no quoting (ids, hashes, serials: [0-9A-Z-]); much cheaper
    than adapting thousands of Python values one by one."""
    return "{" + ",".join(map(str, values)) + "}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _json_text(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


@dataclass
class ChainedEvents:
    """The swapped events of a batch, hashed onto their chains, and each chain's new head."""

    rows: list[tuple] = field(default_factory=list)  # (occurred_at, vehicle_id, battery_id, seq, region, payload…)
    vehicle_heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # id → (ledger_seq, ledger_head)
    battery_heads: dict[int, tuple[int, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)


def _chained_events(
    operator: Organization,
    swaps: list[Swap],
    batteries: dict[str, Head],
    vehicles: dict[int, Head],
    sightings: Sightings,
) -> ChainedEvents:
    """One `swapped` event per known battery of each swap, in the order the swaps happened, each chained after the
    head of its chain: the bike's while the battery is fitted in one, else the battery's own."""
    chained = ChainedEvents()
    for swap in sorted(swaps, key=lambda s: (s.occurred_at, s.index)):
        temperature, voltage = _text(swap.temperature_c), _text(swap.voltage_v)
        readings = {
            "swap": swap.id,
            "station": swap.station.id,
            "temperature_c": temperature,
            "voltage_v": voltage,
            "alarm": swap.alarm,
        }
        # The payload column as JSON text (JSONB keeps the same values, so the hash of `payload` verifies); its
        # values are numbers, decimal strings and codes, so formatting it costs less than encoding it again.
        text = (
            f'{{"swap":{swap.id},"station":{swap.station.id},"temperature_c":{_json_text(temperature)},'
            f'"voltage_v":{_json_text(voltage)},"alarm":"{swap.alarm}","direction":'
        )
        for direction, serial in (("in", swap.battery_in), ("out", swap.battery_out)):
            battery = batteries.get(serial) if serial else None
            if battery is None:
                continue  # not on the platform: no chain to put it on (an alert request says so)
            payload = {**readings, "direction": direction}
            payload_text = f'{text}"{direction}"}}'
            if flags := sightings.flags.get(serial):
                payload["flags"] = flags
                payload_text = f'{payload_text[:-1]},"flags":{json.dumps(flags)}}}'
            vehicle = vehicles.get(battery.vehicle_id) if battery.vehicle_id else None
            heads, head = (chained.vehicle_heads, vehicle) if vehicle is not None else (chained.battery_heads, battery)
            seq, prev_hash = heads.get(head.id, (head.ledger_seq, head.ledger_head))
            seq += 1
            digest = event_hash(
                prev_hash=prev_hash,
                seq=seq,
                type=_SWAPPED,
                occurred_at=swap.occurred_at,
                frame_no=vehicle.key if vehicle is not None else None,
                serial=battery.key,
                organization_id=operator.pk,
                region_code=swap.station.region_code,
                payload=payload,
            )
            heads[head.id] = (seq, digest)
            chained.rows.append(
                (
                    swap.occurred_at,
                    vehicle.id if vehicle is not None else None,
                    battery.id,
                    seq,
                    operator.pk,
                    swap.station.region_code,
                    payload_text,
                    prev_hash,
                    digest,
                )
            )
    return chained


_SWAP_COLUMNS = (
    "id",
    "station_id",
    "operator_id",
    "region_code",
    "battery_in_serial",
    "battery_out_serial",
    "battery_in_id",
    "battery_out_id",
    "occurred_at",
    "temperature_c",
    "voltage_v",
    "alarm",
    "received_at",
)


# Rows in COPY's text format, written as lines: every value here is a number, a code, a serial ([0-9A-Z-]), a
# timestamp, a hash or JSON made of those, so none needs escaping (no tab, newline or backslash), and a line costs a
# join instead of adapting each value.
def _value(value) -> str:
    return r"\N" if value is None else str(value)


def _swap_rows(
    operator: Organization, swaps: list[Swap], batteries: dict[str, Head], received_at: dt.datetime
) -> Iterator[str]:
    operator_id, received = operator.pk, received_at.isoformat()
    for swap in swaps:
        battery_in, battery_out = batteries.get(swap.battery_in), batteries.get(swap.battery_out)
        yield (
            f"{swap.id}\t{swap.station.id}\t{operator_id}\t{swap.station.region_code}\t{swap.battery_in}\t"
            f"{swap.battery_out}\t{_value(battery_in.id if battery_in else None)}\t"
            f"{_value(battery_out.id if battery_out else None)}\t{swap.occurred_at.isoformat()}\t"
            f"{_value(swap.temperature_c)}\t{_value(swap.voltage_v)}\t{swap.alarm}\t{received}\n"
        )


def _event_rows(events: ChainedEvents, event_ids: list[int], recorded_at: dt.datetime) -> Iterator[str]:
    recorded = recorded_at.isoformat()
    for event_id, (occurred_at, vehicle_id, battery_id, seq, organization_id, region, payload, prev, digest) in zip(
        event_ids, events.rows, strict=True
    ):
        yield (
            f"{event_id}\t{recorded}\t{occurred_at.isoformat()}\t{_value(vehicle_id)}\t{battery_id}\t{seq}\t"
            f"{_SWAPPED}\t{organization_id}\t{region}\t{payload}\t{prev}\t{digest}\n"
        )


def _outbox_rows(events: ChainedEvents, event_ids: list[int], recorded_at: dt.datetime) -> Iterator[str]:
    """One message per event, with the payload events_append writes."""
    recorded = recorded_at.isoformat()
    for event_id, row in zip(event_ids, events.rows, strict=True):
        vehicle_id, battery_id, region = row[1], row[2], row[5]
        payload = outbox_payload(event_id, _SWAPPED, vehicle_id, battery_id, region)
        yield f"{event_id}\t{recorded}\t{OUTBOX_TOPIC}\t{payload}\t{recorded}\n"


def _move_heads(cursor, model: type[Model], heads: dict[int, tuple[int, str]]) -> None:
    if not heads:
        return
    ids = list(heads)
    cursor.execute(
        f"UPDATE {model._meta.db_table} AS head SET ledger_seq = moved.seq, ledger_head = moved.hash "
        "FROM unnest(%s::bigint[], %s::integer[], %s::varchar[]) AS moved(id, seq, hash) WHERE head.id = moved.id",
        [_array(ids), _array(heads[pk][0] for pk in ids), _array(heads[pk][1] for pk in ids)],
    )

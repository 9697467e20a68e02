"""Swaps reported by charging operators (换电记录), up to 5,000 a request: each item accepted or rejected by its
index, the accepted ones written through a fast path and put on their batteries' ledgers as `swapped` events.

The fast path, in the request's transaction:
- one query for the operator's stations named, one for the swaps already recorded (a batch sent again);
- the batteries and the bikes they are fitted in (the heads of their chains, docs/decisions/005) locked bikes
  first, then batteries, each in id order: the order of repairs and sales, so two writers never deadlock;
- the swap rows, their `swapped` events and the events' outbox messages written with COPY, ids drawn from the
  sequences up front; each event hashed with vehicles.ledger.event_hash onto its chain, exactly as events_append
  would chain it (a battery fitted in a bike on the bike's chain, any other on its own);
- one UPDATE per head table moving each chain's head (ledger_seq, ledger_head);
- the alert requests of what the cabinets saw (charging/alarms.py).

A swap changes no projection: it does not name the bike a battery goes into, so fitment, holder and status stay
as the ledger has them; the events say where each battery was seen, with the cabinet's readings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from charging import alarms
from charging.models import SwapEvent, SwapStation
from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from vehicles.codes import BATTERY_SERIAL
from vehicles.ledger import OUTBOX_TOPIC, canonical, event_hash, outbox_kick
from vehicles.models import Battery, EventType, LifecycleEvent, OutboxMessage, Vehicle

MAX_ITEMS = 5_000
# A cabinet's clock may run a little ahead of ours; further ahead is a wrong time, not a swap to come.
CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TEMPERATURE_RANGE = (Decimal("-60"), Decimal("999.9"))  # °C; a pack in thermal runaway reads hundreds
VOLTAGE_RANGE = (Decimal("0"), Decimal("1000"))  # V
_TENTH, _HUNDREDTH = Decimal("0.1"), Decimal("0.01")
_ALARMS = frozenset(SwapEvent.Alarm.values)
_SWAPPED = EventType.SWAPPED.value
_LOCK_ATTEMPTS = 3


class Rejection:
    """Why an item was not recorded (the `code` of each entry of `rejected`); stable codes."""

    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_STATION = "unknown_station"  # none of the caller's stations: another operator's, or none at all
    MISSING_BATTERY = "missing_battery"  # neither battery_in nor battery_out
    MALFORMED_SERIAL = "malformed_serial"
    SAME_BATTERY = "same_battery"
    MISSING_OCCURRED_AT = "missing_occurred_at"
    MALFORMED_OCCURRED_AT = "malformed_occurred_at"
    FUTURE_TIME = "future_time"
    MALFORMED_TEMPERATURE = "malformed_temperature"
    MALFORMED_VOLTAGE = "malformed_voltage"
    UNKNOWN_ALARM = "unknown_alarm"
    DUPLICATE_IN_REQUEST = "duplicate_in_request"
    ALREADY_RECORDED = "already_recorded"  # the same swap (cabinet, time, batteries) was recorded before


@dataclass(frozen=True)
class Station:
    id: int
    code: str
    name: str
    region_code: str


@dataclass(slots=True)
class Swap:
    """One accepted item, checked and normalised."""

    index: int
    station: Station
    battery_in: str  # "" when none was put in
    battery_out: str  # "" when none was taken out
    occurred_at: dt.datetime
    temperature_c: Decimal | None
    voltage_v: Decimal | None
    alarm: str
    id: int = 0

    @property
    def key(self) -> tuple:
        return (self.station.id, self.occurred_at, self.battery_in, self.battery_out)

    @property
    def reading_serial(self) -> str:
        """The battery the cabinet's readings and alarm are about: the one put in (the cabinet charges and watches
        it), or the one taken out when none was put in."""
        return self.battery_in or self.battery_out


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


@dataclass
class Recorded:
    accepted: int
    rejected: list[dict] = field(default_factory=list)


@transaction.atomic
def swap_events_record(*, user: User, items: Sequence, max_items: int = MAX_ITEMS) -> Recorded:
    """Record a batch of swaps of the operator's cabinets; returns how many were accepted and, for each item
    refused, its index and why."""
    operator = operator_of(user)
    _check_count(items, max_items)
    now = timezone.now()
    stations = _stations_named(operator, items)
    swaps, rejected = _check_items(items, stations, now)
    swaps = _drop_recorded(swaps, rejected)
    if swaps:
        _write(operator, swaps, received_at=now)
    return Recorded(len(swaps), [{"index": index, "code": code} for index, code in sorted(rejected.items())])


# Checks -------------------------------------------------------------------------------------------------------


def operator_of(user: User) -> Organization:
    org = getattr(user, "organization", None)
    if org is None or org.kind != OrganizationKind.CHARGING_OPERATOR or not org.is_active:
        raise PermissionRefused(_("Only charging and swap operators report swaps."))
    return org


def _check_count(items: Sequence, max_items: int) -> None:
    if not items:
        message = _("Send at least one swap.")
        raise InvalidInput(message, code="no_items", fields={"items": [message]})
    if len(items) > max_items:
        message = _("At most %(max)d swaps per request; send the rest in another request.") % {"max": max_items}
        raise InvalidInput(message, code="too_many_items", fields={"items": [message]})


def _stations_named(operator: Organization, items: Sequence) -> dict[object, Station]:
    """The caller's stations the items name, by id (a JSON number) and by code (a string), in one query.
    Another operator's station is not among them: to the caller it is as unknown as one that does not exist."""
    ids, codes = set(), set()
    for item in items:
        ref = item.get("station") if isinstance(item, dict) else None
        if isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref < 2**63:
            ids.add(ref)
        elif isinstance(ref, str) and ref.strip():
            codes.add(ref.strip())
    if not (ids or codes):
        return {}
    found: dict[object, Station] = {}
    rows = SwapStation.objects.filter(Q(pk__in=ids) | Q(code__in=codes), operator=operator)
    for pk, code, name, region_code in rows.values_list("pk", "code", "name", "region_id"):
        station = Station(pk, code, name, region_code)
        found[pk] = found[code] = station
    return found


def _check_items(items: Sequence, stations: dict, now: dt.datetime) -> tuple[list[Swap], dict[int, str]]:
    swaps: list[Swap] = []
    rejected: dict[int, str] = {}
    seen: set[tuple] = set()
    latest = now + CLOCK_SKEW
    zone = timezone.get_current_timezone()
    for index, item in enumerate(items):
        swap_or_code = _check_item(index, item, stations, latest, zone)
        if isinstance(swap_or_code, str):
            rejected[index] = swap_or_code
        elif swap_or_code.key in seen:
            rejected[index] = Rejection.DUPLICATE_IN_REQUEST
        else:
            seen.add(swap_or_code.key)
            swaps.append(swap_or_code)
    return swaps, rejected


def _check_item(index: int, item, stations: dict, latest: dt.datetime, zone) -> Swap | str:
    """The item as a Swap, or the code of its first problem."""
    if not isinstance(item, dict):
        return Rejection.NOT_AN_OBJECT
    ref = item.get("station")
    if isinstance(ref, str):
        station = stations.get(ref.strip())
    elif isinstance(ref, int) and not isinstance(ref, bool):
        station = stations.get(ref)
    else:
        station = None
    if station is None:
        return Rejection.UNKNOWN_STATION
    battery_in, battery_out = _serial(item.get("battery_in")), _serial(item.get("battery_out"))
    if battery_in is None or battery_out is None:
        return Rejection.MALFORMED_SERIAL
    if not (battery_in or battery_out):
        return Rejection.MISSING_BATTERY
    if battery_in == battery_out:
        return Rejection.SAME_BATTERY
    occurred_at = _moment(item.get("occurred_at"), zone)
    if isinstance(occurred_at, str):
        return occurred_at
    if occurred_at > latest:
        return Rejection.FUTURE_TIME
    temperature = _reading(item.get("temperature_c"), TEMPERATURE_RANGE, _TENTH)
    if temperature is False:
        return Rejection.MALFORMED_TEMPERATURE
    voltage = _reading(item.get("voltage_v"), VOLTAGE_RANGE, _HUNDREDTH)
    if voltage is False:
        return Rejection.MALFORMED_VOLTAGE
    alarm = item.get("alarm")
    if alarm is None or alarm == "":
        alarm = SwapEvent.Alarm.NONE.value
    elif not isinstance(alarm, str) or alarm not in _ALARMS:
        return Rejection.UNKNOWN_ALARM
    return Swap(index, station, battery_in, battery_out, occurred_at, temperature, voltage, alarm)


def _serial(value) -> str | None:
    """The normalised serial, "" for none, None for a malformed one."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    serial = value.strip().upper()
    if not serial:
        return ""
    return serial if serial.isascii() and BATTERY_SERIAL.fullmatch(serial) else None


def _moment(value, zone) -> dt.datetime | str:
    if value is None or value == "":
        return Rejection.MISSING_OCCURRED_AT
    if not isinstance(value, str) or len(value) < 16 or len(value) > 40:  # a date alone is not a moment
        return Rejection.MALFORMED_OCCURRED_AT
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return Rejection.MALFORMED_OCCURRED_AT
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # the platform's zone (Asia/Shanghai: no daylight saving)
    if moment < EARLIEST:
        return Rejection.MALFORMED_OCCURRED_AT
    return moment


def _reading(value, bounds: tuple[Decimal, Decimal], step: Decimal) -> Decimal | bool | None:
    """A reading rounded to the column's precision; None when absent, False when malformed or out of range."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return False
    if not number.is_finite() or not bounds[0] <= number <= bounds[1]:
        return False
    return number.quantize(step, rounding=ROUND_HALF_UP)


def _drop_recorded(swaps: list[Swap], rejected: dict[int, str]) -> list[Swap]:
    """Leave out the swaps recorded before (an operator sending a batch again), with one indexed query."""
    if not swaps:
        return swaps
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.station_id, s.occurred_at, s.battery_in_serial, s.battery_out_serial "
            f"FROM {SwapEvent._meta.db_table} s "
            "JOIN unnest(%s::bigint[], %s::timestamptz[]) AS k(station_id, occurred_at) "
            "ON s.station_id = k.station_id AND s.occurred_at = k.occurred_at",
            [[s.station.id for s in swaps], [s.occurred_at for s in swaps]],
        )
        recorded = set(cursor.fetchall())
    if not recorded:
        return swaps
    fresh = []
    for swap in swaps:
        if swap.key in recorded:
            rejected[swap.index] = Rejection.ALREADY_RECORDED
        else:
            fresh.append(swap)
    return fresh


# Writing ------------------------------------------------------------------------------------------------------


def _write(operator: Organization, swaps: list[Swap], *, received_at: dt.datetime) -> None:
    serials = {serial for swap in swaps for serial in (swap.battery_in, swap.battery_out) if serial}
    with connection.cursor() as cursor:
        batteries, vehicles = _lock_heads(cursor, serials)
        for swap, swap_id in zip(swaps, _allocate_ids(cursor, SwapEvent, len(swaps)), strict=True):
            swap.id = swap_id
        sightings = alarms.sightings_of(swaps, batteries, vehicles)
        events = _chained_events(operator, swaps, batteries, vehicles, sightings, received_at)
        event_ids = _allocate_ids(cursor, LifecycleEvent, len(events))
        _copy(cursor, SwapEvent, _SWAP_COLUMNS, _swap_rows(operator, swaps, batteries, received_at))
        _copy(cursor, LifecycleEvent, _EVENT_COLUMNS, _event_rows(events, event_ids, received_at))
        _copy(cursor, OutboxMessage, _OUTBOX_COLUMNS, _outbox_rows(events, event_ids, received_at))
        _move_heads(cursor, Vehicle, events.vehicle_heads)
        _move_heads(cursor, Battery, events.battery_heads)
    alarms.requests_record(operator, swaps, batteries, vehicles, sightings)
    # The swapped events reach the rule engine like any other, and the alert requests with them.
    transaction.on_commit(outbox_kick)
    repeated = alarms.repeated_alarm_serials(swaps, batteries)
    if repeated:
        transaction.on_commit(lambda: alarms.escalation_queue(sorted(repeated)))


def _lock_heads(cursor, serials: set[str]) -> tuple[dict[str, Head], dict[int, Head]]:
    """Lock the batteries named and the bikes they are fitted in: bikes first, then batteries, in id order. A
    battery fitted into another bike between the first read and its lock has that bike locked too."""
    if not serials:
        return {}, {}
    cursor.execute(f"SELECT id, vehicle_id FROM {Battery._meta.db_table} WHERE serial = ANY(%s)", [list(serials)])
    found = cursor.fetchall()
    battery_ids = sorted(pk for pk, _vehicle in found)
    wanted = {vehicle for _pk, vehicle in found if vehicle}
    vehicles: dict[int, Head] = {}
    for _attempt in range(_LOCK_ATTEMPTS):
        if wanted:
            cursor.execute(
                f"SELECT id, frame_no, model_id, ledger_seq, ledger_head FROM {Vehicle._meta.db_table} "
                "WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                [sorted(wanted)],
            )
            vehicles.update((row[0], Head(*row)) for row in cursor.fetchall())
        cursor.execute(
            f"SELECT id, serial, model_id, ledger_seq, ledger_head, status, vehicle_id FROM {Battery._meta.db_table} "
            "WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [battery_ids],
        )
        batteries = {row[1]: Head(*row) for row in cursor.fetchall()}
        wanted = {b.vehicle_id for b in batteries.values() if b.vehicle_id and b.vehicle_id not in vehicles}
        if not wanted:
            return batteries, vehicles
    raise Conflict(_("Batteries of this batch were being fitted meanwhile; send the batch again."), code="busy")


def _allocate_ids(cursor, model: type[Model], count: int) -> list[int]:
    if not count:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, count]
    )
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, model: type[Model], columns: Sequence[str], rows: Iterable[tuple]) -> None:
    with cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


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
    sightings: alarms.Sightings,
    recorded_at: dt.datetime,
) -> ChainedEvents:
    """One `swapped` event per known battery of each swap, in the order the swaps happened, each chained after the
    head of its chain: the bike's while the battery is fitted in one, else the battery's own."""
    chained = ChainedEvents()
    for swap in sorted(swaps, key=lambda s: (s.occurred_at, s.index)):
        readings = {
            "swap": swap.id,
            "station": swap.station.id,
            "temperature_c": _text(swap.temperature_c),
            "voltage_v": _text(swap.voltage_v),
            "alarm": swap.alarm,
        }
        for direction, serial in (("in", swap.battery_in), ("out", swap.battery_out)):
            battery = batteries.get(serial) if serial else None
            if battery is None:
                continue  # not on the platform: no chain to put it on (an alert request says so)
            payload = {**readings, "direction": direction}
            if flags := sightings.flags.get(serial):
                payload["flags"] = flags
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
                    canonical(payload),
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
_EVENT_COLUMNS = (
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
_OUTBOX_COLUMNS = ("event_id", "event_recorded_at", "topic", "payload", "created_at")


def _swap_rows(
    operator: Organization, swaps: list[Swap], batteries: dict[str, Head], received_at: dt.datetime
) -> Iterator[tuple]:
    for swap in swaps:
        battery_in, battery_out = batteries.get(swap.battery_in), batteries.get(swap.battery_out)
        yield (
            swap.id,
            swap.station.id,
            operator.pk,
            swap.station.region_code,
            swap.battery_in,
            swap.battery_out,
            battery_in.id if battery_in else None,
            battery_out.id if battery_out else None,
            swap.occurred_at,
            swap.temperature_c,
            swap.voltage_v,
            swap.alarm,
            received_at,
        )


def _event_rows(events: ChainedEvents, event_ids: list[int], recorded_at: dt.datetime) -> Iterator[tuple]:
    for event_id, (occurred_at, vehicle_id, battery_id, seq, organization_id, region, payload, prev, digest) in zip(
        event_ids, events.rows, strict=True
    ):
        yield (
            event_id,
            recorded_at,
            occurred_at,
            vehicle_id,
            battery_id,
            seq,
            _SWAPPED,
            organization_id,
            region,
            payload,
            prev,
            digest,
        )


def _outbox_rows(events: ChainedEvents, event_ids: list[int], recorded_at: dt.datetime) -> Iterator[tuple]:
    """One message per event, with the payload events_append writes."""
    for event_id, row in zip(event_ids, events.rows, strict=True):
        vehicle_id, battery_id, region = row[1], row[2], row[5]
        vehicle = "null" if vehicle_id is None else vehicle_id
        yield (
            event_id,
            recorded_at,
            OUTBOX_TOPIC,
            f'{{"event_id": {event_id}, "type": "{_SWAPPED}", "vehicle_id": {vehicle}, '
            f'"battery_id": {battery_id}, "region_code": "{region}"}}',
            recorded_at,
        )


def _move_heads(cursor, model: type[Model], heads: dict[int, tuple[int, str]]) -> None:
    if not heads:
        return
    ids = list(heads)
    cursor.execute(
        f"UPDATE {model._meta.db_table} AS head SET ledger_seq = moved.seq, ledger_head = moved.hash "
        "FROM unnest(%s::bigint[], %s::integer[], %s::varchar[]) AS moved(id, seq, hash) WHERE head.id = moved.id",
        [ids, [heads[pk][0] for pk in ids], [heads[pk][1] for pk in ids]],
    )

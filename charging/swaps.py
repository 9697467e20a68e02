"""Swaps reported by charging operators (换电记录), up to 5,000 a request: each item accepted or rejected by its
index, the accepted ones written through a fast path and put on their batteries' ledgers as `swapped` events.

The fast path, in the request's transaction:
- one query for the operator's stations named, one for the swaps already recorded (a batch sent again);
- the batteries and the bikes they are fitted in (the heads of their chains) locked, the swap rows, their
  `swapped` events and outbox messages written with COPY, one UPDATE per head table (charging/chains.py);
- the alert requests of what the cabinets saw (charging/alarms.py).

A swap changes no projection: it does not name the bike a battery goes into, so fitment, holder and status stay
as the ledger has them; the events say where each battery was seen, with the cabinet's readings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from charging import alarms, chains
from charging.models import SwapEvent, SwapStation
from core.errors import InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from vehicles.codes import BATTERY_SERIAL
from vehicles.ledger import outbox_kick

MAX_ITEMS = 5_000
# A cabinet's clock may run a little ahead of ours; further ahead is a wrong time, not a swap to come.
CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TEMPERATURE_RANGE = (Decimal("-60"), Decimal("999.9"))  # °C; a pack in thermal runaway reads hundreds
VOLTAGE_RANGE = (Decimal("0"), Decimal("1000"))  # V
_TENTH, _HUNDREDTH = Decimal("0.1"), Decimal("0.01")
_ALARMS = frozenset(SwapEvent.Alarm.values)


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
            [
                "{" + ",".join(str(s.station.id) for s in swaps) + "}",
                "{" + ",".join(f'"{s.occurred_at.isoformat()}"' for s in swaps) + "}",
            ],
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
        batteries, vehicles = chains.heads_lock(cursor, serials)
        sightings = alarms.sightings_of(swaps, batteries, vehicles)
        chains.swaps_write(
            cursor,
            operator=operator,
            swaps=swaps,
            batteries=batteries,
            vehicles=vehicles,
            sightings=sightings,
            received_at=received_at,
        )
    alarms.requests_record(operator, swaps, batteries, vehicles, sightings)
    # The swapped events reach the rule engine like any other, and the alert requests with them.
    transaction.on_commit(outbox_kick)
    repeated = alarms.repeated_alarm_serials(swaps, batteries)
    if repeated:
        transaction.on_commit(lambda: alarms.escalation_queue(sorted(repeated)))

"""Read paths of the charging app, scoped: an operator its own cabinets and swaps; regulators, and the fire (and,
for the cabinets, housing) departments of a region, that region's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Alert, RuleCode
from alerts.selectors import alerts_visible_to
from charging.models import SwapEvent, SwapStation
from core.errors import NotFound
from core.models import User
from core.scoping import scoped

RECENT = dt.timedelta(days=30)
NONE = SwapEvent.Alarm.NONE.value


def recent_since(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - RECENT


def stations_visible_to(user: User) -> QuerySet[SwapStation]:
    return scoped(SwapStation.objects.select_related("operator", "region"), user)


def stations_filtered(
    queryset: QuerySet[SwapStation], *, region_code: str = "", operator_id: int | None = None
) -> QuerySet[SwapStation]:
    if region_code:
        queryset = queryset.filter(region__code__startswith=region_code)
    if operator_id:
        queryset = queryset.filter(operator_id=operator_id)
    return queryset


def station_visible(user: User, pk: int) -> SwapStation:
    station = stations_visible_to(user).filter(pk=pk).first()
    if station is None:
        raise NotFound(_("No such cabinet, or not one you may see."))
    return station


def swaps_visible_to(user: User) -> QuerySet[SwapEvent]:
    return scoped(SwapEvent.objects.all(), user)


def alarms_visible_to(user: User, *, since: dt.datetime) -> QuerySet[SwapEvent]:
    """The alarms of the cabinets the user may see since `since` (through the partial index of alarms)."""
    return swaps_visible_to(user).filter(occurred_at__gte=since).exclude(alarm=NONE)


@dataclass(frozen=True)
class StationAlarms:
    count: int
    last_at: dt.datetime | None


def alarms_by_station(user: User, *, since: dt.datetime, region_code: str = "") -> dict[int, StationAlarms]:
    """Per cabinet, its alarms since `since` and the time of the last one: one grouped query."""
    alarms = alarms_visible_to(user, since=since)
    if region_code:
        alarms = alarms.filter(region_code__startswith=region_code)
    rows = alarms.order_by().values("station_id").annotate(count=Count("id"), last_at=Max("occurred_at"))
    return {row["station_id"]: StationAlarms(row["count"], row["last_at"]) for row in rows}


def station_alarms(user: User, station: SwapStation, *, since: dt.datetime) -> QuerySet[SwapEvent]:
    return alarms_visible_to(user, since=since).filter(station=station).order_by("-occurred_at", "-id")


def operator_swaps(
    user: User, *, since: dt.datetime, station_id: int | None = None, alarms_only: bool = False
) -> QuerySet[SwapEvent]:
    """The operator's own swaps since `since`, newest first (the index on operator and time)."""
    swaps = swaps_visible_to(user).filter(operator_id=user.organization_id, occurred_at__gte=since)
    if station_id:
        swaps = swaps.filter(station_id=station_id)
    if alarms_only:
        swaps = swaps.exclude(alarm=NONE)
    return swaps.select_related("station").order_by("-occurred_at", "-id")


def thermal_alerts_of(user: User, serials) -> dict[str, Alert]:
    """The newest thermal alert the user may see about each of these batteries."""
    alerts = alerts_visible_to(user).filter(rule=RuleCode.BATTERY_THERMAL_RISK, battery_serial__in=set(serials))
    found: dict[str, Alert] = {}
    for alert in alerts.order_by("created_at", "id"):
        found[alert.battery_serial] = alert
    return found

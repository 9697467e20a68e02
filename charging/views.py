"""Pages of the charging app (desktop): the fire department's (and regulator's) cabinets of its region on the
region's map, each with its alarms of the last 30 days; one cabinet's alarms; the operator's cabinets and swaps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from charging import selectors
from charging.models import SwapEvent, SwapStation
from core.errors import NotFound
from core.exports import csv_response, xlsx_response
from core.models import Organization, Region
from core.models import OrganizationKind as K
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from reports.maps import MapRegion, region_map_chart, region_map_source

# A district's colour on the map by its cabinets' alarms in the last 30 days: at least this many → this colour.
ALARM_COLOURS = ((20, "red"), (5, "orange"), (1, "yellow"), (0, "green"))

cabinets_page = pages_for(K.FIRE, K.REGULATOR)
cabinet_page = pages_for(K.FIRE, K.REGULATOR, K.CHARGING_OPERATOR)
operator_page = pages_for(K.CHARGING_OPERATOR)


@dataclass
class CabinetRow:
    station: SwapStation
    district: Region | None
    alarms: int
    last_alarm_at: dt.datetime | None


def _colour(alarms: int) -> str:
    return next(colour for floor, colour in ALARM_COLOURS if alarms >= floor)


def _district_of(station: SwapStation, districts: list[Region]) -> Region | None:
    return next((d for d in districts if station.region_id.startswith(d.prefix)), None)


def _cabinet_rows(request, region: Region, since: dt.datetime) -> tuple[list[CabinetRow], list[Region]]:
    districts = list(Region.objects.filter(parent=region).order_by("code"))
    stations = selectors.stations_visible_to(request.user).filter(region__code__startswith=region.prefix)
    alarms = selectors.alarms_by_station(request.user, since=since, region_code=region.prefix)
    rows = []
    for station in stations.order_by("region_id", "code"):
        counted = alarms.get(station.pk)
        district = _district_of(station, districts)
        if counted is None:
            rows.append(CabinetRow(station, district, 0, None))
        else:
            rows.append(CabinetRow(station, district, counted.count, counted.last_at))
    rows.sort(key=lambda row: (-row.alarms, row.station.region_id, row.station.code))
    return rows, districts


def _map(region: Region, rows: list[CabinetRow], districts: list[Region]):
    if not districts or region_map_source(region.code) is None:
        return None
    regions = []
    for district in districts:
        mine = [row for row in rows if row.district is district]
        alarms = sum(row.alarms for row in mine)
        colour = _colour(alarms) if mine else ""
        regions.append(MapRegion(district.code, district.name, colour, alarms, (len(mine),)))
    return region_map_chart(
        region_code=region.code,
        regions=regions,
        value_label=_("alarms in 30 days"),
        columns=[_("cabinets")],
        caption=_(
            "Districts by their cabinets' alarms in the last 30 days: green none, yellow 1 to 4, orange 5 to 19, "
            "red 20 or more; grey: no cabinet."
        ),
        element_id="cabinet-map",
        href=f"{reverse('charging-cabinets')}?district={{code}}",
    )


@require_GET
@cabinets_page
def cabinets(request):
    """GET /charging/cabinets/?district=&operator=&alarmed=1: the swap cabinets of the viewer's region on its map,
    with each cabinet's alarms of the last 30 days, the most alarmed first; CSV and XLSX."""
    region = request.user.organization.region
    now = timezone.now()
    since = selectors.recent_since(now)
    with reading_from_replica():
        rows, districts = _cabinet_rows(request, region, since)
    operators = sorted({row.station.operator for row in rows}, key=lambda org: org.name)
    district = request.GET.get("district", "")
    operator = request.GET.get("operator", "")
    alarmed = request.GET.get("alarmed") == "1"
    shown = [
        row
        for row in rows
        if (not district or (row.district is not None and row.district.code == district))
        and (not operator or str(row.station.operator_id) == operator)
        and (not alarmed or row.alarms)
    ]
    header = [
        _("Cabinet code"),
        _("Name"),
        _("Operator"),
        _("District"),
        _("Address"),
        _("Alarms in 30 days"),
        _("Last alarm"),
    ]
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        cells = (
            [
                row.station.code,
                row.station.name,
                row.station.operator.name,
                row.district.name if row.district else row.station.region.name,
                row.station.address,
                row.alarms,
                row.last_alarm_at or "",
            ]
            for row in shown
        )
        filename = f"swap-cabinets-{region.code}-{timezone.localdate().isoformat()}"
        if export == "xlsx":
            return xlsx_response(f"{filename}.xlsx", header, cells, title=_("Swap cabinets"))
        return csv_response(f"{filename}.csv", header, cells)
    context = {
        "region": region,
        "map": _map(region, rows, districts),
        "page": page_of(request, shown),
        "header": header,
        "query": query_without(request),
        "districts": districts,
        "operators": operators,
        "filters": {"district": district, "operator": operator, "alarmed": alarmed},
        "filtered": bool(district or operator or alarmed),
        "totals": {"cabinets": len(rows), "alarms": sum(row.alarms for row in rows)},
    }
    return render(request, "charging/cabinets.html", context)


@require_GET
@cabinet_page
def cabinet(request, pk: int):
    """GET /charging/cabinets/<id>/: one cabinet and its alarms of the last 30 days, each with the battery, the
    readings and its alert."""
    try:
        station = selectors.station_visible(request.user, pk)
    except NotFound:
        raise Http404 from None
    alarms = selectors.station_alarms(request.user, station, since=selectors.recent_since())
    page = page_of(request, alarms)
    serials = [swap.battery_in_serial or swap.battery_out_serial for swap in page.object_list]
    alerts = selectors.thermal_alerts_of(request.user, serials)
    rows = [
        {"swap": swap, "serial": serial, "alert": alerts.get(serial)}
        for swap, serial in zip(page.object_list, serials, strict=True)
    ]
    context = {"station": station, "page": page, "rows": rows, "query": query_without(request)}
    return render(request, "charging/cabinet.html", context)


@require_GET
@operator_page
def operator_home(request):
    """GET /charging/?station=&alarms=1: the operator's cabinets with their alarms of the last 30 days, and its
    swaps of the last 30 days, newest first; CSV and XLSX."""
    org: Organization = request.user.organization
    since = selectors.recent_since()
    stations = list(selectors.stations_visible_to(request.user).filter(operator=org).order_by("code"))
    alarms = selectors.alarms_by_station(request.user, since=since)
    station_id = request.GET.get("station", "")
    station_id = int(station_id) if station_id.isdigit() and any(s.pk == int(station_id) for s in stations) else None
    alarms_only = request.GET.get("alarms") == "1"
    swaps = selectors.operator_swaps(request.user, since=since, station_id=station_id, alarms_only=alarms_only)
    header = [
        _("Time"),
        _("Cabinet code"),
        _("Battery in"),
        _("Battery out"),
        _("Temperature (°C)"),
        _("Voltage (V)"),
        _("Alarm"),
    ]
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        labels = dict(SwapEvent.Alarm.choices)
        cells = (
            [
                swap.occurred_at,
                swap.station.code,
                swap.battery_in_serial,
                swap.battery_out_serial,
                "" if swap.temperature_c is None else swap.temperature_c,
                "" if swap.voltage_v is None else swap.voltage_v,
                str(labels.get(swap.alarm, swap.alarm)),
            ]
            for swap in swaps.iterator(chunk_size=1000)
        )
        filename = f"swaps-{timezone.localdate().isoformat()}"
        with reading_from_replica():
            if export == "xlsx":
                return xlsx_response(f"{filename}.xlsx", header, cells, title=_("Swaps"))
            return csv_response(f"{filename}.csv", header, cells)
    context = {
        "stations": [{"station": s, "alarms": alarms.get(s.pk)} for s in stations],
        "page": page_of(request, swaps),
        "header": header,
        "query": query_without(request),
        "station_id": station_id,
        "alarms_only": alarms_only,
        "filtered": bool(station_id or alarms_only),
    }
    return render(request, "charging/operator.html", context)

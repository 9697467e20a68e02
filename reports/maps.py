"""The maps of the jurisdictions: a region's boundaries (loaded by an administrator, else vendored under
static/maps/), loading them, serving them to the charts, and the data a red/orange/yellow/green map is drawn from."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from core.models import Region
from reports.geojson import MapError, match_features, missing_children
from reports.models import RegionColour, RegionMap
from reports.svg import COLOUR_HEX

VENDORED = "maps/{code}.json"  # under static/
MAX_AGE = 3600  # boundaries change rarely; a new load shows within the hour, and the ETag saves the download


# ── Where a region's map comes from ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class MapSource:
    etag: str
    body: Callable[[], bytes]  # read only when the client's copy is stale


def region_map_source(region_code: str) -> MapSource | None:
    """The loaded map of the region if an administrator loaded one, else the vendored file, else None."""
    loaded = RegionMap.objects.filter(region_code=region_code).values_list("pk", "loaded_at").first()
    if loaded is not None:
        pk, loaded_at = loaded
        return MapSource(etag=f'"db-{region_code}-{loaded_at.timestamp():.6f}"', body=functools.partial(_stored, pk))
    path = finders.find(VENDORED.format(code=region_code))
    if path is None:
        return None
    path = Path(path)
    stat = path.stat()
    return MapSource(
        etag=f'"{_file_digest(path, stat.st_mtime_ns, stat.st_size)}"', body=functools.partial(path.read_bytes)
    )


def _stored(pk: int) -> bytes:
    geojson = RegionMap.objects.values_list("geojson", flat=True).get(pk=pk)
    return json.dumps(geojson, ensure_ascii=False, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=64)
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:32]


@gzip_page
@require_safe
@login_required
def region_map_geojson(request, region_code: str):
    """GET /reports/maps/<region code>.json: the boundaries of the region's subdivisions, each feature carrying its
    GB/T 2260 `code`. Public data, so any signed-in user may read any region's map."""
    source = region_map_source(region_code)
    if source is None:
        raise Http404(_("No map of region %(code)s.") % {"code": region_code})
    response = get_conditional_response(request, etag=source.etag)
    if response is None:
        response = HttpResponse(source.body(), content_type="application/geo+json")
    response["ETag"] = source.etag
    patch_cache_control(response, private=True, max_age=MAX_AGE)
    return response


def region_map_url(region_code: str) -> str:
    return reverse("region-map", kwargs={"region_code": region_code})


# ── Loading another city's boundaries (manage.py load_region_map) ─────────────────────────────────────────────


@dataclass(frozen=True)
class LoadedMap:
    region_map: RegionMap
    features: int
    missing: list[str]  # subdivisions left without a boundary, as "name code"


def region_map_load(*, region_code: str, geojson: dict, source: str = "", name_property: str = "name") -> LoadedMap:
    """Store the boundaries of a region's subdivisions, each feature matched to a child region by code or name.

    Raises MapError naming every feature that matches nothing (and the subdivisions there are to match)."""
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise MapError(f"no region {region_code} (a GB/T 2260 code, e.g. 371400)")
    children = dict(region.children.values_list("code", "name"))
    if not children:
        raise MapError(f"{region.name} {region.code} has no subdivisions to draw")
    collection = match_features(geojson, children, name_property=name_property)
    with transaction.atomic():
        region_map, _created = RegionMap.objects.update_or_create(
            region_code=region_code, defaults={"geojson": collection, "source": source[:300]}
        )
    return LoadedMap(region_map, len(collection["features"]), missing_children(collection, children))


# ── What a coloured map of a jurisdiction is drawn from ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class MapRegion:
    """One subdivision on the map: its colour, its main figure and the figures its tooltip and table row show."""

    code: str
    name: str
    colour: str  # RegionColour, or "" when it has not been graded
    value: float | int | None = None
    figures: tuple = ()  # one value per column of region_map_chart's `columns`


def region_map_chart(
    *,
    region_code: str,
    regions: Iterable[MapRegion],
    value_label: str,
    columns: Iterable[str] = (),
    caption: str = "",
    element_id: str = "region-map",
    href: str = "",
) -> dict:
    """The context of templates/reports/_region_map.html and the JSON static/js/charts.js draws the map from.

    `href`, when given, is where a click on a district goes, with `{code}` replaced by its code (the cockpit's
    drill-down); the page also receives a `chart:region` event either way."""
    rows = []
    for region in regions:
        colour = region.colour if region.colour in RegionColour.values else ""
        rows.append(
            {
                "code": region.code,
                "name": region.name,
                "colour": colour,
                "colourLabel": RegionColour(colour).label if colour else _("not graded"),
                "value": region.value,
                "figures": list(region.figures),
                "href": href.replace("{code}", region.code) if href else "",
            }
        )
    counts = {colour: sum(1 for row in rows if row["colour"] == colour) for colour in RegionColour.values}
    return {
        "id": element_id,
        "dataId": f"{element_id}-data",
        "caption": caption,
        "mapUrl": region_map_url(region_code),
        "valueLabel": value_label,
        "columns": list(columns),
        "regions": rows,
        "href": href,
        "legend": [
            {"colour": colour, "label": str(label), "hex": COLOUR_HEX[colour], "count": counts[colour]}
            for colour, label in RegionColour.choices
        ],
        "palette": dict(COLOUR_HEX),
        "texts": {
            "region": _("Area"),
            "colour": _("Colour"),
            "table": _("Table"),
            "chart": _("Chart"),
            "noData": _("not graded"),
        },
    }

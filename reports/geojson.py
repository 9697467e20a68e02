"""The boundaries of a region's subdivisions as GeoJSON: reading ECharts' compressed maps, tidying the coordinates,
and naming each feature by its GB/T 2260 code. Plain Python, so that scripts/vendor_maps.py runs without Django."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator

GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}
DIGITS = 4  # 1e-4 degree ≈ 10 m: finer than any screen or page shows a city at
# Administrative suffixes, longest first: a county that became a city (宁乡县 → 宁乡市) keeps its stem.
SUFFIXES = ("自治县", "自治旗", "林区", "特区", "新区", "县", "市", "区", "旗")


class MapError(ValueError):
    """A file that cannot be a region's map, said in words an administrator can act on."""


def decode_echarts(collection: dict) -> dict:
    """Undo ECharts' UTF8Encoding compression (zigzag deltas of coordinates quantised by UTF8Scale, one character
    per number); a plain FeatureCollection passes through unchanged."""
    if not collection.get("UTF8Encoding"):
        return collection
    scale = collection.get("UTF8Scale") or 1024

    def ring(text: str, offset: list[int]) -> list[list[float]]:
        # JavaScript reads UTF-16 code units, not code points.
        units = [int.from_bytes(pair, "little") for pair in _pairs(text.encode("utf-16-le"))]
        points, x, y = [], offset[0], offset[1]
        for i in range(0, len(units) - 1, 2):
            dx, dy = units[i] - 64, units[i + 1] - 64
            x += (dx >> 1) ^ -(dx & 1)
            y += (dy >> 1) ^ -(dy & 1)
            points.append([x / scale, y / scale])
        return points

    features = []
    for feature in collection.get("features", []):
        geometry = dict(feature.get("geometry") or {})
        offsets = geometry.pop("encodeOffsets", None)
        if offsets is not None:
            if geometry.get("type") == "Polygon":
                geometry["coordinates"] = [ring(r, o) for r, o in zip(geometry["coordinates"], offsets, strict=True)]
            elif geometry.get("type") == "MultiPolygon":
                geometry["coordinates"] = [
                    [ring(r, o) for r, o in zip(rings, polygon_offsets, strict=True)]
                    for rings, polygon_offsets in zip(geometry["coordinates"], offsets, strict=True)
                ]
        features.append({**feature, "geometry": geometry})
    plain = {key: value for key, value in collection.items() if key not in ("UTF8Encoding", "UTF8Scale")}
    return {**plain, "features": features}


def _pairs(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 2):
        yield data[i : i + 2]


def polygons(geometry: dict) -> list[list[list[list[float]]]]:
    """A Polygon or MultiPolygon as a list of polygons (each a list of rings of [lon, lat])."""
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry.get("coordinates") or [])


def _tidy_ring(ring: Iterable) -> list[list[float]]:
    points: list[list[float]] = []
    for point in ring:
        lon, lat = round(float(point[0]), DIGITS), round(float(point[1]), DIGITS)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise MapError(f"coordinate out of range: [{point[0]}, {point[1]}] (expected [longitude, latitude])")
        if not points or points[-1] != [lon, lat]:
            points.append([lon, lat])
    if len(points) > 1 and points[0] != points[-1]:
        points.append(points[0])
    return points


def tidy_geometry(geometry: dict) -> dict:
    """Coordinates rounded to DIGITS, repeated points dropped, rings closed, rings left with fewer than four points
    (nothing to draw) removed; ECharts' leftovers (encodeOffsets) go."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in GEOMETRY_TYPES:
        raise MapError(f"geometry type {kind!r}: only Polygon and MultiPolygon bound a region")
    tidy = []
    for polygon in polygons(geometry):
        rings = [r for r in (_tidy_ring(ring) for ring in polygon) if len(r) >= 4]
        if rings:
            tidy.append(rings)
    if not tidy:
        raise MapError("a feature without any polygon to draw")
    if len(tidy) == 1:
        return {"type": "Polygon", "coordinates": tidy[0]}
    return {"type": "MultiPolygon", "coordinates": tidy}


def stem(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def centre(geometry: dict) -> list[float]:
    """A point to put the label at: the middle of the largest polygon's bounding box."""
    largest = max(polygons(geometry), key=lambda polygon: _ring_area(polygon[0]))
    lons = [p[0] for p in largest[0]]
    lats = [p[1] for p in largest[0]]
    return [round((min(lons) + max(lons)) / 2, DIGITS), round((min(lats) + max(lats)) / 2, DIGITS)]


def _ring_area(ring: list[list[float]]) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))) / 2


def match_features(collection: dict, children: dict[str, str], *, name_property: str = "name") -> dict:
    """The FeatureCollection with each feature named after the child region it bounds.

    `children` maps the GB/T 2260 codes of the region's subdivisions to their names. A feature is matched by its
    `code` or `adcode` property, else by its name (exactly, else by the one child with the same stem: 祁阳县 was
    renamed 祁阳市). Each feature gains `code`, `name` (the division's current name) and `cp` (where its label
    goes). Any feature that matches no child, or a child twice, is an error naming them all.
    """
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise MapError("not a GeoJSON FeatureCollection")
    collection = decode_echarts(collection)
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise MapError("the FeatureCollection has no features")
    by_name = {name: code for code, name in children.items()}
    by_stem: dict[str, list[str]] = {}
    for code, name in children.items():
        by_stem.setdefault(stem(name), []).append(code)

    matched: dict[str, dict] = {}
    problems = []
    for index, feature in enumerate(features, start=1):
        properties = (feature or {}).get("properties") or {}
        label = str(properties.get(name_property) or "").strip()
        code = next(
            (str(properties[key]) for key in ("code", "adcode") if str(properties.get(key, "")) in children), None
        )
        if code is None:
            code = by_name.get(label) or _only(by_stem.get(stem(label), []))
        if code is None:
            known = ", ".join(f"{name} {code}" for code, name in sorted(children.items()))
            problems.append(
                f"feature {index} ({name_property}={label!r}) matches no subdivision (the subdivisions: {known})"
            )
            continue
        if code in matched:
            problems.append(f"feature {index} ({label!r}) bounds {children[code]} {code} again")
            continue
        try:
            geometry = tidy_geometry(feature.get("geometry"))
        except MapError as error:
            problems.append(f"feature {index} ({label!r}): {error}")
            continue
        cp = properties.get("cp")
        matched[code] = {
            "type": "Feature",
            "properties": {
                "code": code,
                "name": children[code],
                "cp": [round(float(cp[0]), DIGITS), round(float(cp[1]), DIGITS)] if _is_point(cp) else centre(geometry),
            },
            "geometry": geometry,
        }
    if problems:
        raise MapError("; ".join(problems))
    return {"type": "FeatureCollection", "features": [matched[code] for code in sorted(matched)]}


def missing_children(collection: dict, children: dict[str, str]) -> list[str]:
    """The subdivisions the map has no boundary for, as 'name code'."""
    drawn = {f["properties"]["code"] for f in collection["features"]}
    return [f"{name} {code}" for code, name in sorted(children.items()) if code not in drawn]


def _only(codes: list[str]) -> str | None:
    return codes[0] if len(codes) == 1 else None


def _is_point(value) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
    )


def bounds(collection: dict) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of every point of the collection."""
    lons, lats = [], []
    for feature in collection["features"]:
        for polygon in polygons(feature["geometry"]):
            for ring in polygon:
                lons.extend(p[0] for p in ring)
                lats.extend(p[1] for p in ring)
    return min(lons), min(lats), max(lons), max(lats)

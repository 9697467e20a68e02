"""Charts as inline SVG drawn in Python, for the printed report (vector in the PDF, text that stays text): bar and
line charts of monthly figures, and the districts of a jurisdiction coloured red/orange/yellow/green.

ECharts draws the same charts on the pages; it renders SVG outside a browser only under Node, which the platform
does not run. The colours and hatchings here are the ones static/js/charts.js uses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from reports.geojson import bounds, polygons

# The four colours of the 三分 grading, and grey for a district not graded. Red and green differ in lightness too,
# and the hatching (HATCH) tells them apart without colour vision.
COLOUR_HEX = {"red": "#d73027", "orange": "#f28e2b", "yellow": "#f6d04d", "green": "#3e9f4d", "": "#d9dde3"}
HATCH = {"red": "dense", "orange": "sparse", "yellow": "dots", "green": "", "": ""}
# ECharts' default series palette, so a printed chart looks like the one on the page.
SERIES_HEX = ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4")
FONT = "font-family=\"'Noto Sans CJK SC', 'Noto Sans SC', sans-serif\""
AXIS = "#6b7280"
GRID = "#e5e7eb"


def number(value) -> str:
    """1234 → '1,234'; 12.345 → '12.3'; None → '–'."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    label = f' aria-label="{escape(title)}"' if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width:g}" '
        f'height="{height:g}" role="img"{label} {FONT}>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, size: float = 10, anchor: str = "middle", fill: str = "#111827", **extra):
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" fill="{fill}"{attributes}>'
        f"{escape(str(text))}</text>"
    )


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least `top` (steps of 1, 2 or 5 times a power of ten; at least 1 when the
    figures are counts)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1)
    ticks, value = [], 0.0
    while value < top + step / 2:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < top:
        ticks.append(round(value, 10))
    return ticks


def _ticks(series: Sequence[dict]) -> list[float]:
    values = [v for s in series for v in s["values"] if v is not None]
    return nice_ticks(max(values, default=0), whole=all(isinstance(v, int) for v in values))


def _series_legend(series: Sequence[dict], width: float, y: float) -> list[str]:
    parts, x = [], 48.0
    for index, item in enumerate(series):
        colour = SERIES_HEX[index % len(SERIES_HEX)]
        parts.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" rx="2" fill="{colour}"/>')
        parts.append(_text(x + 14, y + 1, item["name"], anchor="start"))
        x += 28 + 11 * len(str(item["name"]))
        if x > width - 40:
            break
    return parts


def _axes(categories: Sequence[str], ticks: list[float], plot: tuple[float, float, float, float], unit: str):
    left, top, right, bottom = plot
    parts = []
    scale = (bottom - top) / (ticks[-1] or 1)
    for tick in ticks:
        y = bottom - tick * scale
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 3.5, number(tick), size=9, anchor="end", fill=AXIS))
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}" stroke="{AXIS}"/>')
    if unit:
        parts.append(_text(left - 6, top - 10, unit, size=9, anchor="end", fill=AXIS))
    band = (right - left) / max(len(categories), 1)
    for index, category in enumerate(categories):
        parts.append(_text(left + band * (index + 0.5), bottom + 14, category, size=9, fill=AXIS))
    return parts, scale, band


def bar_chart(
    categories: Sequence[str],
    series: Sequence[dict],
    *,
    title: str = "",
    unit: str = "",
    width: float = 640,
    height: float = 260,
) -> str:
    """Grouped bars, one group per category (a month), one bar per series ({"name", "values"}), each bar's figure
    written above it."""
    plot = (48.0, 40.0, width - 12, height - 28)
    ticks = _ticks(series)
    body, scale, band = _axes(categories, ticks, plot, unit)
    body += _series_legend(series, width, 16)
    slot = band * 0.8 / max(len(series), 1)
    for s_index, item in enumerate(series):
        colour = SERIES_HEX[s_index % len(SERIES_HEX)]
        for index, value in enumerate(item["values"]):
            height_px = (value or 0) * scale
            x = plot[0] + band * index + band * 0.1 + slot * s_index
            y = plot[3] - height_px
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.9:.1f}" height="{height_px:.1f}" fill="{colour}"/>'
            )
            body.append(_text(x + slot * 0.45, y - 3, number(value), size=8))
    return _svg(width, height, title, body)


def line_chart(
    categories: Sequence[str],
    series: Sequence[dict],
    *,
    title: str = "",
    unit: str = "",
    width: float = 640,
    height: float = 260,
) -> str:
    """One line per series ({"name", "values"}; None leaves a gap) over the categories, each point's figure
    written beside it."""
    plot = (48.0, 40.0, width - 12, height - 28)
    ticks = _ticks(series)
    body, scale, band = _axes(categories, ticks, plot, unit)
    body += _series_legend(series, width, 16)
    for s_index, item in enumerate(series):
        colour = SERIES_HEX[s_index % len(SERIES_HEX)]
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(item["values"]):
            if value is None:
                runs.append([])
                continue
            point = (plot[0] + band * (index + 0.5), plot[3] - value * scale)
            runs[-1].append(point)
            body.append(f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="2.5" fill="{colour}"/>')
            body.append(_text(point[0], point[1] - 6, number(value), size=8))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return _svg(width, height, title, body)


def _hatch_defs() -> str:
    """Red: close stripes rising to the right; orange: wide stripes falling; yellow: dots; green: plain."""
    ink = "rgba(0,0,0,0.3)"
    return (
        "<defs>"
        '<pattern id="hatch-dense" width="4" height="4" patternUnits="userSpaceOnUse">'
        f'<path d="M-1,1 L1,-1 M0,4 L4,0 M3,5 L5,3" stroke="{ink}" stroke-width="1"/></pattern>'
        '<pattern id="hatch-sparse" width="7" height="7" patternUnits="userSpaceOnUse">'
        f'<path d="M-1,-1 L8,8 M-1,6 L1,8 M6,-1 L8,1" stroke="{ink}" stroke-width="1"/></pattern>'
        '<pattern id="hatch-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<circle cx="2.5" cy="2.5" r="1" fill="{ink}"/></pattern>'
        "</defs>"
    )


def region_map(
    collection: dict,
    colours: dict[str, str],
    *,
    legend: Sequence[tuple[str, str]] = (),
    title: str = "",
    width: float = 480,
    height: float = 420,
) -> str:
    """The districts of a FeatureCollection (features carrying `code`, `name`, `cp`) filled with their colour
    (`colours`: code → red/orange/yellow/green, absent = not graded) and hatched, each named at its label point,
    with the legend (colour, words) beneath. Longitude and latitude are projected equirectangularly, longitude
    scaled by cos(latitude) at the map's middle: true enough in shape for a city."""
    legend_height = 24 if legend else 0
    min_lon, min_lat, max_lon, max_lat = bounds(collection)
    squeeze = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x, span_y = (max_lon - min_lon) * squeeze or 1e-9, (max_lat - min_lat) or 1e-9
    pad = 8
    scale = min((width - 2 * pad) / span_x, (height - legend_height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - legend_height - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon - min_lon) * squeeze * scale, off_y + (max_lat - lat) * scale

    body = [_hatch_defs()]
    labels = []
    for feature in collection["features"]:
        properties = feature["properties"]
        colour = colours.get(properties.get("code"), "")
        d = []
        for polygon in polygons(feature["geometry"]):
            for ring in polygon:
                points = [project(lon, lat) for lon, lat in ring]
                d.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        path = "".join(d)
        code = escape(str(properties.get("code", "")))
        body.append(
            f'<path d="{path}" fill="{COLOUR_HEX[colour]}" fill-rule="evenodd" stroke="#ffffff" '
            f'stroke-width="1" data-code="{code}"/>'
        )
        if HATCH[colour]:
            body.append(f'<path d="{path}" fill="url(#hatch-{HATCH[colour]})" fill-rule="evenodd" stroke="none"/>')
        if properties.get("cp"):
            x, y = project(*properties["cp"])
            labels.append(_text(x, y + 3.5, properties.get("name", ""), size=9, font_weight="bold"))
    body += labels
    x = pad
    for colour, words in legend:
        y = height - legend_height + 6
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="12" fill="{COLOUR_HEX[colour]}" stroke="{AXIS}" '
            'stroke-width="0.5"/>'
        )
        if HATCH[colour]:
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="12" fill="url(#hatch-{HATCH[colour]})"/>')
        body.append(_text(x + 18, y + 10, words, size=10, anchor="start"))
        x += 30 + 11 * len(words)
    return _svg(width, height, title, body)

"""The maps of the jurisdictions: the vendored district boundaries of the demo cities, served to any signed-in user
(never to the anonymous public) with a cache validator, and another city's boundaries loaded by an administrator
from a GeoJSON file, matched to the GB/T 2260 codes by code or name, with errors that say what to fix."""

import gzip
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import Client

from core.models import Region
from reports.geojson import MapError, decode_echarts, match_features
from reports.maps import MapRegion, region_map_chart
from reports.models import RegionMap
from reports.svg import COLOUR_HEX

pytestmark = pytest.mark.django_db

STATIC_MAPS = Path(__file__).resolve().parents[2] / "static" / "maps"
DEMO_CITIES = ("371400", "330200", "330400", "431100", "430100")


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _children(code: str) -> dict[str, str]:
    return dict(Region.objects.filter(parent_id=code).values_list("code", "name"))


def _dezhou_as_plain_geojson(tmp_path, *, keep=None, rename=None, name_property="name") -> Path:
    """德州's vendored boundaries as a file another source might give: a name (no code), extra properties."""
    vendored = json.loads((STATIC_MAPS / "371400.json").read_text(encoding="utf-8"))
    features = []
    for feature in vendored["features"]:
        name = feature["properties"]["name"]
        if keep is not None and name not in keep:
            continue
        properties = {name_property: (rename or {}).get(name, name), "level": "district"}
        features.append({"type": "Feature", "properties": properties, "geometry": feature["geometry"]})
    path = tmp_path / "dezhou.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


# ── The vendored maps ────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("city", DEMO_CITIES)
def test_each_demo_city_is_vendored_with_every_district_named_by_its_code(city):
    collection = json.loads((STATIC_MAPS / f"{city}.json").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and "UTF8Encoding" not in collection
    drawn = {f["properties"]["code"]: f["properties"]["name"] for f in collection["features"]}
    assert drawn == _children(city)
    for feature in collection["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert len(feature["properties"]["cp"]) == 2
    assert (STATIC_MAPS / f"{city}.json").stat().st_size < 400_000


def test_a_signed_in_user_of_any_city_gets_the_vendored_map_of_dezhou(world):
    for user in (world.city_regulator, world.far_dealer, world.other_city_regulator):
        response = _client(user).get("/reports/maps/371400.json")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/geo+json"
        body = json.loads(response.content)
        assert len(body["features"]) == 11
        assert {f["properties"]["code"] for f in body["features"]} == set(_children("371400"))
        assert "北仑区" in _client(user).get("/reports/maps/330200.json").content.decode()


def test_the_anonymous_public_is_sent_to_the_login_page():
    response = Client().get("/reports/maps/371400.json")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert b"features" not in response.content


def test_a_region_without_a_map_is_not_found(world):
    client = _client(world.city_regulator)
    assert client.get("/reports/maps/370100.json").status_code == 404  # 济南市: real, but not vendored
    assert client.get("/reports/maps/999999.json").status_code == 404
    assert client.get("/reports/maps/../settings.json").status_code == 404
    assert client.post("/reports/maps/371400.json").status_code == 405


def test_the_map_is_cached_by_the_browser_and_revalidated_by_its_etag(world):
    client = _client(world.dealer)
    first = client.get("/reports/maps/371400.json")
    assert "private" in first["Cache-Control"] and "max-age=3600" in first["Cache-Control"]
    etag = first["ETag"]
    again = client.get("/reports/maps/371400.json", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    zipped = client.get("/reports/maps/371400.json", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert len(zipped.content) < len(first.content) / 3
    assert json.loads(gzip.decompress(zipped.content)) == json.loads(first.content)


# ── Loading another city's boundaries ─────────────────────────────────────────────────────────────────────────


def test_an_administrator_loads_boundaries_by_name_and_they_replace_the_vendored_map(world, tmp_path):
    before = _client(world.dealer).get("/reports/maps/371400.json")
    path = _dezhou_as_plain_geojson(tmp_path, keep={"德城区", "陵城区", "禹城市"}, name_property="NAME")
    out, err = StringIO(), StringIO()
    call_command("load_region_map", "371400", str(path), "--name-property", "NAME", stdout=out, stderr=err)
    assert "3 subdivisions loaded" in out.getvalue()
    assert "宁津县 371422" in err.getvalue()  # the districts the file has no boundary for

    stored = RegionMap.objects.get(region_code="371400")
    assert stored.source == "dezhou.geojson"
    assert [f["properties"]["code"] for f in stored.geojson["features"]] == ["371402", "371403", "371482"]
    response = _client(world.dealer).get("/reports/maps/371400.json", HTTP_IF_NONE_MATCH=before["ETag"])
    assert response.status_code == 200  # a new map, a new validator
    assert [f["properties"]["name"] for f in json.loads(response.content)["features"]] == ["德城区", "陵城区", "禹城市"]
    assert _client().get("/reports/maps/371400.json").status_code == 302


def test_a_feature_carrying_its_code_as_adcode_is_matched_by_the_code(tmp_path):
    vendored = json.loads((STATIC_MAPS / "330400.json").read_text(encoding="utf-8"))
    for feature in vendored["features"]:
        feature["properties"] = {"adcode": int(feature["properties"]["code"]), "name": "某区"}
    path = tmp_path / "jiaxing.json"
    path.write_text(json.dumps(vendored), encoding="utf-8")
    call_command("load_region_map", "330400", str(path), stdout=StringIO(), stderr=StringIO())
    names = [f["properties"]["name"] for f in RegionMap.objects.get(region_code="330400").geojson["features"]]
    assert names == list(_children("330400").values())


def test_a_renamed_county_is_matched_by_its_stem_but_a_stranger_is_refused(tmp_path):
    path = _dezhou_as_plain_geojson(tmp_path, keep={"乐陵市", "禹城市"}, rename={"乐陵市": "乐陵县"})
    call_command("load_region_map", "371400", str(path), stdout=StringIO(), stderr=StringIO())
    assert RegionMap.objects.get(region_code="371400").geojson["features"][0]["properties"]["code"] == "371481"

    RegionMap.objects.all().delete()
    path = _dezhou_as_plain_geojson(tmp_path, keep={"德城区", "禹城市"}, rename={"禹城市": "东城区"})
    with pytest.raises(CommandError) as refused:
        call_command("load_region_map", "371400", str(path), stdout=StringIO(), stderr=StringIO())
    message = str(refused.value)
    assert "feature 2 (name='东城区') matches no subdivision" in message
    assert "禹城市 371482" in message  # what there is to match
    assert not RegionMap.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not JSON"),
        ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "has no features"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "德城区"},'
            ' "geometry": {"type": "Point", "coordinates": [116.3, 37.4]}}]}',
            "only Polygon and MultiPolygon",
        ),
    ],
)
def test_a_file_that_is_not_a_map_is_refused_in_words(tmp_path, content, expected):
    path = tmp_path / "map.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=expected):
        call_command("load_region_map", "371400", str(path))
    assert not RegionMap.objects.exists()


def test_a_district_twice_an_unknown_region_or_a_missing_file_is_refused(tmp_path):
    vendored = json.loads((STATIC_MAPS / "371400.json").read_text(encoding="utf-8"))
    vendored["features"].append(vendored["features"][0])
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(vendored), encoding="utf-8")
    with pytest.raises(CommandError, match="bounds 德城区 371402 again"):
        call_command("load_region_map", "371400", str(path))
    with pytest.raises(CommandError, match="no region 999900"):
        call_command("load_region_map", "999900", str(path))
    with pytest.raises(CommandError, match="has no subdivisions"):
        call_command("load_region_map", "371402001", str(path))  # a street (新湖街道): nothing below it to draw
    with pytest.raises(CommandError, match="matches no subdivision"):
        call_command("load_region_map", "371402", str(path))  # a district's streets: the file draws the counties
    with pytest.raises(CommandError, match="no file"):
        call_command("load_region_map", "371400", str(tmp_path / "absent.geojson"))
    assert not RegionMap.objects.exists()


def _encode_ring(points, scale=1024):
    """ECharts' UTF8Encoding of one ring (the inverse of reports.geojson.decode_echarts)."""
    quantised = [(round(x * scale), round(y * scale)) for x, y in points]
    offset, previous, chars = list(quantised[0]), quantised[0], []
    for x, y in quantised:
        for delta in (x - previous[0], y - previous[1]):
            chars.append(chr(((delta << 1) ^ (delta >> 31)) + 64))
        previous = (x, y)
    return "".join(chars), offset


def test_a_map_in_echarts_compressed_form_is_decoded():
    ring = [[116.25, 37.5], [116.5, 37.5], [116.5, 37.25], [116.25, 37.25], [116.25, 37.5]]
    text, offset = _encode_ring(ring)
    compressed = {
        "type": "FeatureCollection",
        "UTF8Encoding": True,
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "德城区"},
                "geometry": {"type": "Polygon", "coordinates": [text], "encodeOffsets": [offset]},
            }
        ],
    }
    assert decode_echarts(compressed)["features"][0]["geometry"]["coordinates"] == [ring]
    matched = match_features(compressed, {"371402": "德城区"})
    assert matched["features"][0]["geometry"] == {"type": "Polygon", "coordinates": [ring]}
    assert matched["features"][0]["properties"] == {"code": "371402", "name": "德城区", "cp": [116.375, 37.375]}
    with pytest.raises(MapError, match="out of range"):
        match_features(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "properties": {"name": "德城区"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[3714.0, 37.0], [1, 2], [3, 4], [3714.0, 37.0]]],
                        },
                    }
                ],
            },
            {"371402": "德城区"},
        )


# ── What the cockpit includes ─────────────────────────────────────────────────────────────────────────────────


def test_the_map_include_lists_every_district_with_its_colour_in_words(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    chart = region_map_chart(
        region_code="371400",
        regions=[MapRegion("371402", "德城区", "red", 42.5, (17, 40)), MapRegion("371403", "陵城区", "", None)],
        value_label="风险企业占比 (%)",
        columns=["风险企业", "企业"],
        href="/dashboard/regions/{code}/",
    )
    assert chart["mapUrl"] == "/reports/maps/371400.json"
    assert [entry["count"] for entry in chart["legend"]] == [1, 0, 0, 0]
    assert chart["legend"][0]["hex"] == COLOUR_HEX["red"]
    html = render_to_string("reports/_region_map.html", {"region_map": chart})
    assert 'data-chart="region-map"' in html and 'id="region-map-data"' in html
    assert '<a href="/dashboard/regions/371402/">德城区</a>' in html
    assert ">红<" in html and "未评级" in html and "42.5" in html
    assert "onclick" not in html.lower()
    assert "/static/vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()

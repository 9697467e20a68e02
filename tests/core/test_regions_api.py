"""GET /api/v1/regions/: real GB/T 2260 data, loaded by migration."""

import pytest

from core.models import Region


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("370000", "山东省", 1, None),
        ("371400", "德州市", 2, "370000"),
        ("371402", "德城区", 3, "371400"),
        ("431100", "永州市", 2, "430000"),
        ("330206", "北仑区", 3, "330200"),
        ("330400", "嘉兴市", 2, "330000"),
        ("430100", "长沙市", 2, "430000"),
    ],
)
def test_seed_regions_have_their_real_codes_names_and_parents(db, api, code, name, level, parent):
    response = api().get(f"/api/v1/regions/{code}/")
    assert response.status_code == 200
    assert response.json() == {"code": code, "name": name, "level": level, "parent_code": parent}


def test_every_province_and_prefecture_is_loaded(db):
    assert Region.objects.filter(level=1).count() >= 34
    assert Region.objects.filter(level=2).count() >= 330
    assert Region.objects.filter(level=3).count() >= 2800
    dezhou_counties = set(Region.objects.filter(parent_id="371400").values_list("name", flat=True))
    assert {"德城区", "陵城区", "禹城市", "乐陵市", "齐河县", "夏津县"} <= dezhou_counties


def test_every_region_below_a_province_lies_inside_its_parents_prefix(db):
    for region in Region.objects.filter(parent__isnull=False).select_related("parent"):
        assert region.code.startswith(region.parent.prefix), region


def test_unknown_region_is_404_with_envelope(db, api):
    response = api().get("/api/v1/regions/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_children_of_a_city_are_listed_for_pickers(db, api):
    body = api().get("/api/v1/regions/", {"parent": "371400", "page_size": 100}).json()
    assert {r["code"] for r in body["results"]} >= {"371402", "371403", "371482"}
    assert all(r["parent_code"] == "371400" for r in body["results"])


def test_bad_level_filter_is_400(db, api):
    assert api().get("/api/v1/regions/", {"level": "city"}).status_code == 400


def test_load_regions_command_is_idempotent(db):
    from django.core.management import call_command

    before = Region.objects.count()
    call_command("load_regions")
    assert Region.objects.count() == before

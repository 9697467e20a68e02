"""Long lists: exact counts up to a threshold, a briefly cached exact count above it, and paging that never depends
on the count (a page is fetched with one row more than it shows)."""

import pytest
from django.utils import timezone

from alerts.engine import Source, raise_findings
from alerts.rules import Finding, RuleCode
from core import pagination
from core.models import Region
from tests.conftest import api_client


def _raise(first: int, last: int, region: str = "371402") -> None:
    raise_findings(
        [
            (Source(timezone.now()), Finding(RuleCode.COMPLAINT, f"page-test:{i}", region, {"n": i}))
            for i in range(first, last)
        ]
    )


def _walk(client, url: str) -> tuple[int, list[int]]:
    """Follow `next` from the first page; the count of the first page and every id seen."""
    body = client.get(url).json()
    count, ids = body["count"], [a["id"] for a in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        ids += [a["id"] for a in body["results"]]
    return count, ids


@pytest.mark.django_db
def test_small_lists_count_exactly_and_live(world):
    _raise(0, 12)
    client = api_client(world.district_regulator)
    count, ids = _walk(client, "/api/v1/alerts/?page_size=5")
    assert count == 12 and len(set(ids)) == 12
    _raise(12, 13)
    assert client.get("/api/v1/alerts/?page_size=5").json()["count"] == 13
    assert api_client(world.other_district_regulator).get("/api/v1/alerts/").json()["count"] == 0


@pytest.mark.django_db
def test_a_long_list_keeps_its_count_briefly_and_still_pages_through_every_row(world, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_UP_TO", 10)
    _raise(0, 30)
    client = api_client(world.city_regulator)
    count, ids = _walk(client, "/api/v1/alerts/?page_size=7")
    assert count == 30 and len(ids) == len(set(ids)) == 30

    _raise(30, 33)  # within COUNT_SECONDS the count is the one counted, but no row is out of reach
    count, ids = _walk(client, "/api/v1/alerts/?page_size=7")
    assert count == 30 and len(ids) == len(set(ids)) == 33
    assert client.get("/api/v1/alerts/?page_size=7&page=5").json()["next"] is None  # 33 = 4 x 7 + 5
    assert client.get("/api/v1/alerts/?page_size=7&page=6").status_code == 404
    assert client.get("/api/v1/alerts/?page_size=7&page=0").status_code == 404

    # the same filters in another scope are counted on their own
    assert api_client(world.other_district_regulator).get("/api/v1/alerts/").json()["count"] == 0
    assert api_client(world.district_regulator).get("/api/v1/alerts/?page_size=7").json()["count"] == 33


@pytest.mark.django_db
def test_the_paginator_on_reference_data(monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_UP_TO", 50)
    queryset = Region.objects.filter(code__startswith="37").order_by("code")
    expected = list(queryset.values_list("code", flat=True))
    assert len(expected) > 100
    paginator = pagination.Paginator(queryset, 40)
    assert paginator.count == len(expected) and paginator.count_cached
    codes, page = [], paginator.page(1)
    while True:
        codes += [r.code for r in page.object_list]
        if not page.has_next():
            break
        page = paginator.page(page.next_page_number())
    assert codes == expected
    assert paginator.get_page(10_000).number == paginator.num_pages  # the pages' "last page" fallback


def test_a_list_in_memory_pages_too():
    paginator = pagination.Paginator(list(range(23)), 10)
    assert paginator.count == 23 and not paginator.count_cached
    assert list(paginator.page(3).object_list) == [20, 21, 22] and not paginator.page(3).has_next()
    assert paginator.page(2).has_next() and paginator.get_page(9).number == 3


@pytest.mark.django_db
def test_odd_page_numbers_are_404_not_errors(world, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_UP_TO", 10)
    _raise(0, 30)
    client = api_client(world.city_regulator)
    for page in ("99999999999999999999", "-1", "abc", "1.5", "50"):
        assert client.get(f"/api/v1/alerts/?page_size=7&page={page}").status_code == 404, page
    assert client.get("/api/v1/alerts/?page_size=7&page=last").json()["next"] is None


def test_a_row_arriving_after_the_count_still_gets_its_next_link(monkeypatch):
    """The count (exact, small) says one page; the page's extra row says there is more: `next` follows the rows."""
    paginator = pagination.Paginator(list(range(10)), 10)
    assert paginator.count == 10
    paginator.object_list = list(range(11))  # a row arrived between the count and the page
    page = paginator.page(1)
    assert page.has_next() and page.next_page_number() == 2


@pytest.mark.django_db
def test_with_redis_down_a_long_list_is_counted_every_time(settings, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_UP_TO", 50)
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    queryset = Region.objects.filter(code__startswith="37").order_by("code")
    paginator = pagination.Paginator(queryset, 40)
    assert paginator.count == queryset.count() and paginator.page(2).has_next()

"""GET /api/v1/reports/summary/ and /trend/: a jurisdiction's figures, read from the rollups, equal to what the raw
rows say; scoped (another city's regulator and every enterprise get 404)."""

import datetime as dt
import statistics

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertTransition, Complaint
from reports import rollups
from reports.models import AlertDay, RegionDay
from tests.conftest import api_client
from vehicles.models import EventType, LifecycleEvent

pytestmark = pytest.mark.django_db
SUMMARY, TREND = "/api/v1/reports/summary/", "/api/v1/reports/trend/"


def _raw(prefix: str, month: dt.date) -> dict:
    """The month's figures computed straight from the raw rows: the ledger, the alerts and their steps."""
    start = timezone.make_aware(dt.datetime.combine(month, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time.min))
    events = LifecycleEvent.objects.filter(region_code__startswith=prefix, occurred_at__gte=start, occurred_at__lt=end)
    alerts = Alert.objects.filter(region_code__startswith=prefix, created_at__gte=start, created_at__lt=end)
    closures = AlertTransition.objects.filter(
        alert__region_code__startswith=prefix, at__gte=start, at__lt=end, to_status__in=rollups.CLOSING
    ).exclude(from_status__in=rollups.CLOSING)
    by_status, by_rule = {}, {}
    for alert in alerts:
        by_status[alert.status] = by_status.get(alert.status, 0) + 1
        by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
    to_alert = [rollups.seconds_between(rollups.known_at(a), a.dispatched_at) for a in alerts]
    to_closed = [rollups.seconds_between(t.alert.dispatched_at, t.at) for t in closures.select_related("alert")]
    return {
        "sales": events.filter(type=EventType.SOLD).count(),
        "vehicles_registered": events.filter(type=EventType.REGISTERED).count(),
        "repairs": events.filter(type=EventType.REPAIRED).count(),
        "recycled": events.filter(type=EventType.RECYCLED).count(),
        "complaints": Complaint.objects.filter(
            region__code__startswith=prefix, created_at__gte=start, created_at__lt=end
        ).count(),
        "alerts": {"total": alerts.count(), "by_status": by_status, "by_rule": by_rule},
        "closed_within_sla": sum(1 for t in closures if t.due_at and t.at <= t.due_at),
        "closures": closures.count(),
        "median_event_to_alert_s": statistics.median(to_alert) if to_alert else None,
        "median_alert_to_closed_s": statistics.median(to_closed) if to_closed else None,
    }


def _matches_raw(body: dict, prefix: str) -> None:
    raw = _raw(prefix, timezone.localdate().replace(day=1))
    for key in ("sales", "vehicles_registered", "repairs", "recycled", "complaints"):
        assert body[key] == raw[key], key
    assert body["alerts"]["total"] == raw["alerts"]["total"]
    assert body["alerts"]["by_status"] == raw["alerts"]["by_status"]
    assert body["alerts"]["by_rule"] == raw["alerts"]["by_rule"]
    assert body["median_event_to_alert_s"] == raw["median_event_to_alert_s"]
    assert body["median_alert_to_closed_s"] == raw["median_alert_to_closed_s"]
    expected_pct = round(100 * raw["closed_within_sla"] / raw["closures"], 1) if raw["closures"] else None
    assert body["closed_within_sla_pct"] == expected_pct


def test_the_citys_figures_of_the_month_equal_the_raw_rows(activity, world):
    response = api_client(world.city_regulator).get(SUMMARY, {"region_code": "371400"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["region_code"] == "371400" and body["month"] == f"{timezone.localdate():%Y-%m}"
    _matches_raw(body, "3714")
    assert body["sales"] >= 4 and body["alerts"]["total"] >= 3  # the month had work in it
    assert body["dispatched_within_sla_pct"] == 100.0
    children = {c["region_code"]: c for c in body["children"]}
    assert set(children) >= {"371402", "371403"} and children["371402"]["name"] == "德城区"
    assert (
        children["371402"]["open_alerts"]
        == Alert.objects.filter(
            region_code__startswith="371402",
            status__in=[
                "new",
                "dispatched",
                "rectification_requested",
                "rectification_submitted",
                "verified",
                "reopened",
            ],
        ).count()
    )
    assert children["371403"]["vehicles_registered"] == 1 and children["371402"]["colour"] == "green"


def test_a_corrupted_day_is_wrong_until_the_nightly_repair_runs(activity, world):
    today = timezone.localdate()
    RegionDay.objects.filter(region_code="371402", day=today).update(sales=500)
    AlertDay.objects.filter(day=today).update(event_to_alert_s=[999999])
    client = api_client(world.district_regulator)
    assert client.get(SUMMARY).json()["sales"] >= 500  # the page reads the rollups, never the ledger
    assert rollups.day_rederive(today) > 0
    _matches_raw(client.get(SUMMARY).json(), "371402")


def test_a_district_sees_itself_and_nothing_above_or_beside(activity, world):
    district = api_client(world.district_regulator)
    assert district.get(SUMMARY).json()["region_code"] == "371402"  # its own region by default
    assert district.get(SUMMARY, {"region_code": "371400"}).status_code == 404  # the city above it
    assert district.get(SUMMARY, {"region_code": "371403"}).status_code == 404  # the district beside it
    for outsider in (world.other_city_regulator, world.dealer, world.other_dealer):
        response = api_client(outsider).get(SUMMARY, {"region_code": "371400"})
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert api_client(outsider).get(TREND, {"region_code": "371402"}).status_code == 404
    assert api_client().get(SUMMARY, {"region_code": "371400"}).status_code == 401


def test_a_department_reads_its_region_for_the_categories_it_subscribed_to(activity, world):
    from alerts.models import DepartmentSubscription

    DepartmentSubscription.objects.create(organization=world.police.organization, categories=["speed"])
    body = api_client(world.police).get(SUMMARY).json()
    assert body["region_code"] == "371400"
    assert set(body["alerts"]["by_rule"]) == {"MOD_SPEED_UNLOCK"}  # not the motor or the refused delivery
    assert body["sales"] >= 4  # the chain's figures are the region's


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"month": "2026-13"}, "invalid_month"),
        ({"month": "next"}, "invalid_month"),
        ({"month": "2999-01"}, "invalid_month"),
        ({"region_code": "abc"}, "not_found"),
        ({"region_code": "999999"}, "not_found"),
    ],
)
def test_bad_queries_are_explained(world, query, code):
    response = api_client(world.city_regulator).get(SUMMARY, query)
    assert response.status_code in (400, 404) and response.json()["error"]["code"] == code


def test_the_trend_gives_each_month_and_refuses_more_than_36(activity, world):
    client = api_client(world.city_regulator)
    body = client.get(TREND, {"region_code": "371400"}).json()
    assert len(body["months"]) == 12 and body["months"][-1]["month"] == f"{timezone.localdate():%Y-%m}"
    this_month = body["months"][-1]
    raw = _raw("3714", timezone.localdate().replace(day=1))
    assert (this_month["sales"], this_month["repairs"], this_month["alerts"]) == (
        raw["sales"],
        raw["repairs"],
        raw["alerts"]["total"],
    )
    assert this_month["alerts_by_rule"] == raw["alerts"]["by_rule"] and this_month["closed"] == raw["closures"]
    assert all(m["sales"] == 0 for m in body["months"][:-2])
    too_long = client.get(TREND, {"region_code": "371400", "from": "2020-01", "to": "2026-01"})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "range_too_long"
    backwards = client.get(TREND, {"from": "2026-05", "to": "2026-01"})
    assert backwards.status_code == 400 and backwards.json()["error"]["code"] == "invalid_range"

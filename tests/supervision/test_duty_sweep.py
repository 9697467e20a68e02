"""The DUTY_OVERDUE sweep (supervision.duties.duty_overdue_sweep): one alert request per enterprise, kind and
period ended without its record, from the day the enterprise was registered and within the look-back; nothing
more when run again; one query however many enterprises; routed to the enterprise and its regulator; closed by the
platform once the missing records are filed; counted in the risk grading; run by a real worker."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertDelivery, AlertRequest, AlertTransition
from alerts.services import alert_transition
from core.models import Organization, OrganizationKind
from core.scoping import scoped
from reports import risk
from supervision.duties import duty_overdue_sweep, duty_record_file, sweep_periods
from supervision.duty_reference import DUTY_CHECKLISTS
from supervision.models import DutyRecord
from tests.alerts.conftest import drain
from tests.conftest import _member
from tests.factories import OrganizationFactory

SWEPT = re.compile(r"duty_overdue_sweep\[[^\]]+\] succeeded in [\d.]+s: (\d+)")
TODAY = dt.date(2026, 3, 5)  # a Thursday: the week of 2026-W10 is still running, 2026-W09 ended on Sunday 03-01
RULE = "DUTY_OVERDUE"


def registered(org, day: dt.date) -> None:
    Organization.objects.filter(pk=org.pk).update(
        created_at=timezone.make_aware(dt.datetime.combine(day, dt.time(15, 0)))
    )


def file(user, kind: str, period: str):
    items = [{"item": item, "ok": True, "note": ""} for item in DUTY_CHECKLISTS[user.organization.kind][kind]]
    return duty_record_file(user=user, kind=kind, period=period, items=items, signed_by="李质安")


def requests_of(org) -> set[str]:
    return set(AlertRequest.objects.filter(rule=RULE, organization=org).values_list("evidence__period", flat=True))


@pytest.fixture
def holders(world, chain):
    """The duty holders of the world (three dealers, a maker, a battery maker), registered long ago; a repair
    shop, the regulators and the police owe nothing."""
    _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区修车铺")
    for org in Organization.objects.all():
        registered(org, dt.date(2025, 1, 1))
    return [world.dealer, world.other_dealer, world.far_dealer, chain.maker, chain.battery_maker]


@pytest.mark.django_db
def test_each_period_of_the_look_back_ended_without_a_record_is_raised_once_per_enterprise(world, holders):
    file(world.dealer, "daily", "2026-03-04")
    file(world.dealer, "weekly", "2026-W09")

    raised = duty_overdue_sweep(today=TODAY)

    days = {f"2026-03-0{n}" for n in (4, 3, 2, 1)} | {"2026-02-28", "2026-02-27", "2026-02-26"}
    everything = days | {"2026-W09", "2026-W08", "2026-W07", "2026-W06"} | {"2026-02", "2026-01"}
    assert raised == 5 * 13 - 2
    assert requests_of(world.org("dealer")) == everything - {"2026-03-04", "2026-W09"}
    for user in holders[1:]:
        assert requests_of(user.organization) == everything, user
    holders_kinds = ["dealer", "manufacturer", "battery_maker"]
    assert not AlertRequest.objects.filter(rule=RULE).exclude(organization__kind__in=holders_kinds).exists()
    request = AlertRequest.objects.get(organization=world.org("other_dealer"), evidence__period="2026-W08")
    assert request.source == f"duty:2026-W08:{world.org('other_dealer').pk}" and request.region_code == "371403"
    week = {"duty": "weekly", "period": "2026-W08", "period_start": "2026-02-16", "period_end": "2026-02-22"}
    assert request.evidence == week
    assert request.frame_no == request.battery_serial == "" and request.processed_at is None


@pytest.mark.django_db
def test_an_enterprise_owes_records_only_from_the_day_it_was_registered(world, holders):
    registered(world.org("dealer"), dt.date(2026, 3, 3))  # a Tuesday: not the week nor the month it joined in
    registered(world.org("other_dealer"), TODAY)
    suspended = world.org("far_dealer")
    suspended.status = Organization.Status.SUSPENDED
    suspended.save()

    duty_overdue_sweep(today=TODAY)

    assert requests_of(world.org("dealer")) == {"2026-03-03", "2026-03-04"}
    assert requests_of(world.org("other_dealer")) == set()
    assert requests_of(suspended) == set()
    assert len(sweep_periods(TODAY)) == 13  # 7 days, 4 weeks, 2 months: a first run does not raise years


@pytest.mark.django_db
def test_run_twice_the_sweep_raises_nothing_more_and_each_enterprise_gets_one_alert_with_its_regulator(world, holders):
    first = duty_overdue_sweep(today=TODAY)
    drain()
    alerts = Alert.objects.filter(rule=RULE)
    before = {a.pk: a.evidence["occurrences"] for a in alerts}

    assert duty_overdue_sweep(today=TODAY) == 0
    drain()

    assert first == 5 * 13 and AlertRequest.objects.filter(rule=RULE).count() == first
    assert not AlertRequest.objects.filter(processed_at__isnull=True).exists()
    assert alerts.count() == 5 and {a.organization_id for a in alerts} == {u.organization_id for u in holders}
    assert {a.pk: a.evidence["occurrences"] for a in alerts} == before == {a.pk: 13 for a in alerts}
    alert = alerts.get(organization=world.org("dealer"))
    assert alert.status == "dispatched" and alert.category == "duty" and alert.severity == "low"
    assert alert.region_code == "371402" and alert.regulator == world.org("district_regulator")
    assert AlertTransition.objects.filter(alert=alert, action="repeat").count() == 12
    assert AlertDelivery.objects.filter(alert=alert, reason="jurisdiction").get().organization == world.org(
        "district_regulator"
    )
    # The enterprise concerned and the regulators above it see it; nobody else does.
    assert set(scoped(Alert.objects.all(), world.dealer)) == {alert}
    for user in (world.district_regulator, world.city_regulator):
        assert alert in scoped(Alert.objects.all(), user)
    for user in (world.other_dealer, world.other_district_regulator, world.other_city_regulator):
        assert alert not in scoped(Alert.objects.all(), user)

    # What the alert says, in words, on the regulator's page.
    client = Client()
    client.force_login(world.district_regulator)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "履职记录逾期未填报" in html and "未填报的履职记录 #2026-03-04" in html


@pytest.mark.django_db
def test_the_sweep_is_one_statement_however_many_enterprises(world, holders):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            duty_overdue_sweep(today=TODAY)
        return len([q for q in queries.captured_queries if "INSERT INTO" in q["sql"]])

    few = statements()
    OrganizationFactory.create_batch(40, kind=OrganizationKind.DEALER)
    for org in Organization.objects.filter(kind="dealer"):
        registered(org, dt.date(2026, 3, 1))
    assert statements() == few == 1
    dealers = AlertRequest.objects.filter(rule=RULE, organization__kind="dealer").values("organization")
    assert dealers.distinct().count() == 43


@pytest.mark.django_db
def test_filing_the_records_an_alert_lists_closes_it_by_the_platform_and_the_history_says_so(world, holders):
    registered(world.org("dealer"), dt.date(2026, 3, 3))
    duty_overdue_sweep(today=TODAY)
    drain()
    alert = Alert.objects.get(rule=RULE, organization=world.org("dealer"))

    file(world.dealer, "daily", "2026-03-04")
    alert.refresh_from_db()
    assert alert.is_open  # 2026-03-03 is still missing

    record = file(world.dealer, "daily", "2026-03-03")
    alert.refresh_from_db()
    assert record.late and alert.status == "closed" and alert.closed_at is not None
    step = alert.transitions.get(action="resolved")
    assert (step.from_status, step.to_status) == ("dispatched", "closed")
    assert step.actor is None and step.actor_organization is None  # nobody took it: the platform did
    assert "2026-03-03" in step.note and "李质安" not in step.note
    # The other enterprises' alerts stay open.
    assert Alert.objects.filter(rule=RULE, status="dispatched").count() == 4

    client = Client()
    client.force_login(world.district_regulator)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-action="resolved"' in html and "问题已消除，平台自动关闭" in html and "平台" in html

    # The next day missing raises a new alert: the closed one is not reopened behind anyone's back.
    assert duty_overdue_sweep(today=TODAY + dt.timedelta(days=1)) == 5
    drain()
    new = Alert.objects.get(rule=RULE, organization=world.org("dealer"), status="dispatched")
    assert new.pk != alert.pk and new.evidence["period"] == "2026-03-05"


@pytest.mark.django_db
def test_a_record_filed_between_the_sweep_and_the_drain_raises_no_alert(world, holders):
    registered(world.org("dealer"), dt.date(2026, 3, 4))
    duty_overdue_sweep(today=TODAY)
    file(world.dealer, "daily", "2026-03-04")
    drain()
    assert not Alert.objects.filter(rule=RULE, organization=world.org("dealer")).exists()
    assert AlertRequest.objects.get(organization=world.org("dealer")).processed_at is not None


@pytest.mark.django_db
def test_a_dismissed_alert_stays_dismissed_when_the_record_is_filed(world, holders):
    registered(world.org("dealer"), dt.date(2026, 3, 4))
    duty_overdue_sweep(today=TODAY)
    drain()
    alert = Alert.objects.get(rule=RULE, organization=world.org("dealer"))
    alert_transition(user=world.district_regulator, alert_id=alert.pk, action="dismiss", note="店铺当日停业")
    file(world.dealer, "daily", "2026-03-04")
    alert.refresh_from_db()
    assert alert.status == "dismissed" and not alert.transitions.filter(action="resolved").exists()


@pytest.mark.django_db
def test_the_risk_signal_counts_each_missing_record_of_the_window_less_the_dismissed(world, holders):
    registered(world.org("dealer"), dt.date(2026, 3, 2))
    registered(world.org("other_dealer"), dt.date(2026, 3, 3))
    duty_overdue_sweep(today=TODAY)
    drain()
    dismissed = Alert.objects.get(rule=RULE, organization=world.org("other_dealer"))
    alert_transition(user=world.other_district_regulator, alert_id=dismissed.pk, action="dismiss", note="停业整顿期间")
    # A miss found long ago is outside the window.
    old = AlertRequest.objects.get(organization=world.org("far_dealer"), evidence__period="2026-01")
    AlertRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=200))

    now = timezone.now()
    counts = risk.SIGNALS["duty_overdue"].count(risk.Moment(now=now, since=now - dt.timedelta(days=90)))

    assert counts[world.org("dealer").pk] == 3  # 03-02, 03-03, 03-04: one alert, three misses
    assert world.org("other_dealer").pk not in counts  # both its misses were in the dismissed alert
    assert counts[world.org("far_dealer").pk] == 12
    assert counts[holders[3].organization_id] == 13
    with CaptureQueriesContext(connection) as queries:
        risk.SIGNALS["duty_overdue"].count(risk.Moment(now=now, since=now - dt.timedelta(days=90)))
    assert len(queries) == 1


def test_beat_runs_the_sweep_every_hour_after_midnights_and_before_the_nights_grading():
    from supervision.tasks import duty_overdue_sweep as task

    entry = settings.CELERY_BEAT_SCHEDULE["supervision-duty-overdue"]
    assert entry["task"] == task.name == "supervision.tasks.duty_overdue_sweep"
    assert entry["schedule"].minute == {20} and len(entry["schedule"].hour) == 24
    grading = settings.CELERY_BEAT_SCHEDULE["reports-grade-risk"]["schedule"]
    assert min(grading.hour) * 60 + min(grading.minute) > 20  # the night's grading counts the night's misses


@pytest.mark.integration
def test_a_real_worker_sweeps_as_of_a_given_day_and_the_alerts_appear_once(transactional_db, world, chain, tmp_path):
    from supervision.tasks import duty_overdue_sweep as task
    from tests.processes import running, wait_until

    for org in Organization.objects.all():
        registered(org, dt.date(2026, 3, 3))
    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", "celery"]
    log = tmp_path / "worker.log"
    with running(args, log=log) as worker:
        task.delay(today=TODAY.isoformat())
        raised = wait_until(lambda: Alert.objects.filter(rule=RULE).count() == 5, 90)
        task.delay(today=TODAY.isoformat())  # again: nothing more
        swept_twice = wait_until(lambda: len(SWEPT.findall(log.read_text(errors="replace"))) == 2, 60)
        assert wait_until(lambda: not AlertRequest.objects.filter(processed_at__isnull=True).exists(), 30)
        assert worker.poll() is None, log.read_text()
    assert raised and swept_twice, log.read_text()[-3000:]
    assert [int(n) for n in SWEPT.findall(log.read_text())] == [10, 0]
    assert AlertRequest.objects.filter(rule=RULE).count() == 10  # five enterprises, 03-03 and 03-04
    assert Alert.objects.filter(rule=RULE).count() == 5
    assert {a.evidence["occurrences"] for a in Alert.objects.filter(rule=RULE)} == {2}
    assert DutyRecord.objects.count() == 0

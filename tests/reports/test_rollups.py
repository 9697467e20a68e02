"""The rollups equal the raw rows: kept current by the real upkeep (the outbox drain, the rule engine, the closed
loop, complaints), and repaired by the nightly re-derivation when a day has drifted."""

import datetime as dt

import pytest
from django.utils import timezone

from reports import rollups
from reports.models import AlertDay, EnterpriseDay, RegionDay

pytestmark = pytest.mark.django_db


def _stored(table, day):
    return rollups._stored(table, day)


def _days():
    today = timezone.localdate()
    return [today - dt.timedelta(days=1), today]


def _assert_equal_to_raw(day):
    for table, derive in rollups.DERIVED:
        stored, derived = _stored(table, day), derive(day)
        assert stored.keys() == derived.keys(), (table.name, day)
        for key in derived:
            assert rollups._same(table, stored[key], derived[key]), (table.name, key, stored[key], derived[key])


def test_the_upkeep_keeps_every_rollup_equal_to_the_raw_rows(activity, world):
    for day in _days():
        _assert_equal_to_raw(day)

    today, yesterday = _days()[1], _days()[0]
    dc = RegionDay.objects.get(region_code="371402", day=today)
    assert (dc.sales, dc.registrations, dc.repairs, dc.complaints, dc.receipts_rejected) == (3, 3, 3, 1, 1)
    assert RegionDay.objects.get(region_code="371402", day=yesterday).sales == 1  # the backdated sale: its own day
    lc = RegionDay.objects.get(region_code="371403", day=today)
    assert (lc.sales, lc.registrations, lc.transfers, lc.cancellations) == (1, 1, 1, 1)
    dealer = EnterpriseDay.objects.get(organization=world.dealer.organization, day=today)
    assert dealer.sales == 3 and dealer.receipts_rejected == 1

    motor = AlertDay.objects.get(rule="MOD_MOTOR_POWER", day=today)
    assert (motor.raised, motor.status_closed, motor.closed, motor.closed_within_sla) == (1, 1, 1, 1)
    assert len(motor.event_to_alert_s) == 1 and len(motor.alert_to_closed_s) == 1
    speed = AlertDay.objects.get(rule="MOD_SPEED_UNLOCK", day=today)
    assert (speed.status_reopened, speed.status_dismissed, speed.closed) == (1, 0, 1)  # dismissed once, reopened
    assert AlertDay.objects.get(rule="PRODUCT_UNREGISTERED").raised == 1


def test_a_drifted_day_is_repaired_by_the_nightly_re_derivation(activity):
    today = _days()[1]
    RegionDay.objects.filter(region_code="371402", day=today).update(sales=99, complaints=0)
    EnterpriseDay.objects.filter(day=today).first().delete()
    AlertDay.objects.filter(rule="MOD_MOTOR_POWER").update(alert_to_closed_s=[1, 2, 3], status_closed=0)
    RegionDay.objects.create(region_code="371481", day=today, sales=5)  # a row with nothing behind it

    assert rollups.day_rederive(today) == 4
    _assert_equal_to_raw(today)
    assert RegionDay.objects.get(region_code="371402", day=today).sales == 3
    assert not RegionDay.objects.filter(region_code="371481").exists()
    assert rollups.day_rederive(today) == 0  # nothing left to repair: the task is idempotent


def test_the_nightly_task_re_derives_yesterday(activity, settings):
    from reports.tasks import rollups_repair

    yesterday = _days()[0]
    RegionDay.objects.filter(day=yesterday).update(sales=7)
    assert rollups_repair() == 1  # the body of the task beat runs
    assert RegionDay.objects.get(region_code="371402", day=yesterday).sales == 1
    assert "reports-rollups-repair" in settings.CELERY_BEAT_SCHEDULE

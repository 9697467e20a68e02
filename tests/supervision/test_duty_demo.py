"""The demo's duty records (supervision.demo): since the first day of last month, some late, some missing, the
neglectful enterprise missing most; nothing of today's periods; the overdue sweep run; a second run adds nothing."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRequest
from supervision import demo
from supervision.models import DutyRecord
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_demo_keeps_records_with_some_late_and_some_missing_and_runs_once(world, chain):
    orgs = {
        "dealer_dc": world.org("dealer"),
        "dealer_yc2": world.org("other_dealer"),  # one of the neglectful
        "maker_dz": chain.maker.organization,
        "battery_maker": chain.battery_maker.organization,
        "dc_msa": world.org("district_regulator"),
    }
    today = timezone.localdate()
    first = demo.seed(orgs)
    again = demo.seed(orgs)

    records = DutyRecord.objects.all()
    assert first["duty_records"] == records.count() > 0 and again == {"duty_records": 0, "duty_overdue_raised": 0}
    assert set(records.values_list("organization__kind", flat=True)) == {"dealer", "manufacturer", "battery_maker"}
    assert set(records.values_list("kind", flat=True)) == {"daily", "weekly", "monthly"}
    assert not records.filter(period_end__gte=today).exists()  # today's, this week's, this month's: to do
    diligent = records.filter(organization=world.org("dealer"))
    neglectful = records.filter(organization=world.org("other_dealer"))
    assert diligent.filter(late=True).exists() and diligent.filter(late=False).exists()
    assert neglectful.count() < diligent.count() * 0.7  # about 40% kept against about 92%
    for record in records.filter(late=True):
        assert timezone.localdate(record.filed_at) > record.period_end
    for record in records.filter(late=False):
        assert timezone.localdate(record.filed_at) == record.period_end
    assert any(not item["ok"] and item["note"] for record in records for item in record.items)
    assert first["duty_overdue_raised"] == AlertRequest.objects.filter(rule="DUTY_OVERDUE").count() > 0

    client = Client()
    assert client.login(username=world.dealer.username, password=PASSWORD)
    html = client.get(f"/work/duties/?date_from={(today - dt.timedelta(days=60)).isoformat()}").content.decode()
    assert 'data-testid="missing-row"' in html and 'data-late="true"' in html

"""The hourly sweep: an old bike traded in (以旧换新) and not handed to a recycler within 30 days raises
STOCK_MISMATCH about the dealer that holds it, in words, once."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone, translation

from alerts import tasks
from alerts.models import Alert
from alerts.presentation import finding_text
from alerts.services import traded_in_bikes_sweep
from core.models import OrganizationKind
from tests.alerts.conftest import drain
from tests.conftest import _member, api_client
from tests.factories import PASSWORD


def _traded_days_ago(counter, days: int):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    sold_at = (timezone.now() - dt.timedelta(days=days)).isoformat()
    response = counter.trade(counter.body(old, new, battery, sold_at=sold_at))
    assert response.status_code == 201, response.json()
    return old


def test_a_traded_in_bike_kept_past_30_days_raises_stock_mismatch_about_the_dealer_once(counter):
    late = _traded_days_ago(counter, 40)
    _traded_days_ago(counter, 5)  # within its 30 days
    handed = _traded_days_ago(counter, 45)
    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德城区回收站")
    body = {"kind": "vehicle", "ref": handed.frame_no, "disposal": "dismantle", "vehicle_code": handed.code}
    assert api_client(recycler).post("/api/v1/recycling/", body, format="json").status_code == 201
    drain()

    assert traded_in_bikes_sweep() == 1

    alert = Alert.objects.get(rule="STOCK_MISMATCH")
    assert (alert.frame_no, alert.organization, alert.evidence["reason"]) == (
        late.frame_no,
        counter.dealer.organization,
        "trade_in_not_handed_over",
    )
    assert alert.regulator == counter.chain.world.district_regulator.organization
    with translation.override("zh-hans"):
        assert finding_text("trade_in_not_handed_over") == "以旧换新收进的旧车未在 30 天内交回收企业。"
    assert traded_in_bikes_sweep() == 0  # once per bike
    tasks.sweep()  # the beat task runs it too, and it still raises nothing new
    assert Alert.objects.filter(rule="STOCK_MISMATCH", evidence__reason="trade_in_not_handed_over").count() == 1

    # The dealer reads why in its own alerts; another dealer does not see it.
    client = Client()
    assert client.login(username=counter.dealer.username, password=PASSWORD)
    assert "以旧换新收进的旧车未在 30 天内交回收企业" in client.get(f"/alerts/{alert.pk}/").content.decode()
    other = Client()
    assert other.login(username=counter.chain.world.other_dealer.username, password=PASSWORD)
    assert other.get(f"/alerts/{alert.pk}/").status_code == 404


def test_the_beat_tasks_sweep_runs_it(counter):
    _traded_days_ago(counter, 31)
    drain()
    tasks.sweep()
    assert Alert.objects.filter(rule="STOCK_MISMATCH", evidence__reason="trade_in_not_handed_over").count() == 1

"""The scheduled sweeps: stock reconciliation, and removed batteries not handed to recycling within 30 days."""

import datetime as dt

from django.utils import timezone

from alerts.models import Alert
from alerts.services import removed_batteries_sweep, stock_reconcile
from tests.alerts.conftest import drain
from tests.conftest import api_client


def test_stock_reconciliation_finds_bikes_that_skipped_incoming_inspection(chain):
    dealer = chain.world.dealer
    received = chain.vehicle()
    body = {"supplier": chain.maker.organization_id, "frame_nos": [received.frame_no], "battery_serials": []}
    assert api_client(dealer).post("/api/v1/receipts/", body, format="json").status_code == 201
    drain()
    assert stock_reconcile() == 0  # everything in stock came through the door

    smuggled, _ = chain.in_stock(dealer)  # in the dealer's stock with no incoming inspection on the ledger
    assert stock_reconcile() == 1
    alert = Alert.objects.get(rule="STOCK_MISMATCH")
    assert (alert.frame_no, alert.organization, alert.evidence["reason"]) == (
        smuggled.frame_no,
        dealer.organization,
        "held_but_never_received",
    )
    assert alert.regulator == chain.world.district_regulator.organization
    assert stock_reconcile() == 0  # once per finding


def test_a_sweep_past_its_limit_raises_the_rest_on_its_next_runs(chain, monkeypatch):
    """The findings already raised do not take the places of new ones: with a limit of one a run, three bikes that
    skipped their incoming inspection are raised over three runs, and a fourth run finds nothing new."""
    monkeypatch.setattr("alerts.services.SWEEP_LIMIT", 1)
    dealer = chain.world.dealer
    smuggled = {chain.in_stock(dealer)[0].frame_no for _ in range(3)}
    assert [stock_reconcile() for _ in range(4)] == [1, 1, 1, 0]
    assert set(Alert.objects.filter(rule="STOCK_MISMATCH").values_list("frame_no", flat=True)) == smuggled


def test_batteries_removed_more_than_30_days_ago_and_still_at_the_shop_raise_an_alert(chain, settings, tmp_path):
    from tests.repairs.conftest import Workshop, repair_shop

    settings.MEDIA_ROOT = tmp_path
    workshop = Workshop(chain=chain, shop=repair_shop("371402"), other_shop=repair_shop("371403"))
    late_bike, (late,) = workshop.bike()
    recent_bike, (recent,) = workshop.bike()
    for bike, battery, days in ((late_bike, late, 40), (recent_bike, recent, 5)):
        response = api_client(workshop.shop).post(
            "/api/v1/repairs/",
            {
                "frame_no": bike.frame_no,
                "vehicle_code": bike.code,  # the bike is at hand
                "kind": "battery_replacement",
                "removed_battery_serials": [battery.serial],
                "fitted_battery_serials": [workshop.spare_battery().serial],
                "performed_at": (timezone.now() - dt.timedelta(days=days)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    drain()
    assert removed_batteries_sweep() == 1
    alert = Alert.objects.get(rule="STOCK_MISMATCH")
    assert (alert.battery_serial, alert.organization, alert.evidence["reason"]) == (
        late.serial,
        workshop.shop.organization,
        "removed_battery_not_handed_over",
    )
    assert removed_batteries_sweep() == 0


def test_the_battery_sweep_past_its_limit_raises_the_rest_on_its_next_run(chain, settings, tmp_path, monkeypatch):
    from tests.repairs.conftest import Workshop, repair_shop

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("alerts.services.SWEEP_LIMIT", 1)
    workshop = Workshop(chain=chain, shop=repair_shop("371402"), other_shop=repair_shop("371403"))
    removed = set()
    for _ in range(2):
        bike, (battery,) = workshop.bike()
        response = api_client(workshop.shop).post(
            "/api/v1/repairs/",
            {
                "frame_no": bike.frame_no,
                "vehicle_code": bike.code,
                "kind": "battery_replacement",
                "removed_battery_serials": [battery.serial],
                "fitted_battery_serials": [workshop.spare_battery().serial],
                "performed_at": (timezone.now() - dt.timedelta(days=40)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        removed.add(battery.serial)
    drain()
    assert [removed_batteries_sweep() for _ in range(3)] == [1, 1, 0]
    assert set(Alert.objects.filter(rule="STOCK_MISMATCH").values_list("battery_serial", flat=True)) == removed

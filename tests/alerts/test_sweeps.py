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

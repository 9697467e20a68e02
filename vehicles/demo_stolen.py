"""The demo's stolen bikes: 德州市公安局 reports two bikes registered in 德城区 stolen, nine and three days ago; the
first was brought to 德城区诚信电动车维修部 for new brake pads two days ago, which raised STOLEN_SEEN to the police
(log in as `dz_police`: the alert in the inbox, the hot sheet at /records/stolen/ with where it was last seen).

It runs through the same services as the police and the repair shop, each given the date its fact happened, and
drains the rule engine's outbox so the alert is there at once. Call it after the demo chain (vehicles/demo.py),
whose registered bikes it uses: `vehicles.demo_stolen.seed(orgs, clock)`. Idempotent: nothing happens once the
demo's reports exist, or without registered bikes in 德城区.
"""

from __future__ import annotations

import datetime as dt

from core.demo import Clock
from core.models import Organization, User
from repairs.services import repair_record
from vehicles.models import StolenReport, Vehicle
from vehicles.stolen import stolen_report_open

REPORTS = [  # (report number, days ago reported, seen at the repair shop this many days ago, or None)
    ("德公(德城)立字〔2026〕1101号", 9, 2),
    ("德公(德城)立字〔2026〕1187号", 3, None),
]


def _user(org: Organization) -> User | None:
    return User.objects.filter(organization=org).order_by("pk").first()


def seed(orgs: dict[str, Organization], clock: Clock | None = None) -> int:
    """Report the demo's two stolen bikes and the repair that saw one; returns how many were reported."""
    if StolenReport.objects.filter(report_no__in=[no for no, _ago, _seen in REPORTS]).exists():
        return 0
    police, shop = _user(orgs["dz_police"]), _user(orgs["repair_dc"])
    if police is None or shop is None:
        return 0
    clock = clock or Clock.start()
    bikes = list(
        Vehicle.objects.filter(
            status=Vehicle.Status.REGISTERED,
            region_id="371402",
            registered_at__lt=clock.now - dt.timedelta(days=30),
        ).order_by("-registered_at")[: len(REPORTS)]
    )
    if len(bikes) < len(REPORTS):
        return 0
    for vehicle, (report_no, days_ago, seen_days_ago) in zip(bikes, REPORTS, strict=True):
        stolen_report_open(
            user=police,
            frame_no=vehicle.frame_no,
            report_no=report_no,
            reported_at=clock.at(clock.day(days_ago), 21, 40),
        )
        if seen_days_ago is not None:
            repair_record(
                user=shop,
                frame_no=vehicle.frame_no,
                kind="brake_tyre",
                notes="更换刹车片",
                performed_at=clock.at(clock.day(seen_days_ago), 15, 20),
                vehicle_code=vehicle.code,
            )
    from alerts.engine import drain_alert_requests, drain_outbox

    while drain_outbox() + drain_alert_requests():
        pass
    return len(REPORTS)

"""The demo's alerts: department subscriptions, repairs (some of them modifications), and the closed loop in
every state, so the inbox is alive on first start. Runs through the real services and the real rule engine."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from alerts.engine import drain_alert_requests, drain_outbox
from alerts.models import Alert, DepartmentSubscription
from alerts.services import alert_transition
from core.models import Organization, User
from repairs.models import Repair
from repairs.services import repair_record
from vehicles.models import Vehicle
from vehicles.production import batteries_produce


def _drain() -> None:
    while drain_outbox() + drain_alert_requests():
        pass


def _user(orgs, key: str) -> User:
    return User.objects.filter(organization=orgs[key]).order_by("pk").first()


def seed(orgs: dict[str, Organization]) -> int:
    """Returns how many alerts the demo has (0 changes when it was already seeded)."""
    if Repair.objects.exists():
        return Alert.objects.count()
    DepartmentSubscription.objects.get_or_create(organization=orgs["dz_fire"], defaults={"categories": ["battery"]})
    DepartmentSubscription.objects.get_or_create(
        organization=orgs["dz_police"], defaults={"categories": ["speed", "motor"]}
    )
    DepartmentSubscription.objects.get_or_create(organization=orgs["dz_env"], defaults={"categories": ["battery"]})
    _drain()  # the chain's own events (production, sales) first: none of them is a violation

    shop, unqualified = _user(orgs, "repair_dc"), _user(orgs, "repair_yc")
    bikes = list(
        Vehicle.objects.filter(status="registered", region_id="371402", model__code="DQ-S1")
        .filter(registered_at__lt=timezone.now() - dt.timedelta(days=60))
        .order_by("pk")[:60]
    )
    now = timezone.now()
    produced_on = (timezone.localdate() - dt.timedelta(days=200)).isoformat()
    spares = [f"LD3714S{n:09d}" for n in range(1, 9)]
    batteries_produce(
        actor=_user(orgs, "battery_maker"),
        model_code="LD-4830L",
        items=[{"serial": s, "produced_on": produced_on} for s in spares],
    )

    for bike in bikes[:25]:  # ordinary work: brakes and tyres
        repair_record(
            user=shop,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,  # the bike is in the workshop: its QR label is scanned
            kind="brake_tyre",
            notes="更换刹车片",
            performed_at=now - dt.timedelta(days=3),
        )
    for bike in bikes[25:30]:  # speed limiters removed (私自提速)
        repair_record(
            user=shop,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,
            kind="speed_limiter",
            measured_max_speed_kmh="42.0",
            notes="客户要求解除限速",
            performed_at=now - dt.timedelta(days=2),
        )
    for bike in bikes[30:34]:  # bigger motors
        repair_record(
            user=shop,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,
            kind="motor_replacement",
            fitted_motor_power_w=800,
            performed_at=now - dt.timedelta(days=2),
        )
    for bike, spare in zip(bikes[34:38], spares, strict=False):  # batteries enlarged outside the certified pairs
        current = list(bike.batteries.values_list("serial", flat=True))
        repair_record(
            user=shop,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,
            kind="battery_replacement",
            removed_battery_serials=current,
            fitted_battery_serials=[spare],
            notes="扩容换大电池",
            performed_at=now - dt.timedelta(days=40),
        )
    for bike in bikes[38:41]:  # a shop that never filed its qualification
        repair_record(
            user=unqualified,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,
            kind="controller_replacement",
            performed_at=now - dt.timedelta(days=1),
        )
    _drain()

    from alerts.services import removed_batteries_sweep

    removed_batteries_sweep()  # the batteries removed 40 days ago were never handed to a recycler

    # The closed loop in every state.
    regulator = _user(orgs, "dc_msa")
    alerts = list(Alert.objects.filter(regulator=orgs["dc_msa"]).order_by("pk"))
    steps = [
        ["request_rectification"],
        ["request_rectification", "submit_rectification"],
        ["request_rectification", "submit_rectification", "verify"],
        ["request_rectification", "submit_rectification", "verify", "close"],
        ["dismiss"],
        ["dismiss", "reopen"],
    ]
    notes = {
        "request_rectification": "请于 3 日内恢复出厂配置并提交整改照片",
        "submit_rectification": "已恢复限速器，照片见附件",
        "verify": "现场核验：已整改",
        "close": "整改完成，结案",
        "dismiss": "核实为误报",
        "reopen": "复查发现仍未整改",
    }
    for alert, actions in zip(alerts, steps, strict=False):
        for action in actions:
            enterprise = User.objects.filter(organization=alert.organization).first()
            actor = enterprise if action == "submit_rectification" else regulator
            if actor is None:
                break
            alert_transition(user=actor, alert_id=alert.pk, action=action, note=notes[action])
    return Alert.objects.count()

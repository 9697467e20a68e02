"""The rules that spot illegal modifications and broken chains: one registry, each rule a small function.

A rule reads one ledger event and its context, and returns findings. Thresholds come from the catalog's
standards data (catalog.Standard rows), never from literals. Each rule carries its code, bilingual name,
category, severity and the SLA of the closed loop; the engine (alerts/engine.py) applies them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from alerts.models import Category, RuleCode, Severity
from vehicles.models import EventType

# Dispatch within seconds (the Dezhou platform promises 10 minutes); closure deadlines by severity.
DISPATCH_SLA = dt.timedelta(minutes=10)
CLOSURE_SLA = {
    Severity.HIGH: dt.timedelta(days=3),
    Severity.MEDIUM: dt.timedelta(days=7),
    Severity.LOW: dt.timedelta(days=15),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    dedup_key: str
    region_code: str
    evidence: dict
    vehicle_id: int | None = None
    battery_id: int | None = None
    frame_no: str = ""
    battery_serial: str = ""
    organization_id: int | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    severity: str
    on: frozenset[str]  # the event types it reads; empty for rules fed by sweeps or alert requests only
    check: Callable | None = None
    departments: tuple[str, ...] = ()  # department kinds it concerns (copied by subscription category)
    # What an unresolved alert of this rule does to the public verdict (docs/decisions/009): the reason code the QR
    # page shows, on the pages of the subjects named ("vehicle", "battery"); None leaves the verdict alone.
    public_reason: str | None = None
    public_on: frozenset[str] = frozenset()
    # Department kinds that receive every alert of this rule in their region, subscribed or not: a cabinet's
    # thermal alarm goes to the fire brigade, a stolen bike seen to the police (一方预警、多方联动).
    notifies: tuple[str, ...] = ()

    @property
    def closure_sla(self) -> dt.timedelta:
        return CLOSURE_SLA[self.severity]


REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    *,
    name,
    category: str,
    severity: str,
    on: Iterable[str] = (),
    departments=(),
    public_reason: str | None = None,
    public_on: Iterable[str] = ("vehicle",),
    notifies: Iterable[str] = (),
):
    """Register a rule; used as a decorator on its check function (or with on=() for sweep-fed rules)."""

    def register(check: Callable | None) -> Callable | None:
        REGISTRY[code] = Rule(
            code,
            name,
            category,
            severity,
            frozenset(on),
            check,
            tuple(departments),
            public_reason,
            frozenset(public_on) if public_reason else frozenset(),
            tuple(notifies),
        )
        return check

    return register


def _number(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _about_vehicle(
    event, ctx, *, rule_code: str, key: str, evidence: dict, battery=None, organization_id: int | None = None
) -> Finding:
    """A finding about the event's bike; the enterprise concerned is the event's, unless the rule names another."""
    vehicle = ctx.vehicle(event.vehicle_id)
    return Finding(
        rule=rule_code,
        dedup_key=f"{rule_code}:{key}",
        region_code=event.region_code,
        evidence=evidence,
        vehicle_id=event.vehicle_id,
        frame_no=vehicle.frame_no if vehicle else "",
        battery_id=battery.pk if battery else None,
        battery_serial=battery.serial if battery else "",
        organization_id=organization_id or event.organization_id,
    )


@rule(
    RuleCode.MOD_BATTERY_NONSTANDARD,
    name=_("non-standard battery fitted (非标配电池)"),
    category=Category.BATTERY,
    severity=Severity.HIGH,
    on={EventType.BATTERY_FITTED},
    departments=("fire",),
    public_reason="battery_nonstandard",
)
def battery_nonstandard(event, ctx):
    """A battery outside the model's certified pairs, or above its voltage or the largest certified capacity."""
    vehicle, battery = ctx.vehicle(event.vehicle_id), ctx.battery(event.battery_id)
    if vehicle is None or battery is None:
        return []
    reasons = []
    compatible = ctx.compatible_battery_models(vehicle.model_id)
    if battery.model_id not in compatible:
        reasons.append("not_a_certified_pair")
    limit = vehicle.model.standard.max_nominal_voltage_v
    if battery.model.nominal_voltage_v > vehicle.model.nominal_voltage_v or (
        limit is not None and battery.model.nominal_voltage_v > limit
    ):
        reasons.append("voltage_exceeds")
    largest = ctx.largest_certified_capacity(vehicle.model_id)
    if largest is not None and battery.model.capacity_ah > largest:
        reasons.append("capacity_exceeds")
    if not reasons:
        return []
    return [
        _about_vehicle(
            event,
            ctx,
            rule_code=RuleCode.MOD_BATTERY_NONSTANDARD,
            key=f"event:{event.pk}",
            battery=battery,
            evidence={
                "reasons": reasons,
                "battery_model": battery.model.code,
                "battery_voltage_v": str(battery.model.nominal_voltage_v),
                "battery_capacity_ah": str(battery.model.capacity_ah),
                "vehicle_model": vehicle.model.code,
                "vehicle_voltage_v": str(vehicle.model.nominal_voltage_v),
                "standard": vehicle.model.standard.code,
                "standard_max_voltage_v": str(limit) if limit is not None else None,
                "certified_battery_models": sorted(ctx.model_codes(compatible)),
            },
        )
    ]


@rule(
    RuleCode.MOD_SPEED_UNLOCK,
    name=_("speed limiter removed (私自提速)"),
    category=Category.SPEED,
    severity=Severity.HIGH,
    on={EventType.REPAIRED},
    departments=("police",),
    public_reason="speed_unlocked",
)
def speed_unlock(event, ctx):
    vehicle = ctx.vehicle(event.vehicle_id)
    if vehicle is None:
        return []
    payload = event.payload
    limit = vehicle.model.standard.max_design_speed_kmh
    measured = _number(payload.get("measured_max_speed_kmh"))
    reasons = []
    if payload.get("kind") == "speed_limiter":
        reasons.append("speed_limiter_work")
    if measured is not None and limit is not None and measured > limit:
        reasons.append("measured_speed_over_limit")
    if not reasons:
        return []
    return [
        _about_vehicle(
            event,
            ctx,
            rule_code=RuleCode.MOD_SPEED_UNLOCK,
            key=f"repair:{payload.get('repair')}",
            evidence={
                "reasons": reasons,
                "measured_max_speed_kmh": str(measured) if measured else None,
                "limit_kmh": str(limit),
                "standard": vehicle.model.standard.code,
                "repair": payload.get("repair"),
                "kind": payload.get("kind"),
            },
        )
    ]


@rule(
    RuleCode.MOD_MOTOR_POWER,
    name=_("over-power motor fitted (超功率电机)"),
    category=Category.MOTOR,
    severity=Severity.HIGH,
    on={EventType.REPAIRED},
    departments=("police",),
    public_reason="motor_over_power",
)
def motor_power(event, ctx):
    vehicle = ctx.vehicle(event.vehicle_id)
    power = _number(event.payload.get("fitted_motor_power_w"))
    if vehicle is None or power is None:
        return []
    certified, limit = vehicle.model.motor_power_w, vehicle.model.standard.max_motor_power_w
    reasons = []
    if power > certified:
        reasons.append("above_certified_power")
    if limit is not None and power > limit:
        reasons.append("above_standard_limit")
    if not reasons:
        return []
    return [
        _about_vehicle(
            event,
            ctx,
            rule_code=RuleCode.MOD_MOTOR_POWER,
            key=f"repair:{event.payload.get('repair')}",
            evidence={
                "reasons": reasons,
                "fitted_motor_power_w": int(power),
                "certified_power_w": certified,
                "limit_w": limit,
                "standard": vehicle.model.standard.code,
                "repair": event.payload.get("repair"),
            },
        )
    ]


@rule(
    RuleCode.SHOP_UNQUALIFIED,
    name=_("unqualified repair shop (无资质维修)"),
    category=Category.SHOP,
    severity=Severity.MEDIUM,
    on={EventType.REPAIRED},
)
def shop_unqualified(event, ctx):
    if event.payload.get("shop_qualified", True):
        return []
    return [
        _about_vehicle(
            event,
            ctx,
            rule_code=RuleCode.SHOP_UNQUALIFIED,
            key=f"repair:{event.payload.get('repair')}",
            evidence={
                "shop": event.organization_id,
                "repair": event.payload.get("repair"),
                "kind": event.payload.get("kind"),
            },
        )
    ]


@rule(
    RuleCode.BATTERY_DUPLICATE,
    name=_("battery claimed in two places (电池重号)"),
    category=Category.BATTERY,
    severity=Severity.MEDIUM,
    on={EventType.REPAIRED},
    departments=("fire",),
    public_reason="battery_duplicate",
    public_on=("vehicle", "battery"),
)
def battery_duplicate(event, ctx):
    """A repair fits a battery that the ledger has in another bike at the same time."""
    return _flagged_batteries(event, ctx, RuleCode.BATTERY_DUPLICATE, "battery_fitted_elsewhere")


@rule(
    RuleCode.BATTERY_RECYCLED_REAPPEARS,
    name=_("recycled battery reappears (回收电池回流)"),
    category=Category.BATTERY,
    severity=Severity.HIGH,
    on={EventType.REPAIRED},
    departments=("fire", "environment"),
    public_reason="battery_recycled_reappears",
    public_on=("vehicle", "battery"),
)
def battery_recycled_reappears(event, ctx):
    return _flagged_batteries(event, ctx, RuleCode.BATTERY_RECYCLED_REAPPEARS, "battery_recycled")


def _flagged_batteries(event, ctx, rule_code: str, flag: str) -> list[Finding]:
    flags = event.payload.get("battery_flags") or {}
    findings = []
    for serial, battery_flags in flags.items():
        if flag in battery_flags:
            battery = ctx.battery_by_serial(serial)
            findings.append(
                _about_vehicle(
                    event,
                    ctx,
                    rule_code=rule_code,
                    key=f"repair:{event.payload.get('repair')}:{serial}",
                    battery=battery,
                    evidence={"serial": serial, "flags": battery_flags, "repair": event.payload.get("repair")},
                )
            )
    return findings


@rule(
    RuleCode.COMPLAINT,
    name=_("consumer complaint (消费者投诉)"),
    category=Category.COMPLAINT,
    severity=Severity.MEDIUM,
    on={EventType.COMPLAINT},
)
def complaint(event, ctx):
    """A consumer's complaint about a bike; the enterprise concerned is the dealer that sold it (it answers to the
    buyer), none for a bike not sold yet."""
    vehicle = ctx.vehicle(event.vehicle_id)
    return [
        _about_vehicle(
            event,
            ctx,
            rule_code=RuleCode.COMPLAINT,
            key=f"complaint:{event.payload.get('complaint')}",
            evidence={"complaint": event.payload.get("complaint"), "category": event.payload.get("category")},
            organization_id=vehicle.dealer_id if vehicle else None,
        )
    ]


# Fed by alert requests (incoming inspection) and sweeps rather than by one event alone.
rule(
    RuleCode.PRODUCT_UNCERTIFIED,
    name=_("uncertified product (无 CCC / 旧国标)"),
    category=Category.PRODUCT,
    severity=Severity.HIGH,
)(None)
rule(
    RuleCode.PRODUCT_UNREGISTERED,
    name=_("not registered on the platform, possibly counterfeit (未在平台登记)"),
    category=Category.PRODUCT,
    severity=Severity.HIGH,
)(None)
rule(RuleCode.STOCK_MISMATCH, name=_("stock mismatch (进销存不符)"), category=Category.STOCK, severity=Severity.MEDIUM)(
    None
)
# Supervision work (supervision/): raised by its services and sweeps through alert requests.
rule(
    RuleCode.DUTY_OVERDUE,
    name=_("duty record missing (日管控、周排查、月调度)"),
    category=Category.DUTY,
    severity=Severity.LOW,
)(None)
rule(
    RuleCode.INSPECTION_HAZARD,
    name=_("hazard found in an inspection (检查发现隐患)"),
    category=Category.INSPECTION,
    severity=Severity.HIGH,
)(None)
rule(
    RuleCode.SAMPLING_FAILED,
    name=_("failed supervisory sampling (监督抽查不合格)"),
    category=Category.INSPECTION,
    severity=Severity.HIGH,
)(None)
# The rest of the chain: cabinets' alarms (charging/), stolen bikes seen anywhere (vehicles.StolenReport).
rule(
    RuleCode.BATTERY_THERMAL_RISK,
    name=_("battery thermal alarm in a charging cabinet (换电柜热失控预警)"),
    category=Category.BATTERY,
    severity=Severity.HIGH,
    departments=("fire",),
    notifies=("fire",),
)(None)

# Every step of a bike's ledger after it was reported stolen says who had it, where and when; but not the report's
# own steps, nor a complaint (anyone may file one from the QR page: it says nothing of where the bike is).
STOLEN_QUIET = frozenset({EventType.STOLEN_REPORTED, EventType.FOUND, EventType.COMPLAINT})


@rule(
    RuleCode.STOLEN_SEEN,
    name=_("a stolen bike seen (被盗车辆出现)"),
    category=Category.THEFT,
    severity=Severity.HIGH,
    on=frozenset(EventType.values) - STOLEN_QUIET,
    departments=("police",),
    notifies=("police",),
)
def stolen_seen(event, ctx):
    """A bike with an open stolen report turns up: a repair, a sale, a receipt, a cabinet's swap of its battery, a
    take-back, a trade-in, any step after the theft. The alert is about nobody in particular and goes to the police
    of the region the bike was reported stolen in (alerts.routing); the enterprise where it was seen is in the
    evidence, and is not told (it may be the one holding the bike). Scans of its QR page by enterprises come as
    alert requests instead (vehicles.stolen.stolen_scan_seen)."""
    sighting = ctx.stolen_report(event)
    if sighting is None or event.occurred_at < sighting.reported_at:
        return []
    return [
        Finding(
            rule=RuleCode.STOLEN_SEEN,
            dedup_key=f"{RuleCode.STOLEN_SEEN}:event:{event.pk}",
            region_code=sighting.region_code,
            evidence=stolen_evidence(
                sighting,
                enterprise=event.organization_id,
                seen_event=event.type,
                seen_at=event.occurred_at,
                seen_region=event.region_code,
            ),
            vehicle_id=sighting.vehicle_id,
            frame_no=sighting.frame_no,
            battery_id=event.battery_id,
        )
    ]


def stolen_evidence(sighting, *, enterprise: int | None, seen_event: str, seen_at: dt.datetime, seen_region: str):
    """Where a stolen bike was seen (who, what, when, where), beside the report it was seen against."""
    return {
        "report_no": sighting.report_no,
        "reported_at": sighting.reported_at.isoformat(),
        "enterprise": enterprise,
        "seen_event": seen_event,
        "seen_at": seen_at.isoformat(),
        "seen_region": seen_region,
    }


# An enterprise that keeps naming bikes it cannot show (no QR code, no plate): frame numbers are sequential, so a
# shop or recycler guessing them would otherwise reach other people's records.
rule(
    RuleCode.PROOF_FAILED,
    name=_("repeated failed proof that a bike is at hand (冒用车架号)"),
    category=Category.ACCESS,
    severity=Severity.MEDIUM,
)(None)


@dataclass
class RulesByEvent:
    by_type: dict[str, list[Rule]] = field(default_factory=dict)

    @classmethod
    def build(cls) -> RulesByEvent:
        index: dict[str, list[Rule]] = {}
        for registered in REGISTRY.values():
            for event_type in registered.on:
                index.setdefault(event_type, []).append(registered)
        return cls(index)

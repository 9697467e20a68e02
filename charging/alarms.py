"""What a cabinet sees raises alerts (以芯智控): thermal alarms, and batteries that should not be in circulation.

Each finding is an alert request (alerts.AlertRequest), drained by the rule engine with the ledger's events: a
thermal alarm raises BATTERY_THERMAL_RISK, which goes to the regulator of the cabinet's region and to the fire
department of that region (the rule notifies fire); an unknown battery raises PRODUCT_UNREGISTERED, a recycled one
BATTERY_RECYCLED_REAPPEARS, a non-standard one MOD_BATTERY_NONSTANDARD, as the same batteries would at a repair or
an incoming inspection. Requests, not a rule on the `swapped` event: the engine drains requests in the first batch
of every drain, so an alarm is not queued behind the thousands of events of the bulk swaps before it; and an
alarm about a battery whose alert is still open adds to that alert instead of raising another.

Repeated alarms escalate: when a battery has raised n thermal alarms
within 24 hours, its open alert goes n − 1 levels up the regulators (district → city → province), each level an
escalation delivery and a step in its history; the severity stays high. The escalation runs in a task queued
after the swap batch commits, and a sweep every minute catches what a broker outage kept from being queued.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Alert, AlertDelivery, AlertRequest, AlertTransition, RuleCode
from alerts.routing import Router
from catalog.models import BatteryModel, VehicleModel
from catalog.services import battery_standard_for
from charging.models import SwapEvent
from core.models import Organization
from vehicles.models import Battery

if TYPE_CHECKING:
    from charging.chains import Head
    from charging.swaps import Swap

log = logging.getLogger(__name__)

REPEAT_WINDOW = dt.timedelta(hours=24)
# Alarms reported late still count towards the window they happened in, up to this far back.
LOOKBACK = dt.timedelta(days=7)
NONE = SwapEvent.Alarm.NONE.value
THERMAL = RuleCode.BATTERY_THERMAL_RISK.value
CLOSED = (Alert.Status.CLOSED, Alert.Status.DISMISSED)

# Why a battery in a cabinet is flagged (in the `swapped` event's payload and the alert's evidence).
UNKNOWN = "battery_unknown"
RECYCLED = "battery_recycled"
NONSTANDARD = "battery_nonstandard"
FLAG_RULES = {
    UNKNOWN: RuleCode.PRODUCT_UNREGISTERED.value,
    RECYCLED: RuleCode.BATTERY_RECYCLED_REAPPEARS.value,
    NONSTANDARD: RuleCode.MOD_BATTERY_NONSTANDARD.value,
}


@dataclass
class Sightings:
    """What the batch's cabinets saw of each battery: its flags, the reasons it is non-standard, the first swap
    it was seen in and how often."""

    flags: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    first: dict[str, Swap] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    models: dict[int, BatteryModel] = field(default_factory=dict)


def sightings_of(swaps: Sequence[Swap], batteries: dict[str, Head], vehicles: dict[int, Head]) -> Sightings:
    """Flag each battery of the batch: not on the platform, recycled, or non-standard (outside the certified pairs
    of the bike it is fitted in, or reading above its standard's output voltage). Reads only models and
    standards, a few rows whatever the batch's size."""
    seen = Sightings()
    vehicle_models = VehicleModel.objects.select_related("standard").in_bulk({v.model_id for v in vehicles.values()})
    pairs: dict[int, set[int]] = {}
    through = VehicleModel.compatible_battery_models.through.objects.filter(vehiclemodel_id__in=vehicle_models)
    for vehicle_model_id, battery_model_id in through.values_list("vehiclemodel_id", "batterymodel_id"):
        pairs.setdefault(vehicle_model_id, set()).add(battery_model_id)
    # The batch's battery models and those certified with its bikes' models (their capacities bound the pairs).
    battery_models = BatteryModel.objects.in_bulk({b.model_id for b in batteries.values()}.union(*pairs.values()))
    seen.models = battery_models
    output_limits: dict[str, object] = {}

    for swap in swaps:
        for serial in (swap.battery_in, swap.battery_out):
            if not serial:
                continue
            seen.count[serial] = seen.count.get(serial, 0) + 1
            if serial in seen.first:
                continue
            seen.first[serial] = swap
            battery = batteries.get(serial)
            if battery is None:
                seen.flags[serial] = [UNKNOWN]
                continue
            flags = [RECYCLED] if battery.status == Battery.Status.RECYCLED else []
            model = battery_models[battery.model_id]
            reasons = []
            vehicle = vehicles.get(battery.vehicle_id) if battery.vehicle_id else None
            if vehicle is not None:
                reasons += _pair_reasons(model, vehicle_models[vehicle.model_id], pairs, battery_models)
            if swap.voltage_v is not None and serial == swap.reading_serial:
                if model.chemistry not in output_limits:
                    output_limits[model.chemistry] = battery_standard_for(model.chemistry).max_output_voltage_v
                limit = output_limits[model.chemistry]
                if limit is not None and swap.voltage_v > limit:
                    reasons.append("measured_voltage_exceeds")
            if reasons:
                flags.append(NONSTANDARD)
                seen.reasons[serial] = reasons
            if flags:
                seen.flags[serial] = flags
    return seen


def _pair_reasons(
    model: BatteryModel, vehicle_model: VehicleModel, pairs: dict[int, set[int]], known: dict[int, BatteryModel]
) -> list[str]:
    """The checks of the MOD_BATTERY_NONSTANDARD rule (alerts/rules.py) on a battery fitted in a bike."""
    compatible = pairs.get(vehicle_model.pk, set())
    reasons = []
    if model.pk not in compatible:
        reasons.append("not_a_certified_pair")
    limit = vehicle_model.standard.max_nominal_voltage_v
    if model.nominal_voltage_v > vehicle_model.nominal_voltage_v or (
        limit is not None and model.nominal_voltage_v > limit
    ):
        reasons.append("voltage_exceeds")
    capacities = [known[pk].capacity_ah for pk in compatible]
    if capacities and model.capacity_ah > max(capacities):
        reasons.append("capacity_exceeds")
    return reasons


def _station_evidence(swap: Swap) -> dict:
    return {
        "station": swap.station.id,
        "station_code": swap.station.code,
        "station_name": swap.station.name,
        "swap": swap.id,
        "occurred_at": swap.occurred_at.isoformat(),
    }


def requests_record(
    operator: Organization,
    swaps: Sequence[Swap],
    batteries: dict[str, Head],
    vehicles: dict[int, Head],
    sightings: Sightings,
) -> int:
    """The alert requests of a batch, in one INSERT: one per thermal alarm, and one per flagged battery and rule
    (however often the batch shows it). A batch sent again adds none (unique per source, rule and subject)."""

    def frame_no(serial: str) -> str:
        battery = batteries.get(serial)
        vehicle = vehicles.get(battery.vehicle_id) if battery is not None and battery.vehicle_id else None
        return vehicle.key if vehicle is not None else ""

    requests = []
    for swap in swaps:
        if swap.alarm == NONE:
            continue
        serial = swap.reading_serial
        requests.append(
            AlertRequest(
                rule=THERMAL,
                region_code=swap.station.region_code,
                organization=operator,
                frame_no=frame_no(serial),
                battery_serial=serial,
                source=f"swap:{swap.id}",
                evidence={
                    "alarm": swap.alarm,
                    "temperature_c": None if swap.temperature_c is None else str(swap.temperature_c),
                    "voltage_v": None if swap.voltage_v is None else str(swap.voltage_v),
                    "direction": "in" if serial == swap.battery_in else "out",
                    **_station_evidence(swap),
                },
            )
        )
    for serial, flags in sightings.flags.items():
        swap = sightings.first[serial]
        battery = batteries.get(serial)
        for flag in flags:
            evidence = {
                "reasons": sightings.reasons.get(serial, [flag]) if flag == NONSTANDARD else [flag],
                "sightings": sightings.count[serial],
                "direction": "in" if serial == swap.battery_in else "out",
                **_station_evidence(swap),
            }
            if battery is not None:
                evidence["battery_model"] = sightings.models[battery.model_id].code
            requests.append(
                AlertRequest(
                    rule=FLAG_RULES[flag],
                    region_code=swap.station.region_code,
                    organization=operator,
                    frame_no=frame_no(serial),
                    battery_serial=serial,
                    source=f"swap:{swap.id}",
                    evidence=evidence,
                )
            )
    if requests:
        AlertRequest.objects.bulk_create(requests, ignore_conflicts=True)
    return len(requests)


# Repeated alarms ----------------------------------------------------------------------------------------------


def alarm_times(subjects: Iterable[tuple[str, int | None, str]], *, since: dt.datetime) -> dict[str, list]:
    """When each battery raised thermal alarms since `since`. Subjects are (serial, battery id or None, region):
    a battery on the platform is found through the swaps' battery indexes, an unknown serial among the alarms of
    its region (the partial index of alarms)."""
    subjects = list(subjects)
    ids = {pk for _serial, pk, _region in subjects if pk}
    unknown = {(serial, region) for serial, pk, region in subjects if not pk}
    about = Q()
    if ids:
        about |= Q(battery_in_id__in=ids) | Q(battery_out_id__in=ids)
    if unknown:
        regions, serials = {r for _s, r in unknown}, {s for s, _r in unknown}
        about |= Q(region_code__in=regions) & (Q(battery_in_serial__in=serials) | Q(battery_out_serial__in=serials))
    if not about:
        return {}
    wanted = {serial for serial, _pk, _region in subjects}
    times: dict[str, list] = {}
    rows = (
        SwapEvent.objects.filter(about, occurred_at__gte=since)
        .exclude(alarm=NONE)
        .values_list("battery_in_serial", "battery_out_serial", "occurred_at")
    )
    for battery_in, battery_out, at in rows:
        subject = battery_in or battery_out  # the battery the alarm is about (Swap.reading_serial)
        if subject in wanted:
            times.setdefault(subject, []).append(at)
    return times


def alarms_within_window(times: list) -> int:
    """How many alarms fell in the 24 hours up to the latest one."""
    if not times:
        return 0
    latest = max(times)
    return sum(1 for at in times if at > latest - REPEAT_WINDOW)


def repeated_alarm_serials(swaps: Sequence[Swap], batteries: dict[str, Head]) -> set[str]:
    """The batteries of this batch's alarms that have alarmed more than once within 24 hours (the batch's own
    swaps included: they are written already)."""
    alarmed = [swap for swap in swaps if swap.alarm != NONE]
    if not alarmed:
        return set()
    subjects = {}
    for swap in alarmed:
        battery = batteries.get(swap.reading_serial)
        subjects[swap.reading_serial] = (swap.reading_serial, battery.id if battery else None, swap.station.region_code)
    since = min(swap.occurred_at for swap in alarmed) - REPEAT_WINDOW
    times = alarm_times(subjects.values(), since=since)
    return {serial for serial, at in times.items() if alarms_within_window(at) > 1}


def escalation_queue(serials: list[str]) -> None:
    """After commit: escalate the alerts of these batteries' repeated alarms. With the broker down, the sweep
    does it within the minute."""
    from charging.tasks import alarms_escalate

    try:
        alarms_escalate.delay(serials)
    except Exception:  # the broker being down must not fail a batch that already committed
        log.warning("alarm escalation not queued; the sweep will escalate", exc_info=True)


def recently_alarmed(now: dt.datetime) -> list[str]:
    rows = (
        SwapEvent.objects.filter(occurred_at__gte=now - 2 * REPEAT_WINDOW)
        .exclude(alarm=NONE)
        .values_list("battery_in_serial", "battery_out_serial")
    )
    return sorted({battery_in or battery_out for battery_in, battery_out in rows})


@transaction.atomic
def alarm_escalations_apply(*, serials: Sequence[str] | None = None, now: dt.datetime | None = None):
    """Escalate the open thermal alerts of batteries with repeated alarms as far as their alarms within 24 hours
    say (n alarms: n − 1 levels up). Idempotent: levels only go up, each delivery is recorded once.

    Returns (alerts escalated, the serials whose alarms wait for their alert: requests not drained yet)."""
    now = now or timezone.now()
    serials = recently_alarmed(now) if serials is None else list(serials)
    if not serials:
        return 0, set()
    alerts = list(
        Alert.objects.select_for_update(of=("self",))
        .select_related("regulator")
        .filter(rule=THERMAL, battery_serial__in=serials, event_id__isnull=True)
        .exclude(status__in=CLOSED)
        .order_by("id")
    )
    times = alarm_times({(a.battery_serial, a.battery_id, a.region_code) for a in alerts}, since=now - LOOKBACK)
    router, escalated = Router(), 0
    for alert in alerts:
        count = alarms_within_window(times.get(alert.battery_serial, []))
        if count - 1 > alert.escalation_level and _escalate(alert, count - 1, count, router, now):
            escalated += 1
    without_alert = set(serials) - {alert.battery_serial for alert in alerts}
    waiting = set(
        AlertRequest.objects.filter(
            rule=THERMAL, battery_serial__in=without_alert, processed_at__isnull=True
        ).values_list("battery_serial", flat=True)
    )
    return escalated, waiting


def _escalate(alert: Alert, target: int, count: int, router: Router, now: dt.datetime) -> bool:
    """Deliver the alert to the regulators above the one that has it now, up to `target` levels."""
    top = (
        AlertDelivery.objects.filter(alert=alert, reason=AlertDelivery.Reason.ESCALATION)
        .select_related("organization")
        .order_by("-delivered_at", "-id")
        .first()
    )
    current = top.organization if top else alert.regulator
    level = alert.escalation_level
    while level < target and current is not None:
        parent = router.parent_regulator_of(current)
        if parent is None:
            break
        AlertDelivery.objects.get_or_create(alert=alert, organization=parent, reason=AlertDelivery.Reason.ESCALATION)
        AlertTransition.objects.create(
            alert=alert,
            action="escalate",
            from_status=alert.status,
            to_status=alert.status,
            note=_("%(regulator)s: %(count)d thermal alarms of this battery within 24 hours")
            % {"regulator": parent.name, "count": count},
        )
        current, level = parent, level + 1
    if level == alert.escalation_level:
        return False
    Alert.objects.filter(pk=alert.pk).update(escalation_level=level, escalated_at=now)
    return True

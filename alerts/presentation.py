"""How an alert reads to people: its rule's name, its deadline in words, and its evidence with findings in words,
enterprises by name and ids linked to where they can be read. Shared by the alert pages and their exports."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Alert, ComplaintCategory, RuleCode
from alerts.rules import REGISTRY
from core.models import Organization, Region
from vehicles.models import EventType


def region_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def rule_name(code: str) -> str:
    rule = REGISTRY.get(code)
    return str(rule.name) if rule else code


def sla_of(alert: Alert, now: dt.datetime) -> dict:
    """The closure deadline as people read it: time left, or how long overdue (closed alerts: when closed)."""
    if not alert.is_open:
        return {"state": "closed", "text": _("closed"), "at": alert.closed_at}
    if alert.due_at >= now:
        return {"state": "due", "text": _("%(time)s left") % {"time": timeuntil(alert.due_at, now)}, "at": alert.due_at}
    return {
        "state": "overdue",
        "text": _("overdue by %(time)s") % {"time": timesince(alert.due_at, now)},
        "at": alert.due_at,
    }


EVIDENCE_LABELS = {
    "reasons": gettext_lazy("Findings"),
    "reason": gettext_lazy("Finding"),
    "battery_model": gettext_lazy("Battery model"),
    "battery_voltage_v": gettext_lazy("Battery voltage (V)"),
    "battery_capacity_ah": gettext_lazy("Battery capacity (Ah)"),
    "vehicle_model": gettext_lazy("Vehicle model"),
    "vehicle_voltage_v": gettext_lazy("Vehicle voltage (V)"),
    "standard": gettext_lazy("Standard"),
    "standard_max_voltage_v": gettext_lazy("Standard's maximum voltage (V)"),
    "certified_battery_models": gettext_lazy("Certified battery models of this bike"),
    "measured_max_speed_kmh": gettext_lazy("Measured maximum speed (km/h)"),
    "limit_kmh": gettext_lazy("Speed limit (km/h)"),
    "fitted_motor_power_w": gettext_lazy("Fitted motor power (W)"),
    "certified_power_w": gettext_lazy("Certified motor power (W)"),
    "limit_w": gettext_lazy("Power limit of the standard (W)"),
    "repair": gettext_lazy("Repair record"),
    "kind": gettext_lazy("Kind of repair"),
    "shop": gettext_lazy("Repair shop"),
    "dealer": gettext_lazy("Dealer"),
    "supplier": gettext_lazy("Supplier"),
    "serial": gettext_lazy("Battery code"),
    "flags": gettext_lazy("Flags"),
    "complaint": gettext_lazy("Complaint"),
    "category": gettext_lazy("Category"),
    "days": gettext_lazy("Days allowed"),
    "source": gettext_lazy("Source"),
    "enterprise": gettext_lazy("Enterprise"),
    "failed_proofs": gettext_lazy("Failed proofs"),
    "window_hours": gettext_lazy("Within (hours)"),
    "frame_nos": gettext_lazy("Frame numbers tried"),
    "duty": gettext_lazy("Duty"),
    "period": gettext_lazy("Period"),
    "period_start": gettext_lazy("Period starts"),
    "period_end": gettext_lazy("Period ends"),
    "hazards_found": gettext_lazy("Hazards found"),
    "plan": gettext_lazy("Inspection plan"),
    "task": gettext_lazy("Inspection task"),
    "actions": gettext_lazy("Actions taken"),
    "report_no": gettext_lazy("Police report number"),
    "reported_at": gettext_lazy("Reported stolen at"),
    "seen_event": gettext_lazy("Seen in"),
    "seen_at": gettext_lazy("Seen at"),
    "seen_region": gettext_lazy("Seen in region"),
    "alarm": gettext_lazy("Alarm"),
    "temperature_c": gettext_lazy("Temperature (°C)"),
    "voltage_v": gettext_lazy("Voltage (V)"),
    "direction": gettext_lazy("Battery"),
    "station_name": gettext_lazy("Charging cabinet"),
    "station_code": gettext_lazy("Cabinet code"),
    "occurred_at": gettext_lazy("At"),
    "sightings": gettext_lazy("Times seen in cabinets"),
    "occurrences": gettext_lazy("Times seen"),
    "repeats": gettext_lazy("Seen again while open"),
    "batch_no": gettext_lazy("Batch number"),
    "model_kind": gettext_lazy("Kind of product"),
    "model": gettext_lazy("Model"),
    "model_name": gettext_lazy("Model name"),
    "sampled_at": gettext_lazy("Sampled on"),
    "failed_items": gettext_lazy("Failed items"),
    "lab_report_no": gettext_lazy("Lab report number"),
    "regulator": gettext_lazy("Regulator"),
}

FINDING_TEXT = {
    "not_a_certified_pair": gettext_lazy("The battery is not a certified pair (标配) of this bike's model."),
    "voltage_exceeds": gettext_lazy("The battery's voltage is above the bike's or the standard's limit."),
    "capacity_exceeds": gettext_lazy("The battery's capacity is above the largest certified for this model."),
    "speed_limiter_work": gettext_lazy("Work on the speed limiter was recorded."),
    "measured_speed_over_limit": gettext_lazy("The measured maximum speed is above the standard's limit."),
    "above_certified_power": gettext_lazy("The motor's power is above the model's certified power."),
    "above_standard_limit": gettext_lazy("The motor's power is above the standard's limit."),
    "battery_fitted_elsewhere": gettext_lazy("The battery is recorded in another bike at the same time."),
    "battery_recycled": gettext_lazy("The battery is recorded as recycled."),
    "sold_but_never_received": gettext_lazy("Sold, but never received through incoming inspection."),
    "held_but_never_received": gettext_lazy("Held in stock, but never received through incoming inspection."),
    "removed_battery_not_handed_over": gettext_lazy("A removed battery was not handed to recycling in time."),
    "trade_in_not_handed_over": gettext_lazy(
        "An old bike traded in (以旧换新) was not handed to a recycler within 30 days of the trade-in."
    ),
    "battery_unknown": gettext_lazy("The battery is not on record: no maker registered its code."),
    "measured_voltage_exceeds": gettext_lazy("The cabinet measured a voltage above the battery's certified one."),
}


def finding_text(code) -> str:
    if code in FINDING_TEXT:
        return str(FINDING_TEXT[code])
    from dealers.forms import REASON_TEXT  # the reasons of incoming inspection (PRODUCT_UNCERTIFIED)

    return str(REASON_TEXT.get(code, code))


# Which way a battery went in a cabinet's swap.
DIRECTIONS = {
    "in": gettext_lazy("put into the cabinet by a rider"),
    "out": gettext_lazy("taken out of the cabinet by a rider"),
}
# Evidence keys that hold an organization's id.
ORGANIZATION_KEYS = ("shop", "dealer", "supplier", "enterprise", "regulator")
# Where a stolen bike was seen besides its ledger's steps (alerts.rules.stolen_seen, vehicles.stolen).
SEEN_IN = {"public_page_scan": gettext_lazy("a scan of its QR page by an enterprise")}


def source_text(source: str) -> str:
    """A request's source in words: "receipt:12" → 进货查验单 #12."""
    kind, _sep, ref = str(source).partition(":")
    label = SOURCE_LABELS.get(kind)
    if kind in {"duty", "scan"}:  # duty:<period>:<enterprise>, scan:<day>:<enterprise>: the evidence names it
        ref = ref.partition(":")[0]
    if kind == "proof":  # proof:<enterprise>:<yyyymmdd>: the day's failed proofs
        day = ref.partition(":")[2]
        ref = f"{day[:4]}-{day[4:6]}-{day[6:]}" if len(day) == 8 else day
    return _("%(what)s #%(ref)s") % {"what": label, "ref": ref} if label and ref else str(source)


SOURCE_LABELS = {
    "receipt": gettext_lazy("Incoming inspection"),
    "repair": gettext_lazy("Repair record"),
    "complaint": gettext_lazy("Complaint"),
    "recycling": gettext_lazy("Recycling record"),
    "duty": gettext_lazy("Missing duty record"),
    "inspection": gettext_lazy("Inspection task"),
    "scan": gettext_lazy("QR page scan"),
    "swap": gettext_lazy("Swap record"),
    "sampling": gettext_lazy("Supervisory sampling"),
    "proof": gettext_lazy("Failed proofs that a bike is at hand"),
}


def _evidence_value(key: str, value, alert: Alert, names: dict[int, str]):
    if value in (None, "", [], {}):
        return None
    if key in {"reasons", "reason", "flags"}:
        items = value if isinstance(value, list) else [value]
        return [finding_text(item) for item in items]
    if key in ORGANIZATION_KEYS and isinstance(value, int):
        return names.get(value, str(value))
    if key == "category" and alert.rule == RuleCode.COMPLAINT:
        return str(ComplaintCategory(value).label) if value in ComplaintCategory.values else str(value)
    if key == "source":
        return source_text(value)
    if key in {"seen_at", "reported_at", "occurred_at"}:
        return local_text(parse_datetime(str(value))) or str(value)
    if key == "alarm":
        from charging.models import SwapEvent

        return str(dict(SwapEvent.Alarm.choices).get(value, value))
    if key == "direction":
        return str(DIRECTIONS.get(value, value))
    if key in {"station", "swap"}:
        return None  # the cabinet is named by its code and name; the swap by its time
    if key == "seen_event":
        return str(SEEN_IN.get(value) or dict(EventType.choices).get(value, value))
    if key == "seen_region":
        return region_names([value]).get(value, value)
    if key == "failed_items" and isinstance(value, list):
        return [str(item) for item in value]
    if key == "model_kind" and alert.rule == RuleCode.SAMPLING_FAILED:
        from supervision.models import ModelKind

        return str(ModelKind(value).label) if value in ModelKind.values else str(value)
    if key == "duty" and alert.rule == RuleCode.DUTY_OVERDUE:
        from supervision.models import DutyKind

        return str(DutyKind(value).label) if value in DutyKind.values else str(value)
    if key == "actions" and alert.rule == RuleCode.INSPECTION_HAZARD and isinstance(value, list):
        from supervision.models import EnforcementAction

        labels = dict(EnforcementAction.Kind.choices)
        return [str(labels.get(kind, kind)) for kind in value]
    if key == "repeats" and isinstance(value, list):
        return [
            " · ".join(
                part
                for part in (
                    local_text(parse_datetime(str(r.get("at", "")))),
                    source_text(r.get("source", "")),
                    names.get(r.get("dealer") or r.get("enterprise"), ""),
                )
                if part
            )
            for r in value
            if isinstance(r, dict)
        ]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _evidence_url(key: str, value, alert: Alert, *, desk: bool, complaint_shown: bool) -> str | None:
    """Where an id in the evidence can be read: the complaint on this page, or the repair record."""
    if key == "complaint" and complaint_shown:
        return "#complaint"
    if key == "station_name" and desk and isinstance(alert.evidence.get("station"), int):
        return reverse("charging-cabinet", args=[alert.evidence["station"]])  # 404 outside the jurisdiction
    if key == "task" and isinstance(value, int) and desk and alert.rule == RuleCode.INSPECTION_HAZARD:
        return reverse("work-inspection", args=[value])  # the inspection's page (404 outside the jurisdiction)
    if key == "repair" and isinstance(value, int):
        if desk:
            return reverse("records-repair", args=[value])
        if alert.organization is not None and alert.organization.kind == "repair_shop":
            return reverse("repair-detail", args=[value])  # the shop's own record
    return None


def _organization_names(alert: Alert) -> dict[int, str]:
    evidence = alert.evidence or {}
    ids = {evidence.get(k) for k in ORGANIZATION_KEYS}
    ids |= {r.get(k) for r in evidence.get("repeats") or [] if isinstance(r, dict) for k in ("dealer", "enterprise")}
    ids = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    return dict(Organization.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def evidence_rows(alert: Alert, *, desk: bool = False, complaint_shown: bool = False) -> list[dict]:
    """The evidence as label / value pairs (findings and sources in words, enterprises by name), known keys first,
    in a stable order; an id that can be read elsewhere links there."""
    evidence = alert.evidence or {}
    order = [k for k in EVIDENCE_LABELS if k in evidence] + sorted(k for k in evidence if k not in EVIDENCE_LABELS)
    names = _organization_names(alert)
    rows = []
    for key in order:
        value = _evidence_value(key, evidence[key], alert, names)
        if value is None:
            continue
        label = EVIDENCE_LABELS.get(key) or key.replace("_", " ")
        rows.append(
            {
                "key": key,
                "label": str(label),
                "value": value,
                "is_list": isinstance(value, list),
                "url": _evidence_url(key, evidence[key], alert, desk=desk, complaint_shown=complaint_shown),
            }
        )
    return rows


def local_text(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""

"""Incoming inspection (进货查验): the verdict on each scanned bike or battery, without writing anything.

Used by the inspection service (with the rows locked) and by the counter's live check before confirming.
"""

from __future__ import annotations

import datetime as dt

from catalog.compliance import (
    CERTIFICATE_EXPIRED,
    OLD_STANDARD_PAST_CUTOFF,
    UNCERTIFIED,
    battery_model_problem,
    vehicle_model_problem,
)
from core.models import Organization, OrganizationKind
from vehicles.codes import normalise_serial
from vehicles.models import Battery, Vehicle

UNKNOWN = "unknown"
RECYCLED = "recycled"
ALREADY_SOLD = "already_sold"
IN_ANOTHER_STOCK = "in_another_stock"
ALREADY_IN_STOCK = "already_in_your_stock"
NOT_FROM_SUPPLIER = "not_from_supplier"
DUPLICATE = "duplicate_in_receipt"

SUPPLIER_KINDS = {OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER, OrganizationKind.DEALER}
CERT_REASONS = {UNCERTIFIED, CERTIFICATE_EXPIRED, OLD_STANDARD_PAST_CUTOFF, UNKNOWN}


def _holder_reasons(holder_id: int | None, dealer: Organization, supplier: Organization) -> list[str]:
    if holder_id == dealer.pk:
        return [ALREADY_IN_STOCK]
    if holder_id != supplier.pk:
        # Held by someone other than the supplier: the same item claimed in two places.
        return [IN_ANOTHER_STOCK if holder_id is not None else NOT_FROM_SUPPLIER]
    return []


def _vehicle_reasons(vehicle: Vehicle | None, dealer, supplier, day: dt.date) -> list[str]:
    if vehicle is None:
        return [UNKNOWN]
    if vehicle.status in {Vehicle.Status.SCRAPPED, Vehicle.Status.RECYCLED}:
        return [RECYCLED]
    if vehicle.status in {Vehicle.Status.REGISTERED, Vehicle.Status.CANCELLED}:
        return [ALREADY_SOLD]
    reasons = _holder_reasons(vehicle.holder_id, dealer, supplier)
    problem = vehicle_model_problem(vehicle.model, day)
    return reasons + ([problem] if problem else [])


def _battery_reasons(battery: Battery | None, dealer, supplier, day: dt.date) -> list[str]:
    if battery is None:
        return [UNKNOWN]
    if battery.status == Battery.Status.RECYCLED:
        return [RECYCLED]
    if battery.vehicle_id is not None:
        return [IN_ANOTHER_STOCK]
    reasons = _holder_reasons(battery.holder_id, dealer, supplier)
    problem = battery_model_problem(battery.model, day)
    return reasons + ([problem] if problem else [])


def inspect_items(
    *,
    dealer: Organization,
    supplier: Organization,
    frame_nos: list[str],
    battery_serials: list[str],
    day: dt.date,
    lock: bool = False,
) -> list[tuple[str, str, Vehicle | Battery | None, list[str]]]:
    """(kind, ref, the row or None, reasons) per scanned code, in scan order; no reasons means accepted."""
    frame_nos = [str(f).strip().upper() for f in frame_nos]
    serials = [normalise_serial(s) for s in battery_serials]
    vehicles = Vehicle.objects.select_related("model__standard").filter(frame_no__in=frame_nos).order_by("pk")
    batteries = Battery.objects.select_related("model").filter(serial__in=serials).order_by("pk")
    if lock:
        vehicles, batteries = vehicles.select_for_update(of=("self",)), batteries.select_for_update(of=("self",))
    by_frame = {v.frame_no: v for v in vehicles}
    by_serial = {b.serial: b for b in batteries}

    verdicts, seen = [], set()
    for kind, refs, table, check in (
        ("vehicle", frame_nos, by_frame, _vehicle_reasons),
        ("battery", serials, by_serial, _battery_reasons),
    ):
        for ref in refs:
            thing = table.get(ref)
            reasons = [DUPLICATE] if (kind, ref) in seen else check(thing, dealer, supplier, day)
            seen.add((kind, ref))
            verdicts.append((kind, ref, thing, reasons))
    return verdicts

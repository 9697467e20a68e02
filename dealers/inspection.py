"""Incoming inspection (进货查验): the verdict on each scanned bike or battery, without writing anything.

Used by the inspection service (with the rows locked) and by the counter's live check before confirming.

A bike fitted with batteries at the factory comes with them: each fitted battery gets its own verdict right after
its bike (scanned or not), and bike and batteries are accepted or refused together. An item shipped to the
receiver (in transit, dealers/shipments.py) is accepted like an item still held by the supplier; one shipped to
someone else is refused.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from catalog.compliance import (
    CERTIFICATE_EXPIRED,
    OLD_STANDARD_PAST_CUTOFF,
    UNCERTIFIED,
    battery_model_problem,
    vehicle_model_problem,
)
from core.models import Organization, OrganizationKind
from dealers.models import ShipmentItem
from vehicles.codes import normalise_serial
from vehicles.models import Battery, Vehicle

UNKNOWN = "unknown"
RECYCLED = "recycled"
ALREADY_SOLD = "already_sold"
IN_ANOTHER_STOCK = "in_another_stock"
ALREADY_IN_STOCK = "already_in_your_stock"
NOT_FROM_SUPPLIER = "not_from_supplier"
DUPLICATE = "duplicate_in_receipt"
SHIPPED_TO_ANOTHER = "shipped_to_another"
# A battery fitted in a bike of this delivery (or of the receiver's stock) that was scanned without its bike.
FITTED_IN_VEHICLE = "fitted_in_vehicle"
# Refused only because the other part of the unit is: the bike's or the battery's own reasons tell why.
FITTED_BATTERY_REFUSED = "fitted_battery_refused"
VEHICLE_REFUSED = "vehicle_refused"

SUPPLIER_KINDS = {OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER, OrganizationKind.DEALER}
CERT_REASONS = {UNCERTIFIED, CERTIFICATE_EXPIRED, OLD_STANDARD_PAST_CUTOFF, UNKNOWN}
# Scanning slips: refused without a ledger event or an alert.
SLIPS = {DUPLICATE, FITTED_IN_VEHICLE}
# Reasons that only point at another item's refusal: that item's alert covers them.
CONSEQUENTIAL = {FITTED_BATTERY_REFUSED, VEHICLE_REFUSED}
# A bike not yet sold: its fitted batteries were fitted at the factory and travel with it.
_UNSOLD = {Vehicle.Status.PRODUCED, Vehicle.Status.IN_STOCK, Vehicle.Status.IN_TRANSIT}


def _holder_reasons(holder_id: int | None, dealer: Organization, supplier: Organization, receiver_id=None) -> list[str]:
    if holder_id == dealer.pk:
        return [ALREADY_IN_STOCK]
    if holder_id != supplier.pk:
        # Held by someone other than the supplier: the same item claimed in two places.
        return [IN_ANOTHER_STOCK if holder_id is not None else NOT_FROM_SUPPLIER]
    if receiver_id is not None and receiver_id != dealer.pk:
        return [SHIPPED_TO_ANOTHER]
    return []


def _vehicle_reasons(vehicle: Vehicle | None, dealer, supplier, day: dt.date, receiver_id=None) -> list[str]:
    if vehicle is None:
        return [UNKNOWN]
    if vehicle.status in {Vehicle.Status.SCRAPPED, Vehicle.Status.RECYCLED}:
        return [RECYCLED]
    if vehicle.status in {Vehicle.Status.REGISTERED, Vehicle.Status.CANCELLED}:
        return [ALREADY_SOLD]
    reasons = _holder_reasons(vehicle.holder_id, dealer, supplier, receiver_id)
    problem = vehicle_model_problem(vehicle.model, day)
    return reasons + ([problem] if problem else [])


def _battery_reasons(battery: Battery | None, dealer, supplier, day: dt.date, receiver_id=None) -> list[str]:
    if battery is None:
        return [UNKNOWN]
    if battery.status == Battery.Status.RECYCLED:
        return [RECYCLED]
    if battery.vehicle_id is not None:
        bike = battery.vehicle
        if bike.status in _UNSOLD and bike.holder_id in {supplier.pk, dealer.pk}:
            return [FITTED_IN_VEHICLE]  # it comes with its bike: scan the bike
        return [IN_ANOTHER_STOCK]
    reasons = _holder_reasons(battery.holder_id, dealer, supplier, receiver_id)
    problem = battery_model_problem(battery.model, day)
    return reasons + ([problem] if problem else [])


def _fitted_reasons(battery: Battery, day: dt.date) -> list[str]:
    """A factory-fitted battery's own problems; where it is goes with its bike."""
    problem = battery_model_problem(battery.model, day)
    return [problem] if problem else []


def _receivers_in_transit(vehicles, batteries) -> dict[tuple[str, int], int]:
    """(kind, id) → the receiver named by the open shipment of each item in transit."""
    vehicle_ids = [v.pk for v in vehicles if v.status == Vehicle.Status.IN_TRANSIT]
    battery_ids = [b.pk for b in batteries if b.status == Battery.Status.IN_TRANSIT]
    if not vehicle_ids and not battery_ids:
        return {}
    open_items = ShipmentItem.objects.filter(received_at__isnull=True, receipt__isnull=True).filter(
        Q(vehicle_id__in=vehicle_ids) | Q(battery_id__in=battery_ids)
    )
    return {
        ("vehicle", vehicle_id) if vehicle_id else ("battery", battery_id): receiver_id
        for vehicle_id, battery_id, receiver_id in open_items.values_list(
            "vehicle_id", "battery_id", "shipment__receiver_id"
        )
    }


def inspect_items(
    *,
    dealer: Organization,
    supplier: Organization,
    frame_nos: list[str],
    battery_serials: list[str],
    day: dt.date,
    lock: bool = False,
) -> list[tuple[str, str, Vehicle | Battery | None, list[str]]]:
    """(kind, ref, the row or None, reasons) per scanned code, in scan order, each bike followed by the batteries
    fitted in it at the factory that were not scanned; no reasons means accepted.

    `dealer` is the receiver (a dealer, or a vehicle maker or operator receiving batteries). A fitted battery's
    row comes with its `vehicle` set to the very bike object of the list, so that the service appends the events
    of both to one chain head.
    """
    frame_nos = [str(f).strip().upper() for f in frame_nos]
    serials = [normalise_serial(s) for s in battery_serials]
    vehicles = Vehicle.objects.select_related("model__standard").filter(frame_no__in=frame_nos).order_by("pk")
    if lock:
        vehicles = vehicles.select_for_update(of=("self",))
    by_frame = {v.frame_no: v for v in vehicles}
    unsold = {v.pk: v for v in by_frame.values() if v.status in _UNSOLD}
    batteries = (
        Battery.objects.select_related("model", "vehicle")
        .filter(Q(serial__in=serials) | Q(vehicle_id__in=list(unsold)))
        .order_by("pk")
    )
    if lock:
        batteries = batteries.select_for_update(of=("self",))
    by_serial, fitted_in = {}, {}
    for battery in batteries:
        by_serial[battery.serial] = battery
        if battery.vehicle_id in unsold:
            battery.vehicle = unsold[battery.vehicle_id]
            fitted_in.setdefault(battery.vehicle_id, []).append(battery)
    receivers = _receivers_in_transit(by_frame.values(), by_serial.values())

    verdicts, seen, scanned = [], set(), set(serials)
    unit_reasons: dict[int, list[str]] = {}  # a fitted battery's verdict, decided with its bike's
    for ref in frame_nos:
        vehicle = by_frame.get(ref)
        if ("vehicle", ref) in seen:
            verdicts.append(("vehicle", ref, vehicle, [DUPLICATE]))
            continue
        seen.add(("vehicle", ref))
        receiver_id = receivers.get(("vehicle", vehicle.pk)) if vehicle else None
        own = _vehicle_reasons(vehicle, dealer, supplier, day, receiver_id)
        fitted = fitted_in.get(vehicle.pk, []) if vehicle else []
        fitted_own = [_fitted_reasons(battery, day) for battery in fitted]
        verdicts.append(("vehicle", ref, vehicle, own + ([FITTED_BATTERY_REFUSED] if any(fitted_own) else [])))
        for battery, reasons in zip(fitted, fitted_own, strict=True):
            unit_reasons[battery.pk] = reasons + ([VEHICLE_REFUSED] if own else [])
            if battery.serial not in scanned:
                verdicts.append(("battery", battery.serial, battery, unit_reasons[battery.pk]))
    for ref in serials:
        battery = by_serial.get(ref)
        if ("battery", ref) in seen:
            reasons = [DUPLICATE]
        elif battery is not None and battery.pk in unit_reasons:
            reasons = unit_reasons[battery.pk]
        else:
            receiver_id = receivers.get(("battery", battery.pk)) if battery else None
            reasons = _battery_reasons(battery, dealer, supplier, day, receiver_id)
        seen.add(("battery", ref))
        verdicts.append(("battery", ref, battery, reasons))
    return verdicts

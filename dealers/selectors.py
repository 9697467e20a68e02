"""Read paths of the dealer: stock, sales ledger, inspections; scoped to the viewer."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from catalog.compliance import battery_model_problem, vehicle_model_problem
from catalog.selectors import is_compatible_pair
from core.models import User
from core.scoping import scoped
from dealers.models import Receipt, Sale
from vehicles.labels import BATTERY, VEHICLE, labels_resolve
from vehicles.models import Battery, Vehicle


def stock_vehicles(dealer_id: int) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(holder_id=dealer_id, status=Vehicle.Status.IN_STOCK).select_related("model")


def stock_batteries(dealer_id: int) -> QuerySet[Battery]:
    return Battery.objects.filter(holder_id=dealer_id, status=Battery.Status.IN_STOCK).select_related("model")


def sale_preview(*, dealer_id: int, frame_no: str, battery_serials: list[str], day: dt.date) -> dict:
    """What selling these codes would meet, as the live 标配 check and the sale form show it: the bike and each battery
    in this dealer's stock (a scanned QR label counts as its item), the models' problems on `day`, and whether each
    battery is a certified pair of the bike. `frame_no` and `battery_serials` come back as the service takes them.

    Only this dealer's stock is looked up, so the answer never tells whether another enterprise holds a code. A
    battery fitted at the factory in the bike counts as in stock: it is sold with it.
    """
    vehicles = stock_vehicles(dealer_id)
    batteries = Battery.objects.filter(
        holder_id=dealer_id, status__in=[Battery.Status.IN_STOCK, Battery.Status.FITTED]
    ).select_related("model")
    frame_no = str(frame_no or "").strip().upper()
    labels = labels_resolve([frame_no, *battery_serials], vehicles=vehicles, batteries=batteries)

    def ref(value: str, kind: str) -> str:
        kind_found, found = labels.get(value, (kind, value))
        return found if kind_found == kind else value

    frame_ref = ref(frame_no, VEHICLE)[:32]
    vehicle = vehicles.filter(frame_no=frame_ref).first() if frame_ref else None
    serials = [ref(value, BATTERY) for value in battery_serials]
    in_stock = {
        b.serial: b
        for b in batteries.filter(serial__in=serials)
        if b.vehicle_id is None or (vehicle is not None and b.vehicle_id == vehicle.pk)
    }
    items = []
    for scanned, serial in zip(battery_serials, serials, strict=True):
        battery = in_stock.get(serial)
        items.append(
            {
                "scanned": scanned,
                "serial": serial,
                "battery": battery,
                "problem": battery_model_problem(battery.model, day) if battery else None,
                "paired": (
                    is_compatible_pair(vehicle_model=vehicle.model, battery_model=battery.model)
                    if battery and vehicle
                    else None
                ),
            }
        )
    vehicle_problem = vehicle_model_problem(vehicle.model, day) if vehicle else None
    return {
        "frame_no": frame_ref,
        "battery_serials": serials,
        "vehicle": vehicle,
        "vehicle_problem": vehicle_problem,
        "batteries": items,
        "ready": bool(
            vehicle
            and not vehicle_problem
            and items
            and all(b["battery"] and b["paired"] and not b["problem"] for b in items)
        ),
    }


def sales_visible_to(user: User) -> QuerySet[Sale]:
    return scoped(
        Sale.objects.select_related("vehicle__model", "registration__owner", "dealer", "created_by"), user
    ).order_by("-sold_at", "-pk")


def receipts_visible_to(user: User) -> QuerySet[Receipt]:
    return scoped(Receipt.objects.select_related("supplier", "dealer").prefetch_related("items"), user)


def receipt_preview(*, dealer, supplier, frame_nos: list[str], battery_serials: list[str]) -> list[dict]:
    """What an inspection would decide for each scanned code, before the dealer confirms; writes nothing."""
    from django.utils import timezone

    from dealers.inspection import inspect_items

    verdicts = inspect_items(
        dealer=dealer,
        supplier=supplier,
        frame_nos=frame_nos,
        battery_serials=battery_serials,
        day=timezone.localdate(),
    )
    return [{"kind": kind, "ref": ref, "reasons": reasons} for kind, ref, _, reasons in verdicts]

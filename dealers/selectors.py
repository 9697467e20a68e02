"""Read paths of the dealer: stock, sales ledger, inspections; scoped to the viewer."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import User
from core.scoping import scoped
from dealers.models import Receipt, Sale
from vehicles.models import Battery, Vehicle


def stock_vehicles(dealer_id: int) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(holder_id=dealer_id, status=Vehicle.Status.IN_STOCK).select_related("model")


def stock_batteries(dealer_id: int) -> QuerySet[Battery]:
    return Battery.objects.filter(holder_id=dealer_id, status=Battery.Status.IN_STOCK).select_related("model")


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

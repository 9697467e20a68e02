"""Read paths of shipments (发货), scoped to the viewer: sender, receiver, the regulators of the sender's region."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from core.models import User
from core.scoping import scoped
from dealers.models import Shipment, ShipmentItem

IN_TRANSIT, RECEIVED, REFUSED = "in_transit", "received", "refused"


def _open_items() -> QuerySet[ShipmentItem]:
    return ShipmentItem.objects.filter(received_at__isnull=True, receipt__isnull=True)


def shipments_visible_to(user: User) -> QuerySet[Shipment]:
    items = ShipmentItem.objects.select_related("vehicle", "battery__vehicle").order_by("pk")
    return scoped(
        Shipment.objects.select_related("sender", "receiver").prefetch_related(Prefetch("items", queryset=items)),
        user,
    )


def shipments_sent_by(user: User) -> QuerySet[Shipment]:
    """What the user's organization sent, newest first, each with its items counted in SQL (`item_count`,
    `in_transit_count`, `refused_count`) rather than read: a shipment may hold thousands."""
    in_transit = Q(items__received_at__isnull=True, items__receipt__isnull=True)
    refused = Q(items__received_at__isnull=True, items__receipt__isnull=False)
    return (
        scoped(Shipment.objects.filter(sender_id=user.organization_id).select_related("receiver"), user)
        .annotate(
            item_count=Count("items"),
            in_transit_count=Count("items", filter=in_transit),
            refused_count=Count("items", filter=refused),
        )
        .order_by("-shipped_at", "-pk")
    )


def shipments_with_status(queryset: QuerySet[Shipment], status: str) -> QuerySet[Shipment]:
    """`in_transit`: some item is still on its way; `received`: every item was received or refused."""
    open_item = Exists(_open_items().filter(shipment=OuterRef("pk")))
    return queryset.filter(open_item) if status == IN_TRANSIT else queryset.exclude(open_item)


def shipments_in_transit_to(user: User) -> QuerySet[Shipment]:
    """What is on its way to the user's organization, oldest first, each with its items still in transit."""
    items = _open_items().select_related("vehicle", "battery__vehicle").order_by("pk")
    return (
        shipments_with_status(Shipment.objects.filter(receiver_id=user.organization_id), IN_TRANSIT)
        .select_related("sender")
        .prefetch_related(Prefetch("items", queryset=items, to_attr="open_items"))
        .order_by("shipped_at", "pk")
    )


def item_status(item: ShipmentItem) -> str:
    if item.received_at is not None:
        return RECEIVED
    return REFUSED if item.receipt_id is not None else IN_TRANSIT


def item_ref(item: ShipmentItem) -> tuple[str, str, str | None]:
    """(kind, frame number or serial, the frame number of the bike a battery is fitted in)."""
    if item.vehicle_id is not None:
        return "vehicle", item.vehicle.frame_no, None
    battery = item.battery
    return "battery", battery.serial, battery.vehicle.frame_no if battery.vehicle_id else None


def receipt_codes(shipment: Shipment) -> tuple[list[str], list[str]]:
    """The frame numbers and serials that receive the items still in transit of a shipment read by
    `shipments_in_transit_to` (its `open_items`): a fitted battery comes with its bike, so only the batteries on
    their own are listed."""
    frame_nos, serials = [], []
    for item in shipment.open_items:
        if item.vehicle_id is not None:
            frame_nos.append(item.vehicle.frame_no)
        elif item.battery.vehicle_id is None:
            serials.append(item.battery.serial)
    return frame_nos, serials

"""Shipments between enterprises (发货): what leaves a holder's stock for another enterprise, and its receipt.

While in transit an item stays held by its sender (`holder` = sender, status `in_transit`): the sender answers for it
until the receiver's incoming inspection (dealers/services.py `receipt_inspect`) accepts it, and the open shipment
item names where it is going. A bike with batteries fitted at the factory ships with them: they stay fitted, and their
holder follows the bike's. Accepted items are received (`received_at`); items the receiver refuses at the door go
back to the sender's stock (their shipment item keeps the receipt, without `received_at`).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from dealers.inspection import SHIPPED_TO_ANOTHER, SLIPS
from dealers.models import Receipt, ReceiptItem, Shipment, ShipmentItem
from vehicles.codes import normalise_serial
from vehicles.ledger import Event, events_append
from vehicles.models import Battery, EventType, Vehicle

K = OrganizationKind
SENDER_KINDS = {K.MANUFACTURER, K.BATTERY_MAKER, K.DEALER}
RECEIVER_KINDS = {K.MANUFACTURER, K.DEALER, K.CHARGING_OPERATOR}
# Bikes go to dealers; batteries also to the vehicle makers that fit them and to swap operators (以芯智控).
VEHICLE_RECEIVER_KINDS = {K.DEALER}
MAX_ITEMS = 2000  # per kind, as an incoming inspection takes them
_SHIPPABLE = {"produced", "in_stock"}


def _sender_of(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind not in SENDER_KINDS or not org.is_active:
        raise PermissionRefused(_("Only a maker, a battery maker or a dealer may ship goods."))
    return org


def receiver_get(sender: Organization, receiver_id: int, *, vehicles: bool) -> Organization:
    """The enterprise a shipment goes to; one that cannot take these goods is as unknown as a missing one."""
    receiver = Organization.objects.filter(
        pk=receiver_id, kind__in=VEHICLE_RECEIVER_KINDS if vehicles else RECEIVER_KINDS, status="active"
    ).first()
    if receiver is None or receiver.pk == sender.pk:
        message = (
            _("Bikes are shipped to a dealer registered on the platform.")
            if vehicles
            else _("Goods are shipped to a dealer, a vehicle maker or a charging operator registered on the platform.")
        )
        raise InvalidInput(_("Unknown receiver."), code="unknown_receiver", fields={"to": [message]})
    return receiver


def _unique(codes) -> list[str]:
    return list(dict.fromkeys(codes))


@transaction.atomic
def shipment_create(
    *,
    user: User,
    to: int,
    frame_nos: list[str],
    battery_serials: list[str],
    shipped_at: dt.datetime | None = None,
) -> Shipment:
    """Ship items of the sender's stock to another enterprise, all or nothing: a `shipped` event on each item's
    chain; bikes take the batteries fitted in them at the factory along. Items not in stock are 409 `not_in_stock`."""
    sender = _sender_of(user)
    frame_nos = _unique(str(f).strip().upper() for f in frame_nos)
    serials = _unique(normalise_serial(s) for s in battery_serials)
    if not frame_nos and not serials:
        message = _("Scan at least one bike or battery.")
        raise InvalidInput(message, code="empty_shipment", fields={"frame_nos": [message]})
    if max(len(frame_nos), len(serials)) > MAX_ITEMS:
        message = _("At most %(n)d bikes and %(n)d batteries at a time.") % {"n": MAX_ITEMS}
        raise InvalidInput(message, code="too_many_items", fields={"frame_nos": [message]})
    receiver = receiver_get(sender, to, vehicles=bool(frame_nos))
    shipped_at = shipped_at or timezone.now()
    if shipped_at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(_("The shipping date is in the future."), fields={"shipped_at": [_("In the future.")]})

    vehicles = list(
        Vehicle.objects.select_for_update(of=("self",)).filter(frame_no__in=frame_nos).order_by("pk")
    )  # locked first, then the batteries, as a sale does
    by_frame = {v.frame_no: v for v in vehicles}
    batteries = list(
        Battery.objects.select_for_update(of=("self",))
        .select_related("model")
        .filter(Q(serial__in=serials) | Q(vehicle__in=[v.pk for v in vehicles]))
        .order_by("pk")
    )
    by_serial = {b.serial: b for b in batteries}

    def in_stock(thing) -> bool:
        return thing is not None and thing.holder_id == sender.pk and thing.status in _SHIPPABLE

    shipped_bikes = {v.pk for v in vehicles if in_stock(v)}

    def ships(battery: Battery | None) -> bool:
        if battery is not None and battery.vehicle_id is not None:
            return battery.vehicle_id in shipped_bikes  # a fitted battery ships with its bike, never on its own
        return in_stock(battery)

    missing_frames = [f for f in frame_nos if not in_stock(by_frame.get(f))]
    missing_serials = [s for s in serials if not ships(by_serial.get(s))]
    if missing_frames or missing_serials:
        fields = {"frame_nos": missing_frames, "battery_serials": missing_serials}
        raise Conflict(
            _("Some items are not in your stock; nothing was shipped."),
            code="not_in_stock",
            fields={key: refs for key, refs in fields.items() if refs},
        )

    shipment = Shipment.objects.create(sender=sender, receiver=receiver, shipped_at=shipped_at, created_by=user)
    payload = {"shipment": shipment.pk, "from": sender.pk, "to": receiver.pk}
    fitted: dict[int, list[Battery]] = {}
    for battery in batteries:
        if battery.vehicle_id is not None:
            fitted.setdefault(battery.vehicle_id, []).append(battery)
    items = []
    for frame_no in frame_nos:
        vehicle = by_frame[frame_no]
        with_bike = fitted.get(vehicle.pk, [])
        items.append(ShipmentItem(shipment=shipment, vehicle=vehicle))
        items.extend(ShipmentItem(shipment=shipment, battery=battery) for battery in with_bike)
        events = [Event(EventType.SHIPPED, shipped_at, sender.region_id, sender.pk, payload)]
        events += [Event(EventType.SHIPPED, shipped_at, sender.region_id, sender.pk, payload, b) for b in with_bike]
        events_append(vehicle, events, head_fields={"status": Vehicle.Status.IN_TRANSIT})
    for serial in serials:
        battery = by_serial[serial]
        if battery.vehicle_id is not None:
            continue  # listed with its bike: shipped with it above
        items.append(ShipmentItem(shipment=shipment, battery=battery))
        event = Event(EventType.SHIPPED, shipped_at, sender.region_id, sender.pk, payload)
        events_append(battery, [event], head_fields={"status": Battery.Status.IN_TRANSIT})
    ShipmentItem.objects.bulk_create(items)
    return shipment


def shipment_items_settle(*, receipt: Receipt, items: list[ReceiptItem]) -> None:
    """Close the open shipment items from the receipt's supplier to its receiver that the receipt inspected: the
    accepted ones are received; the refused ones go back to the sender's stock (a slip of the scanner is no refusal).
    The caller holds the items locked."""
    accepted: dict[str, set[int]] = {"vehicle": set(), "battery": set()}
    refused: dict[str, set[int]] = {"vehicle": set(), "battery": set()}
    for item in items:
        thing_id = item.vehicle_id if item.kind == ReceiptItem.Kind.VEHICLE else item.battery_id
        if thing_id is None:
            continue
        if item.verdict == ReceiptItem.Verdict.ACCEPTED:
            accepted[item.kind].add(thing_id)
        elif not SLIPS.intersection(item.reasons) and SHIPPED_TO_ANOTHER not in item.reasons:
            refused[item.kind].add(thing_id)
    for kind in ("vehicle", "battery"):
        refused[kind] -= accepted[kind]
    if not any(accepted.values()) and not any(refused.values()):
        return
    open_items = ShipmentItem.objects.filter(
        received_at__isnull=True,
        receipt__isnull=True,
        shipment__sender_id=receipt.supplier_id,
        shipment__receiver_id=receipt.dealer_id,
    )

    def of(things: dict[str, set[int]]) -> Q:
        return Q(vehicle_id__in=things["vehicle"]) | Q(battery_id__in=things["battery"])

    if any(accepted.values()):
        open_items.filter(of(accepted)).update(received_at=receipt.received_at, receipt=receipt)
    if not any(refused.values()):
        return
    returned = list(open_items.filter(of(refused)).values_list("vehicle_id", "battery_id"))
    if not returned:
        return
    open_items.filter(of(refused)).update(receipt=receipt)
    sender = receipt.supplier_id
    Vehicle.objects.filter(pk__in=[v for v, _b in returned if v], status=Vehicle.Status.IN_TRANSIT).update(
        status=Case(
            When(manufacturer_id=sender, then=Value(Vehicle.Status.PRODUCED)), default=Value(Vehicle.Status.IN_STOCK)
        )
    )
    # Fitted batteries are not in transit themselves: they stay fitted in the returned bike.
    Battery.objects.filter(pk__in=[b for _v, b in returned if b], status=Battery.Status.IN_TRANSIT).update(
        status=Case(When(maker_id=sender, then=Value(Battery.Status.PRODUCED)), default=Value(Battery.Status.IN_STOCK))
    )

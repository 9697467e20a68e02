"""Write paths of the dealer: incoming inspection (进货查验) and sale = registration (卖车即备案).

Incoming inspection is also how a vehicle maker or a charging operator receives the batteries shipped to it.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import RuleCode
from alerts.services import alert_request_record
from catalog.compliance import (
    CERTIFICATE_EXPIRED,
    OLD_STANDARD_PAST_CUTOFF,
    battery_model_problem,
    vehicle_model_problem,
)
from catalog.models import VehicleModel
from core.errors import ComplianceRefusal, Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from dealers.inspection import (
    CERT_REASONS,
    CONSEQUENTIAL,
    IN_ANOTHER_STOCK,
    RECYCLED,
    SLIPS,
    SUPPLIER_KINDS,
    UNKNOWN,
    inspect_items,
)
from dealers.models import Receipt, ReceiptItem, Sale
from dealers.shipments import shipment_items_settle
from reports import rollups
from vehicles.codes import normalise_serial
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Vehicle
from vehicles.registration import BuyerData, registration_create


def _dealer_of(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind != OrganizationKind.DEALER:
        raise PermissionRefused(_("Only a dealer may do this."))
    return org


# Who inspects deliveries: dealers (bikes and batteries); vehicle makers and charging operators (batteries only).
RECEIVER_KINDS = {OrganizationKind.DEALER, OrganizationKind.MANUFACTURER, OrganizationKind.CHARGING_OPERATOR}


def _receiver_of(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind not in RECEIVER_KINDS:
        raise PermissionRefused(_("Only a dealer, a vehicle maker or a charging operator may receive goods."))
    return org


def supplier_get(dealer: Organization, supplier_id: int) -> Organization:
    supplier = Organization.objects.filter(pk=supplier_id, kind__in=SUPPLIER_KINDS).first()
    if supplier is None or supplier.pk == dealer.pk:
        raise InvalidInput(
            _("Unknown supplier."),
            code="unknown_supplier",
            fields={"supplier": [_("Not a maker or dealer registered on the platform.")]},
        )
    return supplier


def _alert_rule(kind: str, reasons: list[str]) -> str:
    if UNKNOWN in reasons:  # no maker registered this code: not "uncertified" but possibly counterfeit
        return RuleCode.PRODUCT_UNREGISTERED
    if RECYCLED in reasons:
        return RuleCode.BATTERY_RECYCLED_REAPPEARS if kind == ReceiptItem.Kind.BATTERY else RuleCode.STOCK_MISMATCH
    if CERT_REASONS & set(reasons):
        return RuleCode.PRODUCT_UNCERTIFIED
    if kind == ReceiptItem.Kind.BATTERY and IN_ANOTHER_STOCK in reasons:
        return RuleCode.BATTERY_DUPLICATE
    return RuleCode.STOCK_MISMATCH


@transaction.atomic
def receipt_inspect(
    *,
    user: User,
    supplier_id: int,
    frame_nos: list[str],
    battery_serials: list[str],
    received_at: dt.datetime | None = None,
) -> Receipt:
    """Inspect a delivery: accepted items enter the receiver's stock; each rejection records an alert request.

    Items shipped by the supplier to the receiver are received (their shipment items closed); a bike brings the
    batteries fitted in it at the factory."""
    dealer = _receiver_of(user)
    supplier = supplier_get(dealer, supplier_id)
    if not frame_nos and not battery_serials:
        raise InvalidInput(
            _("Scan at least one bike or battery."),
            code="empty_receipt",
            fields={"frame_nos": [_("Scan at least one bike or battery.")]},
        )
    if frame_nos and dealer.kind != OrganizationKind.DEALER:
        message = _("Only dealers receive bikes; scan the batteries only.")
        raise InvalidInput(message, code="vehicles_not_received", fields={"frame_nos": [message]})
    received_at = received_at or timezone.now()
    day = timezone.localdate(received_at)
    receipt = Receipt.objects.create(dealer=dealer, supplier=supplier, received_at=received_at, created_by=user)

    verdicts = inspect_items(
        dealer=dealer, supplier=supplier, frame_nos=frame_nos, battery_serials=battery_serials, day=day, lock=True
    )
    bikes = {thing.pk for kind, _ref, thing, _reasons in verdicts if kind == ReceiptItem.Kind.VEHICLE and thing}
    items = [
        _record_item(
            receipt,
            kind,
            ref,
            thing,
            reasons,
            dealer,
            supplier,
            received_at,
            with_bike=kind == ReceiptItem.Kind.BATTERY and thing is not None and thing.vehicle_id in bikes,
        )
        for kind, ref, thing, reasons in verdicts
    ]
    ReceiptItem.objects.bulk_create(items)
    shipment_items_settle(receipt=receipt, items=items)
    rollups.refusals_added(receipt, sum(1 for item in items if item.verdict == ReceiptItem.Verdict.REJECTED))
    return receipt


def _record_item(receipt, kind, ref, thing, reasons, dealer, supplier, received_at, *, with_bike) -> ReceiptItem:
    """`with_bike`: a battery fitted at the factory, inspected with its bike: it stays fitted, is held with the
    bike, and its events join the bike's chain (the same bike object the inspection gave the bike's row)."""
    is_vehicle = kind == ReceiptItem.Kind.VEHICLE
    item = ReceiptItem(
        receipt=receipt,
        kind=kind,
        ref=ref[:64],
        reasons=reasons,
        vehicle=thing if is_vehicle else None,
        battery=None if is_vehicle else thing,
        verdict=ReceiptItem.Verdict.REJECTED if reasons else ReceiptItem.Verdict.ACCEPTED,
    )
    head = {"vehicle": thing} if is_vehicle else {"battery": thing}
    if with_bike:
        head = {"vehicle": thing.vehicle, "battery": thing}
    if not reasons:
        model = type(thing)
        status = Battery.Status.FITTED if with_bike else model.Status.IN_STOCK
        model.objects.filter(pk=thing.pk).update(holder=dealer, status=status, region=dealer.region)
        thing.holder, thing.region = dealer, dealer.region
        event_append(
            type=EventType.RECEIVED,
            occurred_at=received_at,
            region_code=dealer.region_id,
            organization_id=dealer.pk,
            payload={"receipt": receipt.pk, "supplier": supplier.pk},
            **head,
        )
        return item
    slip = bool(SLIPS.intersection(reasons))
    if thing is not None and not slip:
        event_append(
            type=EventType.RECEIPT_REJECTED,
            occurred_at=received_at,
            region_code=dealer.region_id,
            organization_id=dealer.pk,
            payload={"receipt": receipt.pk, "reasons": reasons},
            **head,
        )
    findings = [reason for reason in reasons if reason not in CONSEQUENTIAL]  # the other part's alert covers it
    if findings and not slip:
        alert_request_record(
            rule=_alert_rule(kind, findings),
            region_code=dealer.region_id,
            source=f"receipt:{receipt.pk}",
            organization=supplier,
            frame_no=ref[:15] if is_vehicle else "",
            battery_serial="" if is_vehicle else ref[:48],
            evidence={"dealer": dealer.pk, "supplier": supplier.pk, "reasons": reasons, "ref": ref[:64]},
        )
    return item


@transaction.atomic(savepoint=False)  # callers' transactions end with any refusal anyway
def sale_register(
    *,
    user: User,
    frame_no: str,
    battery_serials: list[str],
    buyer: BuyerData,
    sold_at: dt.datetime,
    plate_no: str = "",
) -> Sale:
    """Sell a bike from stock with its batteries; the sale registers bike, batteries and buyer together (合体登记)."""
    dealer = _dealer_of(user)
    if sold_at > timezone.now() + dt.timedelta(minutes=5):
        raise InvalidInput(_("The sale date is in the future."), fields={"sold_at": [_("In the future.")]})
    serials = [normalise_serial(s) for s in battery_serials]
    if not serials:
        raise InvalidInput(
            _("Scan the battery sold with the bike."),
            code="battery_required",
            fields={"battery_serials": [_("At least one battery.")]},
        )
    if len(set(serials)) != len(serials):
        raise InvalidInput(_("A battery is listed twice."), fields={"battery_serials": [_("Listed twice.")]})

    vehicle = (
        Vehicle.objects.select_for_update(of=("self",))
        .select_related("model__standard")
        .filter(frame_no=str(frame_no).strip().upper())
        .first()
    )
    if vehicle is not None and vehicle.status in {Vehicle.Status.REGISTERED, Vehicle.Status.CANCELLED}:
        raise Conflict(_("This bike is already sold."), code="already_sold", fields={"frame_no": [_("Already sold.")]})
    if vehicle is None or vehicle.holder_id != dealer.pk or vehicle.status != Vehicle.Status.IN_STOCK:
        raise Conflict(
            _("This bike is not in your stock."),
            code="not_in_stock",
            fields={"frame_no": [_("Not in your stock. Receive it first (incoming inspection).")]},
        )

    certified_pair = VehicleModel.compatible_battery_models.through.objects.filter(
        vehiclemodel_id=vehicle.model_id, batterymodel_id=OuterRef("model_id")
    )
    batteries = list(
        Battery.objects.select_for_update(of=("self",))
        .select_related("model")
        .annotate(certified_pair=Exists(certified_pair))  # the 标配 check, in the same query
        .filter(Q(serial__in=serials) | Q(vehicle=vehicle))  # and the batteries fitted in it at the factory
        .order_by("pk")
    )
    found = {b.serial: b for b in batteries}
    fitted_elsewhere = [s for s in serials if s in found and found[s].vehicle_id not in {None, vehicle.pk}]
    if fitted_elsewhere:
        raise Conflict(
            _("A battery is fitted in another bike."),
            code="battery_fitted_elsewhere",
            fields={"battery_serials": fitted_elsewhere},
        )
    missing = [
        s
        for s in serials
        if s not in found
        or found[s].holder_id != dealer.pk
        or (found[s].status != Battery.Status.IN_STOCK and found[s].vehicle_id != vehicle.pk)
    ]
    if missing:
        raise Conflict(_("A battery is not in your stock."), code="not_in_stock", fields={"battery_serials": missing})
    left_out = [b.serial for b in batteries if b.vehicle_id == vehicle.pk and b.serial not in serials]
    if left_out:  # a bike leaves with the batteries fitted at the factory; another battery is a repair's business
        raise Conflict(
            _("This bike came with batteries fitted at the factory: scan them too."),
            code="fitted_battery_missing",
            fields={"battery_serials": left_out},
        )

    day = timezone.localdate(sold_at)
    problem = vehicle_model_problem(vehicle.model, day)
    if problem:
        raise ComplianceRefusal(
            _vehicle_problem_message(problem, vehicle), code="uncertified", fields={"frame_no": [problem]}
        )
    incompatible = [b.serial for b in batteries if not b.certified_pair]
    if incompatible:
        raise ComplianceRefusal(
            _("This battery model is not certified for this bike model (标配)."),
            code="battery_incompatible",
            fields={"battery_serials": incompatible},
        )
    uncertified = [b.serial for b in batteries if battery_model_problem(b.model, day)]
    if uncertified:
        raise ComplianceRefusal(
            _("This battery has no valid CCC certificate."), code="uncertified", fields={"battery_serials": uncertified}
        )

    try:
        # A savepoint only where an INSERT may fail and be reported: a plate number typed by the dealer.
        with transaction.atomic(savepoint=bool(plate_no)):
            registration = registration_create(
                vehicle=vehicle,
                batteries=[found[s] for s in serials],
                buyer=buyer,
                dealer=dealer,
                registered_at=sold_at,
                plate_no=plate_no,
            )
    except IntegrityError:
        raise Conflict(
            _("This plate number is in use."), code="plate_taken", fields={"plate_no": [_("In use.")]}
        ) from None
    return Sale.objects.create(
        dealer=dealer,
        vehicle=vehicle,
        registration=registration,
        battery_serials=serials,
        sold_at=sold_at,
        created_by=user,
    )


def _vehicle_problem_message(problem: str, vehicle: Vehicle) -> str:
    standard = vehicle.model.standard
    if problem == OLD_STANDARD_PAST_CUTOFF:
        return _("Bikes certified to %(standard)s may not be sold from %(cutoff)s.") % {
            "standard": standard.code,
            "cutoff": standard.sale_cutoff.isoformat(),
        }
    if problem == CERTIFICATE_EXPIRED:
        return _("The model's CCC certificate had expired on the sale date.")
    return _("This bike model has no CCC certificate.")

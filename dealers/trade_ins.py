"""Trade-in at the dealer's counter (以旧换新): the old bike found and shown at hand, its kind and the subsidy its
region's policy pays, and the one step that cancels its registration, holds it for a recycler and sells the new
bike to the same owner.

Rules (error codes are stable, docs/api.md):
- the old bike is named by its plate (the plate of an active registration: 码牌合一, the plate is on the bike), by a
  scanned QR label, or by its frame number with a proof that it is at the counter: its QR code (`vehicle_code`),
  its plate, or the owner's ID number (the owner brings the bike). Frame numbers are sequential, so a frame number
  alone is refused in the words of an unknown bike (400 `unknown_vehicle`) and counts as a failed proof
  (vehicles/proof.py), like a repair or a take-back;
- only a registered bike is traded in: a bike shown at hand without an active registration, or a plate no
  registration carries, is 409 `not_registered`;
- the new bike goes to the same owner: the sale's buyer may be omitted, wholly or field by field, and is then taken
  from the old registration (name, ID number, phone, and the region: the owner's street); an ID number given must
  be the owner's (400 `not_the_owner`). Name, phone and region given replace the old ones (the owner moved);
- the old bike's kind is `old_standard` (备案非标车: its model's standard may no longer be sold on the day) or
  `new_standard`; the subsidy is the amount of the policy of the old registration's region for that kind, valid on
  the day (the most specific region's: a street's own policy before its county's or city's), 0 without a policy.
  `subsidy_yuan` must be that amount: anything else is refused (400 `subsidy_mismatch`, the amount named), since it
  is public money paid on the dealer's word;
- all or nothing: the old registration is cancelled (reason 以旧换新), the old bike is held by the dealer
  (`traded_in`) until a recycler takes it back, and the new bike is sold and registered (卖车即备案) with the
  sale's own checks (stock, 标配, CCC); any refusal leaves the old registration active and nothing written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, InvalidInput
from core.models import Organization, Region, User
from core.personal_data import lookup_hash
from dealers.models import SubsidyPolicy, TradeIn
from dealers.services import _dealer_of, sale_register
from vehicles.codes import FRAME_NO
from vehicles.labels import label_code
from vehicles.ledger import Event, events_append
from vehicles.models import EventType, Registration, Vehicle
from vehicles.proof import vehicle_at_hand_require
from vehicles.registration import BuyerData, registration_end

OldKind = SubsidyPolicy.OldKind
TRADE_IN_REASON = "以旧换新"  # the cancellation's reason, as the registration and its dossier show it
NO_SUBSIDY = Decimal("0.00")


@dataclass(frozen=True)
class OldBike:
    """The old bike at the counter: its active registration, its kind on the day and the policy that pays for it."""

    vehicle: Vehicle
    registration: Registration
    kind: str
    policy: SubsidyPolicy | None

    @property
    def subsidy_yuan(self) -> Decimal:
        return self.policy.amount_yuan if self.policy is not None else NO_SUBSIDY


# ---------------------------------------------------------------------------------------------------------------
# Kind and subsidy


def old_kind_of(vehicle: Vehicle, day: dt.date) -> str:
    """备案非标车: a bike whose model's standard may no longer be sold on `day` (GB 17761-2018 after 2025-12-01)."""
    return OldKind.NEW_STANDARD if vehicle.model.standard.sellable_on(day) else OldKind.OLD_STANDARD


def region_and_ancestors(region_code: str) -> list[str]:
    """The codes of a region and of the regions above it, most specific first (GB/T 2260 and GB/T 10114 prefixes)."""
    code = str(region_code)
    return list(dict.fromkeys([code, code[:6], code[:4] + "00", code[:2] + "0000"]))


def subsidy_policy_for(region_code: str, old_kind: str, day: dt.date) -> SubsidyPolicy | None:
    """The policy in force on `day` for this kind of old bike, of the most specific region containing `region_code`."""
    codes = region_and_ancestors(region_code)
    policies = SubsidyPolicy.objects.filter(region_code__in=codes, old_kind=old_kind, valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    return min(policies, key=lambda p: (codes.index(p.region_code), -p.valid_from.toordinal(), -p.pk), default=None)


# ---------------------------------------------------------------------------------------------------------------
# Finding the old bike


def _unknown_vehicle(field: str) -> InvalidInput:
    message = _("No registered bike with this frame number, or its QR code, plate or owner's ID number does not match.")
    return InvalidInput(message, code="unknown_vehicle", fields={field: [message]})


def _not_registered(field: str) -> Conflict:
    message = _("This bike is not registered: only a registered bike can be traded in.")
    return Conflict(message, code="not_registered", fields={field: [message]})


def _owner_is(registration: Registration, id_number: str) -> bool:
    return bool(id_number) and registration.owner.id_number_hash == lookup_hash(str(id_number).strip().upper())


def old_bike_find(
    *,
    dealer: Organization,
    frame_no: str = "",
    plate_no: str = "",
    vehicle_code: str = "",
    owner_id_number: str = "",
    day: dt.date | None = None,
    lock: bool = False,
) -> OldBike:
    """The old bike the counter names (see the module for the proofs), with its active registration; `lock` holds
    both rows for the trade-in's transaction."""
    day = day or timezone.localdate()
    frame_no = str(frame_no or "").strip().upper()
    plate = str(plate_no or "").strip().upper()
    vehicles = Vehicle.objects.select_related("model__standard")
    registrations = Registration.objects.select_related("owner", "region")
    if lock:
        vehicles = vehicles.select_for_update(of=("self",))
        registrations = registrations.select_for_update(of=("self",))

    if frame_no and not FRAME_NO.fullmatch(frame_no) and label_code(frame_no):
        vehicle_code, frame_no = frame_no, ""  # a scanned QR label in the frame number's field
    if not frame_no and (code := label_code(vehicle_code)):
        vehicle = vehicles.filter(code=code).first()
        if vehicle is None:
            raise _unknown_vehicle("old.frame_no")
        frame_no = vehicle.frame_no
    field = "old.frame_no" if frame_no else "old.plate_no"
    if not frame_no:
        if not plate:
            message = _("Scan the old bike's QR code, or type its frame number or plate.")
            raise InvalidInput(message, code="old_required", fields={"old.frame_no": [message]})
        # The bike first, then its registration: the same order of locks as by frame number.
        active = Registration.objects.filter(plate_no=plate, status=Registration.Status.ACTIVE)
        vehicle_id = active.values_list("vehicle_id", flat=True).first()
        vehicle = vehicles.filter(pk=vehicle_id).first() if vehicle_id else None
        registration = (
            registrations.filter(plate_no=plate, status=Registration.Status.ACTIVE, vehicle=vehicle).first()
            if vehicle
            else None
        )
        if registration is None:
            raise _not_registered(field)
    else:
        vehicle = vehicles.filter(frame_no=frame_no[:15]).first()
        registration = (
            registrations.filter(vehicle=vehicle, status=Registration.Status.ACTIVE).first() if vehicle else None
        )
        if not (registration is not None and _owner_is(registration, owner_id_number)):
            vehicle = vehicle_at_hand_require(
                organization=dealer,
                frame_no=frame_no,
                vehicle=vehicle,
                vehicle_code=vehicle_code,
                plate_no=plate,
                refusal=_unknown_vehicle(field),
                attempt="trade_in",
            )
        if registration is None:
            raise _not_registered(field)
    kind = old_kind_of(vehicle, day)
    return OldBike(vehicle, registration, kind, subsidy_policy_for(registration.region_id, kind, day))


# ---------------------------------------------------------------------------------------------------------------
# The trade-in


def _under(prefix: str, error: DomainError) -> DomainError:
    """The sale's refusal, its fields named as in the trade-in's body (`sale.frame_no`)."""
    fields = {f"{prefix}.{key}": value for key, value in (error.fields or {}).items()}
    moved = type(error)(error.message, code=error.code, fields=fields)
    moved.status = error.status
    return moved


def buyer_of(old: OldBike, given: dict | None) -> BuyerData:
    """The new bike's buyer: the old bike's owner, with what the counter gave instead (the same person)."""
    given = {key: value for key, value in (given or {}).items() if value not in (None, "")}
    id_number = given.get("id_number")
    if id_number is not None and not _owner_is(old.registration, id_number):
        message = _("A trade-in sells the new bike to the owner of the old one: this is another person's ID number.")
        raise InvalidInput(message, code="not_the_owner", fields={"sale.buyer.id_number": [message]})
    owner = old.registration.owner
    if not given.keys() - {"region_code"}:
        # The owner as registered, not checked again against today's rules (a record may predate them).
        region = old.registration.region
        if "region_code" in given:
            region = Region.objects.filter(code=str(given["region_code"])[:12]).first()
            if region is None:
                message = _("Unknown region code.")
                raise InvalidInput(message, code="unknown_region", fields={"sale.buyer.region_code": [message]})
        return BuyerData(name=owner.name, id_number=owner.id_number, phone=owner.phone, region=region)
    data = {
        "name": owner.name,
        "id_number": owner.id_number,
        "phone": owner.phone,
        "region_code": old.registration.region_id,
        **given,
    }
    try:
        return BuyerData.clean(data, field="buyer")
    except DomainError as error:
        raise _under("sale", error) from None


def _subsidy_check(old: OldBike, subsidy_yuan: Decimal) -> Decimal:
    expected = old.subsidy_yuan
    if Decimal(subsidy_yuan).quantize(Decimal("0.01")) != expected:
        if old.policy is None:
            message = _("No trade-in subsidy applies to this bike here: the subsidy is ¥0.00.")
        else:
            region = Region.objects.filter(code=old.policy.region_code).first()
            message = _("The subsidy for this kind of bike is ¥%(amount)s under the policy of %(region)s.") % {
                "amount": f"{expected:,.2f}",
                "region": region.name if region else old.policy.region_code,
            }
        raise InvalidInput(message, code="subsidy_mismatch", fields={"subsidy_yuan": [message]})
    return expected


@transaction.atomic
def trade_in_register(
    *,
    user: User,
    old: dict,
    subsidy_yuan: Decimal,
    frame_no: str,
    battery_serials: list[str],
    buyer: dict | None,
    sold_at: dt.datetime,
    plate_no: str = "",
) -> TradeIn:
    """Trade an old bike in for a new one sold to its owner, all or nothing (see the module for the rules)."""
    dealer = _dealer_of(user)
    found = old_bike_find(
        dealer=dealer,
        frame_no=old.get("frame_no") or "",
        plate_no=old.get("plate_no") or "",
        vehicle_code=old.get("vehicle_code") or "",
        owner_id_number=old.get("owner_id_number") or (buyer or {}).get("id_number") or "",
        day=timezone.localdate(min(sold_at, timezone.now())),
        lock=True,
    )
    if sold_at < found.registration.registered_at:
        message = _("The trade-in predates the old bike's registration.")
        raise InvalidInput(message, fields={"sale.sold_at": [message]})
    new_owner = buyer_of(found, buyer)
    subsidy = _subsidy_check(found, subsidy_yuan)
    vehicle, registration = found.vehicle, found.registration

    # The old registration ends first, so its plate is free for the new bike if the dealer gives it again.
    cancelled = registration_end(
        vehicle=vehicle, registration=registration, reason=TRADE_IN_REASON, at=sold_at, organization_id=dealer.pk
    )
    try:
        sale = sale_register(
            user=user,
            frame_no=frame_no,
            battery_serials=battery_serials,
            buyer=new_owner,
            sold_at=sold_at,
            plate_no=plate_no,
        )
    except DomainError as error:
        raise _under("sale", error) from None
    trade_in = TradeIn.objects.create(
        dealer=dealer,
        old_vehicle=vehicle,
        old_registration=registration,
        old_kind=found.kind,
        sale=sale,
        subsidy_yuan=subsidy,
        region_code=new_owner.region.code,
        traded_at=sold_at,
        created_by=user,
    )
    traded = Event(
        EventType.TRADED_IN,
        sold_at,
        dealer.region_id,
        dealer.pk,
        {
            "trade_in": trade_in.pk,
            "registration": registration.pk,
            "new_frame_no": sale.vehicle.frame_no,
            "kind": found.kind,
            "subsidy_yuan": str(subsidy),
        },
    )
    # Held by the dealer until a recycler takes it back (recycling/services.py marks the trade-in handed over).
    events_append(vehicle, [cancelled, traded], head_fields={"status": Vehicle.Status.CANCELLED, "holder": dealer})
    return trade_in


def trade_ins_of(dealer: Organization):
    """The dealer's own trade-ins, newest first, with what their pages show."""
    return TradeIn.objects.filter(dealer=dealer).select_related(
        "old_vehicle__model__standard", "old_registration__owner", "sale__vehicle__model", "sale__registration__owner"
    )

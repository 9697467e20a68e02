"""Registration (合体登记): binding bike, batteries and owner; transfer and cancellation of registration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import Organization, Region, User
from core.personal_data import clean_id_number, clean_phone, encrypt, lookup_hash
from core.scoping import in_jurisdiction
from core.services import region_get
from vehicles.ledger import Event, event_append, events_append
from vehicles.models import Battery, EventType, Fitment, Owner, Registration, Vehicle


@dataclass(frozen=True)
class BuyerData:
    name: str
    id_number: str
    phone: str
    region: Region

    @classmethod
    def clean(cls, data: dict, field: str = "buyer") -> BuyerData:
        """Validate a buyer as sent by a client; errors name the nested field (buyer.id_number)."""
        name = str(data.get("name") or "").strip()
        if not 1 <= len(name) <= 50:
            raise InvalidInput(
                _("Enter the buyer's name."), fields={f"{field}.name": [_("Required, 1 to 50 characters.")]}
            )
        id_number = clean_id_number(data.get("id_number"), field=f"{field}.id_number")
        phone = clean_phone(data.get("phone"), field=f"{field}.phone")
        try:
            region = region_get(str(data.get("region_code") or ""))
        except InvalidInput:
            raise InvalidInput(
                _("Unknown region code."),
                code="unknown_region",
                fields={f"{field}.region_code": [_("Unknown region code.")]},
            ) from None
        return cls(name=name, id_number=id_number, phone=phone, region=region)


def owner_get_or_create(buyer: BuyerData) -> Owner:
    """One owner per ID number; the latest name and phone given are kept. One statement: an INSERT that updates
    the owner already registered with this ID number (and locks the row, as the registration needs)."""
    (owner,) = Owner.objects.bulk_create(
        [
            Owner(
                name_enc=encrypt(buyer.name),
                id_number_enc=encrypt(buyer.id_number),
                phone_enc=encrypt(buyer.phone),
                id_number_hash=lookup_hash(buyer.id_number),
                phone_hash=lookup_hash(buyer.phone),
                region=buyer.region,
            )
        ],
        update_conflicts=True,
        unique_fields=["id_number_hash"],
        update_fields=["name_enc", "phone_enc", "phone_hash", "region", "updated_at"],
    )
    return owner


def registration_create(
    *,
    vehicle: Vehicle,
    batteries: list[Battery],
    buyer: BuyerData,
    dealer: Organization,
    registered_at: dt.datetime,
    plate_no: str = "",
) -> Registration:
    """Register a sold bike: owner, plate (码牌合一: the public code unless a plate is given), fitted batteries.

    The caller holds the vehicle and batteries locked and has checked stock and compliance. Batteries fitted in
    the bike at the factory stay fitted (no second fitment or event) and leave the dealer's hands with it.
    """
    owner = owner_get_or_create(buyer)
    registration = Registration.objects.create(
        vehicle=vehicle,
        owner=owner,
        dealer=dealer,
        region=buyer.region,
        plate_no=plate_no or vehicle.code,
        registered_at=registered_at,
    )
    vehicle.region = buyer.region  # the batteries' events and rows take the bike's new region
    factory_fitted = [b.pk for b in batteries if b.vehicle_id == vehicle.pk]
    if factory_fitted:
        Battery.objects.filter(pk__in=factory_fitted).update(holder=None, region=buyer.region)
    to_fit = [b for b in batteries if b.vehicle_id != vehicle.pk]
    sold = Event(
        EventType.SOLD, registered_at, dealer.region_id, dealer.pk, {"batteries": [b.serial for b in batteries]}
    )
    registered = Event(
        EventType.REGISTERED,
        registered_at,
        buyer.region.pk,
        dealer.pk,
        {"registration": registration.pk, "plate_no": registration.plate_no, "owner": owner.pk},
    )
    events_append(
        vehicle,
        [sold, *_fitments_write(vehicle, to_fit, organization=dealer, at=registered_at), registered],
        head_fields={
            "status": Vehicle.Status.REGISTERED,
            "holder": None,
            "dealer": dealer,
            "region": buyer.region,
            "registered_at": registered_at,
        },
    )
    return registration


def _fitments_write(
    vehicle: Vehicle, batteries: list[Battery], *, organization: Organization, at: dt.datetime
) -> list[Event]:
    """Fit batteries (locked by the caller) into a vehicle, and return the events to append for them. The
    database refuses a battery in two vehicles."""
    Fitment.objects.bulk_create(
        Fitment(battery=battery, vehicle=vehicle, fitted_at=at, fitted_by=organization) for battery in batteries
    )
    Battery.objects.filter(pk__in=[b.pk for b in batteries]).update(
        status=Battery.Status.FITTED, holder=None, vehicle=vehicle, region=vehicle.region
    )
    events = []
    for battery in batteries:
        battery.status, battery.holder, battery.vehicle = Battery.Status.FITTED, None, vehicle
        payload = {"model": battery.model.code}
        events.append(Event(EventType.BATTERY_FITTED, at, vehicle.region_id, organization.pk, payload, battery))
    return events


def battery_fit(*, vehicle: Vehicle, battery: Battery, organization: Organization, at: dt.datetime) -> None:
    """Fit a battery (locked by the caller) into a vehicle; the database refuses a battery in two vehicles."""
    events_append(vehicle, _fitments_write(vehicle, [battery], organization=organization, at=at))


def _vehicle_for_registration_change(user: User, frame_no: str) -> tuple[Vehicle, Registration]:
    """The vehicle, locked, if the user is a regulator or police officer of its jurisdiction (else 404/403)."""
    from vehicles.selectors import vehicle_visible

    visible = vehicle_visible(user, frame_no)  # 404 for anyone who may not see it
    org = user.organization
    if not (user.is_superuser or (org is not None and (org.is_regulator or org.kind == "police"))):
        raise PermissionRefused(_("Only the police or the market regulator may change a registration."))
    if not in_jurisdiction(user, visible.region_id):
        raise PermissionRefused(_("This bike is registered outside your jurisdiction."))
    vehicle = Vehicle.objects.select_for_update().get(pk=visible.pk)
    registration = Registration.objects.select_for_update().filter(vehicle=vehicle, status="active").first()
    if registration is None:
        raise Conflict(_("This bike has no active registration."), code="not_registered")
    return vehicle, registration


@transaction.atomic
def registration_transfer(
    *, user: User, frame_no: str, new_owner: BuyerData, transferred_at: dt.datetime, plate_no: str = "", note: str = ""
) -> Registration:
    """Ownership transfer (过户): the old registration ends, a new one binds the same bike to the new owner."""
    vehicle, current = _vehicle_for_registration_change(user, frame_no)
    if transferred_at < current.registered_at:
        raise InvalidInput(_("The transfer predates the registration."), fields={"transferred_at": [_("Too early.")]})
    owner = owner_get_or_create(new_owner)
    if owner.pk == current.owner_id:
        raise Conflict(
            _("The new owner is the current owner."),
            code="same_owner",
            fields={"new_owner.id_number": [_("Same as the current owner.")]},
        )
    Registration.objects.filter(pk=current.pk).update(
        status=Registration.Status.TRANSFERRED, ended_at=transferred_at, end_reason=note[:200]
    )
    registration = Registration.objects.create(
        vehicle=vehicle,
        owner=owner,
        dealer=current.dealer,
        region=new_owner.region,
        plate_no=plate_no or current.plate_no,
        registered_at=transferred_at,
    )
    Vehicle.objects.filter(pk=vehicle.pk).update(region=new_owner.region)
    Battery.objects.filter(vehicle=vehicle).update(region=new_owner.region)
    event_append(
        vehicle=vehicle,
        type=EventType.TRANSFERRED,
        occurred_at=transferred_at,
        region_code=new_owner.region.pk,
        organization_id=user.organization_id,
        payload={
            "from_registration": current.pk,
            "registration": registration.pk,
            "owner": owner.pk,
            "plate_no": registration.plate_no,
        },
    )
    return registration


@transaction.atomic
def registration_cancel(*, user: User, frame_no: str, reason: str, cancelled_at: dt.datetime) -> Registration:
    """Cancellation of registration (注销): the bike leaves the road; its record stays."""
    if not reason.strip():
        raise InvalidInput(_("Give the reason for the cancellation."), fields={"reason": [_("Required.")]})
    vehicle, current = _vehicle_for_registration_change(user, frame_no)
    cancelled = registration_end(
        vehicle=vehicle, registration=current, reason=reason, at=cancelled_at, organization_id=user.organization_id
    )
    events_append(vehicle, [cancelled], head_fields={"status": Vehicle.Status.CANCELLED})
    current.refresh_from_db()
    return current


def registration_end(
    *, vehicle: Vehicle, registration: Registration, reason: str, at: dt.datetime, organization_id: int | None
) -> Event:
    """Cancel an active registration of a vehicle the caller holds locked, and return the event that records it, for
    the caller to append with the vehicle's new state (a cancellation, or a trade-in: 以旧换新)."""
    Registration.objects.filter(pk=registration.pk).update(
        status=Registration.Status.CANCELLED, ended_at=at, end_reason=reason[:200]
    )
    payload = {"registration": registration.pk, "reason": reason[:200]}
    return Event(EventType.REGISTRATION_CANCELLED, at, vehicle.region_id, organization_id, payload)


def vehicle_not_found() -> NotFound:
    return NotFound(_("No such bike, or not one you may see."))

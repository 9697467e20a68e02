"""Read paths of the chain record, already scoped to the viewer: the dossier, its ledger, and the trace."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from core.errors import NotFound, PermissionRefused
from core.models import OrganizationKind, Region, User
from core.personal_data import lookup_hash
from core.scoping import scoped
from vehicles.codes import normalise_serial
from vehicles.models import Battery, Fitment, LifecycleEvent, Registration, Vehicle

UNMASK_KINDS = {OrganizationKind.REGULATOR, OrganizationKind.POLICE}


def vehicles_visible_to(user: User) -> QuerySet[Vehicle]:
    return scoped(
        Vehicle.objects.select_related("model__standard", "model__maker", "manufacturer", "dealer", "holder"), user
    )


def vehicle_visible(user: User, frame_no: str) -> Vehicle:
    """The vehicle with this frame number, if the user may see it; otherwise 404 (no existence leaks)."""
    vehicle = vehicles_visible_to(user).filter(frame_no=str(frame_no).strip().upper()).first()
    if vehicle is None:
        raise NotFound(_("No such bike, or not one you may see."))
    return vehicle


def vehicle_dossier(user: User, frame_no: str) -> Vehicle:
    """The vehicle with what its dossier shows (current batteries, active registration and owner), or 404."""
    vehicle = (
        vehicles_visible_to(user)
        .prefetch_related(*dossier_prefetch())
        .filter(frame_no=str(frame_no).strip().upper())
        .first()
    )
    if vehicle is None:
        raise NotFound(_("No such bike, or not one you may see."))
    return vehicle


def may_unmask(user: User) -> bool:
    """Regulators and police may see personal data in full (every time audited); nobody else."""
    org = user.organization
    return user.is_superuser or (org is not None and org.kind in UNMASK_KINDS and org.is_active)


def require_unmask(user: User) -> None:
    if not may_unmask(user):
        raise PermissionRefused(
            _("Only regulators and the police may see personal data in full."), code="unmask_not_allowed"
        )


def dossier_prefetch() -> list:
    """What a dossier needs in one go: current batteries, the active registration and its owner."""
    return [
        Prefetch("batteries", queryset=Battery.objects.select_related("model").order_by("serial")),
        Prefetch(
            "registrations",
            queryset=Registration.objects.filter(status="active").select_related("owner"),
            to_attr="active_registrations",
        ),
    ]


def vehicle_events(vehicle: Vehicle) -> QuerySet[LifecycleEvent]:
    """The vehicle's ledger in the order it was recorded (its own chain, including battery events while fitted)."""
    return LifecycleEvent.objects.filter(vehicle=vehicle).select_related("organization", "battery").order_by("seq")


# A step recorded this long after (or before) it happened shows its recording time beside it.
RECORDED_APART = dt.timedelta(minutes=1)


def vehicle_timeline(vehicle: Vehicle, regions: dict[str, str] | None = None) -> list[dict]:
    """The vehicle's ledger as people read it: in the order things happened (a repair uploaded late sits where it
    belongs), each step with its region's name and, where it was recorded later, when."""
    events = sorted(vehicle_events(vehicle), key=lambda e: (e.occurred_at, e.seq))
    if regions is None:
        codes = {e.region_code for e in events}
        regions = dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return [
        {
            "event": e,
            "region": regions.get(e.region_code, e.region_code),
            "recorded_at": e.recorded_at if abs(e.recorded_at - e.occurred_at) >= RECORDED_APART else None,
        }
        for e in events
    ]


TRACE_CLUES = ("frame_no", "battery_serial", "id_number", "phone", "plate_no")


def trace(
    user: User,
    *,
    frame_no: str = "",
    battery_serial: str = "",
    id_number: str = "",
    phone: str = "",
    plate_no: str = "",
):
    """Vehicle–battery–owner–outlet (车—电—人—网点) from one clue, within what the user may see.

    Each clue resolves through an index: frame number (unique), battery serial (unique), owner ID number and
    phone (keyed hashes), plate (registrations). Past links count too: a battery's former bikes, an owner's
    former bikes.
    """
    condition = Q()
    if frame_no:
        condition |= Q(frame_no=frame_no.strip().upper())
    if battery_serial:
        condition |= Q(
            pk__in=Fitment.objects.filter(battery__serial=normalise_serial(battery_serial)).values("vehicle_id")
        )
    if id_number:
        condition |= Q(
            pk__in=Registration.objects.filter(owner__id_number_hash=lookup_hash(id_number.strip().upper())).values(
                "vehicle_id"
            )
        )
    if phone:
        condition |= Q(pk__in=Registration.objects.filter(owner__phone_hash=lookup_hash(phone)).values("vehicle_id"))
    if plate_no:
        condition |= Q(pk__in=Registration.objects.filter(plate_no=plate_no.strip().upper()).values("vehicle_id"))
    if not condition:
        return Vehicle.objects.none()
    # Only what a trace row shows: a narrow join keeps the planner on the clue's index (a wide one, past
    # from_collapse_limit, made it scan every vehicle).
    return (
        scoped(Vehicle.objects.select_related("model", "dealer"), user)
        .filter(condition)
        .prefetch_related(*dossier_prefetch())
        .order_by("-registered_at")
    )

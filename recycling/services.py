"""Write paths of recycling: the repair shop's first-station handover (回收首站) and the recycler's take-back and
disposal, each with its ledger events.

Rules (error codes are stable, docs/api.md):
- a repair shop records only `handover`, of a battery it holds (removed from a bike, held by the shop), to an active
  recycler (`handed_to`): the recycler then holds it, still "removed" until it is disposed of;
- a recycler takes back a vehicle (`dismantle`) or a battery (`dismantle`, `hazardous_transfer`,
  `cascade_refused`) and disposes of it: the item becomes "recycled", held by the recycler;
- a recycler taking back a vehicle shows that it is at hand: its QR code (or the label's URL) or the plate of its
  active registration, unless the recycler took it back already (vehicles/proof.py). Without that, the vehicle
  is unknown (400 `unknown_item`, the words of a frame number nobody carries), so nothing about it leaks;
- a vehicle whose registration is still active is refused (409 `registration_active`): the owner cancels the
  registration first (注销), or the bike comes through a trade-in. The check reads the registration's status
  only, so whatever ends the registration (a cancellation, a trade-in) lets the take-back through; a take-back
  never ends a registration itself, and a cancelled bike keeps its cancellation as it was recorded;
- a vehicle taken back releases its fitted batteries (fitments end; they are "removed", held by the recycler, and
  disposed of in turn);
- a battery still fitted in a bike is refused (409 `battery_fitted`): take the bike back, or have it removed;
- lead-acid batteries are hazardous waste: their disposal is a `hazardous_transfer` with the transfer manifest
  number (危险废物转移联单号), and any `hazardous_transfer` needs that number (422 `manifest_required`);
- cascade use (梯次利用) of a pack is refused: GB 43854-2024 bans retired EV cells in e-bike batteries, so a pack
  offered for it is dismantled and recorded as `cascade_refused`.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Chemistry
from core.errors import ComplianceRefusal, Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from dealers.models import TradeIn
from recycling.models import RecyclingRecord
from vehicles.codes import normalise_serial
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Fitment, Registration, Vehicle
from vehicles.proof import vehicle_at_hand_require

Kind = RecyclingRecord.Kind
Disposal = RecyclingRecord.Disposal

RECORDER_KINDS = frozenset({OrganizationKind.RECYCLER, OrganizationKind.REPAIR_SHOP})
# What each kind of enterprise may record.
DISPOSALS_BY_RECORDER = {
    OrganizationKind.REPAIR_SHOP: frozenset({Disposal.HANDOVER}),
    OrganizationKind.RECYCLER: frozenset({Disposal.DISMANTLE, Disposal.HAZARDOUS_TRANSFER, Disposal.CASCADE_REFUSED}),
}
# What each kind of item may undergo: a frame is dismantled; cascade use and hazardous waste concern battery packs.
DISPOSALS_BY_KIND = {
    Kind.VEHICLE: frozenset({Disposal.DISMANTLE}),
    Kind.BATTERY: frozenset(Disposal.values),
}
DISPOSED_ONCE = frozenset({"recycling_vehicle_disposed_once", "recycling_battery_disposed_once"})

REF_MAX = RecyclingRecord._meta.get_field("ref").max_length
MANIFEST_MAX = RecyclingRecord._meta.get_field("manifest_no").max_length
# Transfer manifest numbers are digits in the national system; provincial systems add letters and hyphens.
_MANIFEST = re.compile(r"^[0-9A-Z][0-9A-Z-]*$")


def _recorder_of(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind not in RECORDER_KINDS or not org.is_active:
        raise PermissionRefused(_("Only a recycler or a repair shop may record this."))
    return org


def _clean_manifest_no(value) -> str:
    manifest_no = str(value or "").strip().upper()
    if manifest_no and (len(manifest_no) > MANIFEST_MAX or not _MANIFEST.match(manifest_no)):
        raise InvalidInput(
            _("Enter the manifest number as printed on the transfer manifest."),
            code="invalid_manifest_no",
            fields={"manifest_no": [_("Letters, digits and hyphens, at most %(n)d.") % {"n": MANIFEST_MAX}]},
        )
    return manifest_no


def _clean_ref(kind: str, value) -> str:
    ref = normalise_serial(value) if kind == Kind.BATTERY else str(value or "").strip().upper()
    if not ref:
        raise InvalidInput(_("Scan the frame number or the battery code."), fields={"ref": [_("Required.")]})
    if len(ref) > REF_MAX or "\x00" in ref or not ref.isprintable():
        raise _unknown_item(kind)
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape: PostgreSQL could not even compare it
        raise _unknown_item(kind) from None
    return ref


def _unknown_item(kind: str) -> InvalidInput:
    # For a bike, the same words whether the frame number is unknown or the bike is not shown to be at hand.
    message = (
        _("No bike with this frame number, or the QR code or plate does not match it.")
        if kind == Kind.VEHICLE
        else _("No battery with this code.")
    )
    return InvalidInput(message, code="unknown_item", fields={"ref": [message]})


def _registration_active() -> Conflict:
    message = _(
        "This bike is still registered: the owner must cancel its registration first (注销), or the bike comes "
        "through a trade-in."
    )
    return Conflict(message, code="registration_active", fields={"ref": [message]})


def _already_recycled() -> Conflict:
    message = _("Already recorded as recycled.")
    return Conflict(message, code="already_recycled", fields={"ref": [message]})


def _recycler_get(handed_to) -> Organization:
    recycler = None
    if isinstance(handed_to, str) and handed_to.strip().isdigit():
        handed_to = int(handed_to.strip())
    if isinstance(handed_to, int) and not isinstance(handed_to, bool) and 0 < handed_to < 2**63:
        recycler = Organization.objects.filter(
            pk=handed_to, kind=OrganizationKind.RECYCLER, status=Organization.Status.ACTIVE
        ).first()
    if recycler is None:
        message = _("Not a recycler registered on the platform.")
        raise InvalidInput(_("Unknown recycler."), code="unknown_recycler", fields={"handed_to": [message]})
    return recycler


@transaction.atomic
def recycling_record(
    *,
    user: User,
    kind: str,
    ref: str,
    disposal: str,
    manifest_no: str = "",
    handed_to: int | str | None = None,
    vehicle_code: str | None = "",
    plate_no: str | None = "",
) -> RecyclingRecord:
    """Record a handover (repair shop) or a take-back and disposal (recycler); see the module for the rules.
    `vehicle_code` (the QR code or the label's URL) or `plate_no` shows that a vehicle taken back is at hand."""
    org = _recorder_of(user)
    if kind not in Kind.values:
        raise InvalidInput(_("Choose a bike or a battery."), fields={"kind": [_("Either vehicle or battery.")]})
    if disposal not in Disposal.values:
        raise InvalidInput(_("Choose how the item is disposed of."), fields={"disposal": [_("Unknown disposal.")]})
    ref = _clean_ref(kind, ref)
    manifest_no = _clean_manifest_no(manifest_no)
    if disposal not in DISPOSALS_BY_RECORDER[org.kind]:
        only = _("A repair shop records only the handover of a battery to a recycler.")
        if org.kind == OrganizationKind.RECYCLER:
            only = _("A recycler records the disposal of what it takes back; handovers are recorded by repair shops.")
        raise PermissionRefused(only, code="disposal_not_allowed", fields={"disposal": [only]})
    if disposal not in DISPOSALS_BY_KIND[kind]:
        message = _("A bike is taken back to be dismantled; the other disposals concern battery packs.")
        raise InvalidInput(message, code="invalid_disposal", fields={"disposal": [message]})
    if disposal == Disposal.HANDOVER:
        if handed_to in (None, ""):
            message = _("Choose the recycler that receives the battery.")
            raise InvalidInput(message, fields={"handed_to": [message]})
        recycler = _recycler_get(handed_to)
    elif handed_to not in (None, ""):
        message = _("Only a handover names the recycler that receives the item.")
        raise InvalidInput(message, fields={"handed_to": [message]})
    if disposal == Disposal.HAZARDOUS_TRANSFER and not manifest_no:
        message = _("A hazardous-waste transfer needs the transfer manifest number.")
        raise ComplianceRefusal(message, code="manifest_required", fields={"manifest_no": [message]})

    try:
        with transaction.atomic():
            if disposal == Disposal.HANDOVER:
                return _battery_handover(user=user, shop=org, recycler=recycler, serial=ref, manifest_no=manifest_no)
            if kind == Kind.VEHICLE:
                return _vehicle_take_back(
                    user=user,
                    recycler=org,
                    frame_no=ref,
                    disposal=disposal,
                    manifest_no=manifest_no,
                    vehicle_code=vehicle_code,
                    plate_no=plate_no,
                )
            return _battery_dispose(user=user, recycler=org, serial=ref, disposal=disposal, manifest_no=manifest_no)
    except IntegrityError as error:
        # The row lock serialises disposals of one item; the unique index is the last word if anything slips by.
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") in DISPOSED_ONCE:
            raise _already_recycled() from None
        raise


def _payload(record: RecyclingRecord, **extra) -> dict:
    """What the ledger keeps of a record: ids and codes only, never personal data."""
    return {"record": record.pk, "disposal": record.disposal, "manifest_no": record.manifest_no, **extra}


def _battery_locked(serial: str) -> Battery:
    battery = Battery.objects.select_for_update(of=("self",)).select_related("model").filter(serial=serial).first()
    if battery is None:
        raise _unknown_item(Kind.BATTERY)
    if battery.status == Battery.Status.RECYCLED:
        raise _already_recycled()
    if battery.vehicle_id is not None:
        message = _("This battery is fitted in a bike: take the bike back, or have the battery removed first.")
        raise Conflict(message, code="battery_fitted", fields={"ref": [message]})
    return battery


def _battery_handover(
    *, user: User, shop: Organization, recycler: Organization, serial: str, manifest_no: str
) -> RecyclingRecord:
    """回收首站: the shop hands a battery it removed to a recycler, which holds it until it disposes of it."""
    battery = _battery_locked(serial)
    if battery.holder_id != shop.pk or battery.status != Battery.Status.REMOVED:
        message = _("Your shop does not hold this battery: only batteries removed at your shop are handed over.")
        raise Conflict(message, code="not_held", fields={"ref": [message]})
    now = timezone.now()
    record = RecyclingRecord.objects.create(
        kind=Kind.BATTERY,
        ref=serial,
        battery=battery,
        organization=shop,
        disposal=Disposal.HANDOVER,
        manifest_no=manifest_no,
        handed_to=recycler,
        status=Battery.Status.REMOVED,
        recorded_at=now,
        created_by=user,
    )
    Battery.objects.filter(pk=battery.pk).update(holder=recycler, region=recycler.region)
    event_append(
        battery=battery,
        type=EventType.HANDED_OVER,
        occurred_at=now,
        region_code=shop.region_id,
        organization_id=shop.pk,
        payload=_payload(record, handed_to=recycler.pk),
    )
    return record


def _lead_acid_check(battery: Battery, disposal: str) -> None:
    if battery.model.chemistry == Chemistry.LEAD_ACID and disposal != Disposal.HAZARDOUS_TRANSFER:
        message = _(
            "A lead-acid battery is hazardous waste: record its hazardous-waste transfer with the manifest number."
        )
        raise ComplianceRefusal(message, code="manifest_required", fields={"disposal": [message]})


def _battery_dispose(
    *, user: User, recycler: Organization, serial: str, disposal: str, manifest_no: str
) -> RecyclingRecord:
    """The recycler takes a battery pack back and disposes of it; the event goes on the pack's own chain."""
    battery = _battery_locked(serial)
    _lead_acid_check(battery, disposal)
    now = timezone.now()
    record = RecyclingRecord.objects.create(
        kind=Kind.BATTERY,
        ref=serial,
        battery=battery,
        organization=recycler,
        disposal=disposal,
        manifest_no=manifest_no,
        status=Battery.Status.RECYCLED,
        recorded_at=now,
        created_by=user,
    )
    Battery.objects.filter(pk=battery.pk).update(
        status=Battery.Status.RECYCLED, holder=recycler, region=recycler.region
    )
    event_append(
        battery=battery,
        type=EventType.RECYCLED,
        occurred_at=now,
        region_code=recycler.region_id,
        organization_id=recycler.pk,
        payload=_payload(record),
    )
    return record


def _vehicle_take_back(
    *,
    user: User,
    recycler: Organization,
    frame_no: str,
    disposal: str,
    manifest_no: str,
    vehicle_code: str | None,
    plate_no: str | None,
) -> RecyclingRecord:
    """The recycler takes back a bike shown to be at hand and no longer registered, and dismantles it: its batteries
    are released to the recycler, and the bike is recycled. Its region stays, so the regulators of its jurisdiction
    keep its record."""
    vehicle = vehicle_at_hand_require(
        organization=recycler,
        frame_no=frame_no,
        vehicle=Vehicle.objects.select_for_update(of=("self",)).filter(frame_no=frame_no).first(),
        vehicle_code=vehicle_code,
        plate_no=plate_no,
        refusal=_unknown_item(Kind.VEHICLE),
        attempt="take_back",
    )
    if vehicle.status == Vehicle.Status.RECYCLED:
        raise _already_recycled()
    # The registration's status alone decides: a cancellation (注销) or, later, a trade-in ends it.
    if Registration.objects.filter(vehicle=vehicle, status=Registration.Status.ACTIVE).exists():
        raise _registration_active()
    batteries = list(
        Battery.objects.select_for_update(of=("self",)).select_related("model").filter(vehicle=vehicle).order_by("pk")
    )
    now = timezone.now()
    record = RecyclingRecord.objects.create(
        kind=Kind.VEHICLE,
        ref=frame_no,
        vehicle=vehicle,
        organization=recycler,
        disposal=disposal,
        manifest_no=manifest_no,
        status=Vehicle.Status.RECYCLED,
        batteries_released=[b.serial for b in batteries],
        recorded_at=now,
        created_by=user,
    )
    for battery in batteries:
        # A sale may be dated a few minutes ahead; a fitment never ends before it began.
        Fitment.objects.filter(battery=battery, vehicle=vehicle, removed_at__isnull=True).update(
            removed_at=Greatest(Value(now), F("fitted_at"))
        )
        Battery.objects.filter(pk=battery.pk).update(
            status=Battery.Status.REMOVED, holder=recycler, vehicle=None, region=recycler.region
        )
        event_append(
            vehicle=vehicle,
            battery=battery,
            type=EventType.BATTERY_REMOVED,
            occurred_at=now,
            region_code=recycler.region_id,
            organization_id=recycler.pk,
            payload={"record": record.pk, "model": battery.model.code},
        )
    Vehicle.objects.filter(pk=vehicle.pk).update(status=Vehicle.Status.RECYCLED, holder=recycler)
    # A traded-in bike (以旧换新) has reached a recycler: the dealer's 30 days (alerts/services.py) end here.
    TradeIn.objects.filter(old_vehicle=vehicle, handed_over_at__isnull=True).update(handed_over_at=now)
    event_append(
        vehicle=vehicle,
        type=EventType.RECYCLED,
        occurred_at=now,
        region_code=recycler.region_id,
        organization_id=recycler.pk,
        payload=_payload(record, batteries=record.batteries_released),
    )
    return record

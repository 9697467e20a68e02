"""Write paths of the repair shop: recording a repair (维修记录) with its battery swap, and its photos.

A repair is stored whatever the shop's standing: an unqualified shop's upload is kept and flagged, never dropped,
and nothing here raises alerts. The modification rules (维修变改装) run in alerts/ on the `repaired` event.

The shop shows that the bike is at hand besides naming its frame number: its QR code or plate, unless the shop
repaired it before (vehicles/proof.py). Without that, the bike is unknown to the shop, in the same words as a
frame number nobody carries.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from repairs.models import (
    FLAG_ORDER,
    MAX_BATTERIES,
    MAX_MEASURED_SPEED_KMH,
    MAX_MOTOR_POWER_W,
    MAX_NOTES,
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    Repair,
    RepairFlag,
    RepairKind,
    RepairPhoto,
)
from vehicles.codes import normalise_serial
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Fitment, Vehicle
from vehicles.proof import vehicle_at_hand_require
from vehicles.registration import battery_fit

# A bike a shop may report: one that reached a rider. Stock bikes are the dealer's business.
REPAIRABLE = frozenset({Vehicle.Status.REGISTERED, Vehicle.Status.CANCELLED})
# Codes as printed on packs: GB/T 45565 ones and the makers' own; a non-standard pack still gets reported.
_SERIAL_SHAPE = re.compile(r"^[0-9A-Z][0-9A-Z._/-]{0,47}$")
CLOCK_SKEW = dt.timedelta(minutes=5)
SPEED_STEP = Decimal("0.1")


def shop_of(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind != OrganizationKind.REPAIR_SHOP:
        raise PermissionRefused(_("Only a repair shop may upload a repair."))
    return org


# ---------------------------------------------------------------------------------------------------------------
# Input


def _serials(values: Iterable, field: str) -> list[str]:
    serials = [normalise_serial(v) for v in values]
    serials = [s for s in serials if s]
    if len(serials) > MAX_BATTERIES:
        raise InvalidInput(
            _("At most %(n)d batteries in one repair.") % {"n": MAX_BATTERIES},
            code="too_many_batteries",
            fields={field: [_("At most %(n)d batteries.") % {"n": MAX_BATTERIES}]},
        )
    bad = [s for s in serials if not _SERIAL_SHAPE.match(s)]
    if bad:
        raise InvalidInput(
            _("A battery code is malformed."),
            code="invalid_battery_serial",
            fields={field: [_("Not a battery code: %(codes)s.") % {"codes": ", ".join(bad)}]},
        )
    twice = sorted({s for s in serials if serials.count(s) > 1})
    if twice:
        raise InvalidInput(
            _("A battery is listed twice."),
            code="duplicate_battery",
            fields={field: [_("Listed twice: %(codes)s.") % {"codes": ", ".join(twice)}]},
        )
    return serials


def _power(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        power = int(value)
    except (TypeError, ValueError):
        power = -1
    if isinstance(value, bool) or str(power) != str(value).strip() or not 0 <= power <= MAX_MOTOR_POWER_W:
        raise InvalidInput(
            _("The motor power must be a whole number of watts from 0 to %(max)d.") % {"max": MAX_MOTOR_POWER_W},
            code="out_of_range",
            fields={"fitted_motor_power_w": [_("0 to %(max)d W.") % {"max": MAX_MOTOR_POWER_W}]},
        )
    return power


def _speed(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        speed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        speed = Decimal("NaN")
    if (
        isinstance(value, bool)
        or not speed.is_finite()
        or not 0 <= speed <= MAX_MEASURED_SPEED_KMH
        or speed != speed.quantize(SPEED_STEP)
    ):
        raise InvalidInput(
            _("The measured speed must be from 0 to %(max)d km/h, to one decimal place.")
            % {"max": MAX_MEASURED_SPEED_KMH},
            code="out_of_range",
            fields={"measured_max_speed_kmh": [_("0 to %(max)d km/h.") % {"max": MAX_MEASURED_SPEED_KMH}]},
        )
    return speed.quantize(SPEED_STEP)


def speed_text(speed: Decimal | None) -> str | None:
    """The measured speed as it goes into the ledger: a decimal string with one place ("32.5"), exact."""
    return None if speed is None else str(Decimal(speed).quantize(SPEED_STEP))


# ---------------------------------------------------------------------------------------------------------------
# Recording a repair


def _unknown_vehicle() -> InvalidInput:
    # The same words whether the frame number is unknown, malformed or not yet sold, or the bike is not shown to be
    # at hand: nothing about the bike leaks.
    return InvalidInput(
        _(
            "No registered bike has this frame number, or the QR code or plate does not match it. Check the number "
            "on the frame and scan the bike's QR code."
        ),
        code="unknown_vehicle",
        fields={
            "frame_no": [_("No registered bike has this frame number, or the QR code or plate does not match it.")]
        },
    )


def _too_early(message: str) -> InvalidInput:
    return InvalidInput(message, code="performed_too_early", fields={"performed_at": [message]})


@transaction.atomic
def repair_record(
    *,
    user: User,
    frame_no: str,
    kind: str,
    removed_battery_serials: Sequence[str] = (),
    fitted_battery_serials: Sequence[str] = (),
    fitted_motor_power_w: int | str | None = None,
    measured_max_speed_kmh: Decimal | str | float | None = None,
    notes: str = "",
    performed_at: dt.datetime | None = None,
    vehicle_code: str | None = "",
    plate_no: str | None = "",
) -> Repair:
    """Record a repair of a registered bike and write what it changed to the ledger, holding the bike locked.

    - the bike is shown to be at hand by `vehicle_code` (its QR code or the label's URL) or `plate_no`, unless the
      shop repaired it before (vehicles/proof.py);
    - each removed battery fitted in this bike leaves it: the shop holds it for recycling (回收首站);
    - each fitted battery is fitted, unless it is unknown or in another bike (then only flagged);
    - one `repaired` event closes the repair; the rule engine reads it.
    """
    shop = shop_of(user)
    if kind not in RepairKind.values:
        raise InvalidInput(
            _("Choose the kind of repair."), code="unknown_kind", fields={"kind": [_("Choose from the list.")]}
        )
    removed = _serials(removed_battery_serials, "removed_battery_serials")
    fitted = _serials(fitted_battery_serials, "fitted_battery_serials")
    if kind == RepairKind.BATTERY_REPLACEMENT and not fitted:
        raise InvalidInput(
            _("Scan the battery fitted in the bike."),
            code="battery_required",
            fields={"fitted_battery_serials": [_("A battery replacement needs the code of the battery fitted.")]},
        )
    power = _power(fitted_motor_power_w)
    if kind == RepairKind.MOTOR_REPLACEMENT and power is None:
        raise InvalidInput(
            _("Enter the rated power of the motor fitted."),
            code="motor_power_required",
            fields={"fitted_motor_power_w": [_("A motor replacement needs the power of the motor fitted.")]},
        )
    speed = _speed(measured_max_speed_kmh)
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(
            _("The notes are too long."), fields={"notes": [_("At most %(n)d characters.") % {"n": MAX_NOTES}]}
        )
    now = timezone.now()
    performed_at = performed_at or now
    if performed_at > now + CLOCK_SKEW:
        raise InvalidInput(
            _("The repair time is in the future."),
            code="performed_in_future",
            fields={"performed_at": [_("In the future.")]},
        )

    frame_no = str(frame_no or "").strip().upper()[:32]
    vehicle = Vehicle.objects.select_for_update(of=("self",)).select_related("region").filter(frame_no=frame_no).first()
    vehicle = vehicle_at_hand_require(
        organization=shop,
        frame_no=frame_no,
        vehicle=vehicle,
        vehicle_code=vehicle_code,
        plate_no=plate_no,
        refusal=_unknown_vehicle(),
        attempt="repair",
    )
    if vehicle.status not in REPAIRABLE:
        raise _unknown_vehicle()
    if vehicle.registered_at and performed_at < vehicle.registered_at:
        raise _too_early(_("The repair time is before the bike was registered."))

    plan = _battery_plan(vehicle=vehicle, removed=removed, fitted=fitted, performed_at=performed_at)
    flagged = plan.flagged
    shop_qualified = shop.qualification_valid_on(timezone.localdate(performed_at))
    if not shop_qualified:
        flagged[RepairFlag.SHOP_UNQUALIFIED] = []
    flags = [code for code in FLAG_ORDER if code in flagged]

    repair = Repair.objects.create(
        shop=shop,
        vehicle=vehicle,
        kind=kind,
        removed_battery_serials=removed,
        fitted_battery_serials=fitted,
        fitted_motor_power_w=power,
        measured_max_speed_kmh=speed,
        notes=notes,
        performed_at=performed_at,
        created_by=user,
        shop_qualified=shop_qualified,
        flags=flags,
        flag_serials={code: flagged[code] for code in flags if flagged[code]},
    )

    for battery, fitment in plan.to_remove:
        Fitment.objects.filter(pk=fitment.pk).update(removed_at=performed_at)
        Battery.objects.filter(pk=battery.pk).update(
            status=Battery.Status.REMOVED, holder=shop, vehicle=None, region=shop.region_id
        )
        battery.status, battery.holder, battery.vehicle = Battery.Status.REMOVED, shop, None
        event_append(
            vehicle=vehicle,
            battery=battery,
            type=EventType.BATTERY_REMOVED,
            occurred_at=performed_at,
            region_code=shop.region_id,
            organization_id=shop.pk,
            payload={"repair": repair.pk},
        )
    for battery in plan.to_fit:
        battery_fit(vehicle=vehicle, battery=battery, organization=shop, at=performed_at)

    event_append(
        vehicle=vehicle,
        type=EventType.REPAIRED,
        occurred_at=performed_at,
        region_code=shop.region_id,
        organization_id=shop.pk,
        payload=repaired_payload(repair),
    )
    return repair


@dataclass
class _BatteryPlan:
    """What a repair does to each battery it names, decided before anything is written."""

    to_remove: list[tuple[Battery, Fitment]] = field(default_factory=list)  # fitted in this bike: they come out
    to_fit: list[Battery] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # flag code → battery serials

    def flag(self, code: str, serial: str) -> None:
        self.flagged.setdefault(code, []).append(serial)


def _battery_plan(
    *, vehicle: Vehicle, removed: list[str], fitted: list[str], performed_at: dt.datetime
) -> _BatteryPlan:
    """Lock the batteries named (the bike is locked already) and decide what happens to each."""
    batteries = {
        b.serial: b
        for b in Battery.objects.select_for_update(of=("self",))
        .select_related("model")
        .filter(serial__in=set(removed) | set(fitted))
        .order_by("pk")
    }
    open_fitments = {
        f.battery_id: f
        for f in Fitment.objects.select_for_update().filter(
            battery__in=[b.pk for b in batteries.values()], removed_at__isnull=True
        )
    }
    plan = _BatteryPlan()

    for serial in removed:
        battery = batteries.get(serial)
        fitment = open_fitments.get(battery.pk) if battery is not None else None
        if fitment is None or fitment.vehicle_id != vehicle.pk:
            plan.flag(RepairFlag.BATTERY_NOT_FITTED_HERE, serial)  # nothing changes for it
            continue
        if performed_at < fitment.fitted_at:
            raise _too_early(_("The repair time is before battery %(code)s was fitted.") % {"code": serial})
        plan.to_remove.append((battery, fitment))

    leaving = {battery.pk for battery, _ in plan.to_remove}
    for serial in fitted:
        battery = batteries.get(serial)
        if battery is None:
            plan.flag(RepairFlag.BATTERY_UNKNOWN, serial)  # the rule engine sees it in the repaired payload
            continue
        fitment = open_fitments.get(battery.pk)
        elsewhere = (fitment is not None and fitment.vehicle_id != vehicle.pk) or (
            battery.vehicle_id is not None and battery.vehicle_id != vehicle.pk
        )
        if elsewhere:
            plan.flag(RepairFlag.BATTERY_FITTED_ELSEWHERE, serial)  # not fitted: the other bike keeps it
            continue
        if fitment is not None and battery.pk not in leaving:
            continue  # already in this bike and staying there: nothing changes
        if battery.status == Battery.Status.RECYCLED:
            plan.flag(RepairFlag.BATTERY_RECYCLED, serial)  # fitted all the same: it is physically in the bike
        plan.to_fit.append(battery)
    return plan


def repaired_payload(repair: Repair) -> dict:
    """The payload of the `repaired` event: what the modification rules need, and no personal data."""
    return {
        "repair": repair.pk,
        "kind": repair.kind,
        "shop": repair.shop_id,
        "shop_qualified": repair.shop_qualified,
        "fitted_motor_power_w": repair.fitted_motor_power_w,
        "measured_max_speed_kmh": speed_text(repair.measured_max_speed_kmh),
        "removed_battery_serials": list(repair.removed_battery_serials),
        "fitted_battery_serials": list(repair.fitted_battery_serials),
        "flags": list(repair.flags),
        # Per battery, the flags that concern it: the rules raise BATTERY_DUPLICATE / _RECYCLED_REAPPEARS by serial.
        "battery_flags": battery_flags(repair.flag_serials or {}),
    }


def battery_flags(flag_serials: dict[str, list[str]]) -> dict[str, list[str]]:
    by_serial: dict[str, list[str]] = {}
    for flag, serials in flag_serials.items():
        for serial in serials:
            by_serial.setdefault(serial, []).append(flag)
    return by_serial


# ---------------------------------------------------------------------------------------------------------------
# Photos

_SIGNATURES = (
    (b"\xff\xd8\xff", RepairPhoto.ContentType.JPEG),
    (b"\x89PNG\r\n\x1a\n", RepairPhoto.ContentType.PNG),
)


def photo_content_type(upload: UploadedFile) -> str | None:
    """What the file really is, from its first bytes (the phone's declared type is not trusted)."""
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return RepairPhoto.ContentType.WEBP
    return None


def _photo_problem(upload, field: str) -> InvalidInput | None:
    if not isinstance(upload, UploadedFile):
        return InvalidInput(_("Attach a photo file."), code="photo_required", fields={field: [_("Not a file.")]})
    if upload.size is None or upload.size > MAX_PHOTO_BYTES:
        return InvalidInput(
            _("A photo is larger than %(mb)d MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)},
            code="photo_too_large",
            fields={field: [_("At most %(mb)d MB each.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}]},
        )
    if upload.size == 0 or photo_content_type(upload) is None:
        return InvalidInput(
            _("A photo is not a JPEG, PNG or WebP image."),
            code="unsupported_photo_type",
            fields={field: [_("JPEG, PNG or WebP only.")]},
        )
    return None


@transaction.atomic
def repair_photos_add(
    *, user: User, repair: Repair, uploads: Sequence[UploadedFile], field: str = "photo"
) -> list[RepairPhoto]:
    """Attach photos to a repair of the user's own shop: JPEG, PNG or WebP, 5 MB each, 6 per repair at most."""
    shop = shop_of(user)
    if repair.shop_id != shop.pk:
        raise PermissionRefused(_("Only the shop that made the repair may add its photos."))
    if not uploads:
        raise InvalidInput(_("Attach a photo."), code="photo_required", fields={field: [_("Required.")]})
    for upload in uploads:
        problem = _photo_problem(upload, field)
        if problem is not None:
            raise problem
    # Counted under the repair's row lock, so two uploads at once cannot pass the limit together.
    Repair.objects.select_for_update().filter(pk=repair.pk).first()
    if repair.photos.count() + len(uploads) > MAX_PHOTOS:
        raise InvalidInput(
            _("At most %(n)d photos per repair.") % {"n": MAX_PHOTOS},
            code="too_many_photos",
            fields={field: [_("At most %(n)d photos per repair.") % {"n": MAX_PHOTOS}]},
        )
    photos = []
    for upload in uploads:
        photo = RepairPhoto(repair=repair, content_type=photo_content_type(upload), size=upload.size, uploaded_by=user)
        photo.file.save("photo", upload, save=False)
        photo.save()
        photos.append(photo)
    return photos

"""Repair records uploaded by repair shops (维修记录), with their photos; the ledger holds the facts they caused."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization, OrganizationKind, User
from core.scoping import ScopeRule
from vehicles.models import Vehicle

# A removed battery is handed to recycling within this many days of its removal (回收首站: the shop holds it).
HANDOVER_DAYS = 30

MAX_BATTERIES = 4  # per list (removed, fitted) in one repair, as at a sale
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_MOTOR_POWER_W = 10_000
MAX_MEASURED_SPEED_KMH = 150
MAX_NOTES = 2000


class RepairKind(models.TextChoices):
    BATTERY_REPLACEMENT = "battery_replacement", _("battery replacement")
    MOTOR_REPLACEMENT = "motor_replacement", _("motor replacement")
    CONTROLLER_REPLACEMENT = "controller_replacement", _("controller replacement")
    SPEED_LIMITER = "speed_limiter", _("speed limiter")
    BRAKE_TYRE = "brake_tyre", _("brakes or tyres")
    OTHER = "other", _("other repair")


class RepairFlag(models.TextChoices):
    """What the upload itself showed; the rule engine (alerts/) decides from the `repaired` event what to raise."""

    SHOP_UNQUALIFIED = "shop_unqualified", _("shop qualification missing or expired")
    BATTERY_NOT_FITTED_HERE = "battery_not_fitted_here", _("removed battery not recorded in this bike")
    BATTERY_FITTED_ELSEWHERE = "battery_fitted_elsewhere", _("fitted battery recorded in another bike")
    BATTERY_RECYCLED = "battery_recycled", _("fitted battery recorded as recycled")
    BATTERY_UNKNOWN = "battery_unknown", _("fitted battery not on record")


FLAG_ORDER = [flag.value for flag in RepairFlag]


class Repair(models.Model):
    """One repair of one bike by a repair shop: what was done, which batteries came out and went in.

    The shop's qualification is judged as it stood on the repair day and kept with the record: an unqualified shop's
    repair is stored and flagged, never dropped. Removing and fitting batteries is written to the ledger in the same
    transaction, followed by one `repaired` event that the modification rules (维修变改装) read.
    """

    shop = models.ForeignKey(
        Organization,
        verbose_name=_("repair shop"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganizationKind.REPAIR_SHOP},
    )
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="repairs")
    kind = models.CharField(_("kind of repair"), max_length=32, choices=RepairKind.choices)
    removed_battery_serials = models.JSONField(_("removed batteries"), default=list, blank=True)
    fitted_battery_serials = models.JSONField(_("fitted batteries"), default=list, blank=True)
    fitted_motor_power_w = models.PositiveIntegerField(_("fitted motor power (W)"), null=True, blank=True)
    measured_max_speed_kmh = models.DecimalField(
        _("measured max speed (km/h)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    performed_at = models.DateTimeField(_("performed at"))
    created_by = models.ForeignKey(User, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+")
    shop_qualified = models.BooleanField(_("shop qualified on the repair day"))
    flags = models.JSONField(_("flags"), default=list, blank=True)
    # The battery serials behind each battery flag, e.g. {"battery_unknown": ["X1"]}, for the screens and the rules.
    flag_serials = models.JSONField(_("flagged batteries"), default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    # Regulators of the shop's region and of the bike's (current) region; the shop itself.
    scope = ScopeRule(region=("shop__region__code", "vehicle__region__code"), organizations=("shop_id",))

    class Meta:
        ordering = ["-performed_at", "-id"]
        verbose_name = _("repair")
        verbose_name_plural = _("repairs")
        indexes = [
            models.Index(fields=["shop", "performed_at"], name="repair_shop_performed_at"),
            models.Index(fields=["vehicle", "performed_at"], name="repair_vehicle_performed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle} {self.get_kind_display()} {self.performed_at:%Y-%m-%d}"


def photo_path(photo: RepairPhoto, filename: str) -> str:
    """A random name under repairs/<repair id>/; what the phone called the file is not kept."""
    return f"repairs/{photo.repair_id}/{uuid.uuid4().hex}.{photo.extension}"


class RepairPhoto(models.Model):
    """A photo taken in the workshop (the bike, the removed battery's label, the fitted part)."""

    class ContentType(models.TextChoices):
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"
        WEBP = "image/webp", "WebP"

    repair = models.ForeignKey(Repair, on_delete=models.PROTECT, related_name="photos")
    file = models.FileField(_("file"), upload_to=photo_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=16, choices=ContentType.choices)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    scope = ScopeRule(
        region=("repair__shop__region__code", "repair__vehicle__region__code"), organizations=("repair__shop_id",)
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("repair photo")
        verbose_name_plural = _("repair photos")

    def __str__(self) -> str:
        return f"{self.repair_id}: {self.file.name}"

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(self.content_type, "bin")

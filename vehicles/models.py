"""Vehicles, batteries, owners, fitment, registration: the current state of the chain (projections of the ledger).

The ledger itself (`LifecycleEvent`) is append-only and hash-chained; every change of these rows is written in
the same transaction as the event that records it (vehicles/ledger.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import BatteryModel, VehicleModel
from core.models import Organization, OrganizationKind, Region
from core.personal_data import decrypt, mask_id_number, mask_name, mask_phone
from core.scoping import ScopeRule

# Police register bikes and plates (合体登记), so they see the chain records of their region; other departments
# see only what alerts share with them.
POLICE_ONLY = frozenset({OrganizationKind.POLICE})


class Vehicle(models.Model):
    """One e-bike, from the factory to the recycler (一车一档)."""

    class Status(models.TextChoices):
        PRODUCED = "produced", _("produced")
        IN_TRANSIT = "in_transit", _("in transit")
        IN_STOCK = "in_stock", _("in stock")
        REGISTERED = "registered", _("registered")
        CANCELLED = "cancelled", _("registration cancelled")
        SCRAPPED = "scrapped", _("scrapped")
        RECYCLED = "recycled", _("recycled")

    frame_no = models.CharField(_("frame number"), max_length=15, unique=True)
    motor_no = models.CharField(_("motor number"), max_length=40)
    model = models.ForeignKey(VehicleModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="+")
    manufacturer = models.ForeignKey(
        Organization, verbose_name=_("manufacturer"), on_delete=models.PROTECT, related_name="+"
    )
    produced_on = models.DateField(_("produced on"))
    code = models.CharField(_("public code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PRODUCED)
    # Whose stock it is in (maker, then dealer); empty once sold.
    holder = models.ForeignKey(
        Organization, verbose_name=_("held by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dealer = models.ForeignKey(
        Organization,
        verbose_name=_("selling dealer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The jurisdiction the bike belongs to: where it is held, then where its owner is registered.
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    # Head of this vehicle's hash chain; appending an event locks this row, which serialises the chain.
    ledger_seq = models.PositiveIntegerField(default=0)
    ledger_head = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeRule(
        region=("region__code", "dealer__region__code"),
        # Repair shops see the bikes they worked on (API.md "Vehicle record").
        organizations=("manufacturer_id", "holder_id", "dealer_id", "repairs__shop_id"),
        department_sees_region=POLICE_ONLY,
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        indexes = [
            models.Index(fields=["holder", "status"], name="vehicle_holder_status"),
            models.Index(fields=["dealer", "registered_at"], name="vehicle_dealer_sales"),
            models.Index(fields=["region"], name="vehicle_region_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.frame_no


class Battery(models.Model):
    """One battery pack, identified by the unique code GB 43854-2024 requires on every pack."""

    class Status(models.TextChoices):
        PRODUCED = "produced", _("produced")
        IN_TRANSIT = "in_transit", _("in transit")
        IN_STOCK = "in_stock", _("in stock")
        FITTED = "fitted", _("fitted")
        REMOVED = "removed", _("removed")
        RECYCLED = "recycled", _("recycled")

    serial = models.CharField(_("serial"), max_length=48, unique=True)
    model = models.ForeignKey(BatteryModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="+")
    maker = models.ForeignKey(Organization, verbose_name=_("maker"), on_delete=models.PROTECT, related_name="+")
    produced_on = models.DateField(_("produced on"))
    code = models.CharField(_("public code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PRODUCED)
    holder = models.ForeignKey(
        Organization, verbose_name=_("held by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("fitted in"), null=True, blank=True, on_delete=models.PROTECT, related_name="batteries"
    )
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    ledger_seq = models.PositiveIntegerField(default=0)
    ledger_head = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeRule(
        region=("region__code", "vehicle__region__code"),
        organizations=("maker_id", "holder_id", "vehicle__dealer_id"),
        department_sees_region=POLICE_ONLY,
    )

    class Meta:
        verbose_name = _("battery")
        verbose_name_plural = _("batteries")
        indexes = [
            models.Index(fields=["holder", "status"], name="battery_holder_status"),
            models.Index(fields=["region"], name="battery_region_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.serial


class Owner(models.Model):
    """A registered owner. Name, ID number and phone are encrypted; the hashes allow exact lookup."""

    name_enc = models.TextField()
    id_number_enc = models.TextField()
    phone_enc = models.TextField()
    id_number_hash = models.CharField(max_length=64, unique=True)
    phone_hash = models.CharField(max_length=64, db_index=True)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeRule(region="region__code", department_sees_region=POLICE_ONLY)

    class Meta:
        verbose_name = _("owner")
        verbose_name_plural = _("owners")

    def __str__(self) -> str:
        return f"{mask_name(self.name)} ({self.pk})"

    @property
    def name(self) -> str:
        return decrypt(self.name_enc)

    @property
    def id_number(self) -> str:
        return decrypt(self.id_number_enc)

    @property
    def phone(self) -> str:
        return decrypt(self.phone_enc)

    def as_dict(self, *, unmasked: bool = False) -> dict:
        if unmasked:
            return {"name": self.name, "id_number": self.id_number, "phone": self.phone}
        return {
            "name": mask_name(self.name),
            "id_number": mask_id_number(self.id_number),
            "phone": mask_phone(self.phone),
        }


class Fitment(models.Model):
    """A battery in a vehicle, from fitted_at until removed_at. A battery is in at most one vehicle at a time."""

    battery = models.ForeignKey(Battery, on_delete=models.PROTECT, related_name="fitments")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="fitments")
    fitted_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    fitted_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("fitment")
        verbose_name_plural = _("fitments")
        constraints = [
            models.UniqueConstraint(
                fields=["battery"], condition=Q(removed_at__isnull=True), name="battery_in_one_vehicle_at_a_time"
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=models.F("fitted_at")),
                name="fitment_removed_after_fitted",
            ),
        ]
        indexes = [models.Index(fields=["vehicle", "removed_at"], name="fitment_vehicle_current")]

    def __str__(self) -> str:
        return f"{self.battery_id} in {self.vehicle_id}"


class Registration(models.Model):
    """The binding of vehicle, batteries and owner (合体登记), with the plate (码牌合一: plate = code by default)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        TRANSFERRED = "transferred", _("transferred")
        CANCELLED = "cancelled", _("cancelled")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="registrations")
    owner = models.ForeignKey(Owner, on_delete=models.PROTECT, related_name="registrations")
    dealer = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    plate_no = models.CharField(_("plate number"), max_length=20)
    registered_at = models.DateTimeField(_("registered at"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    scope = ScopeRule(
        region=("region__code", "dealer__region__code"),
        organizations=("dealer_id",),
        department_sees_region=POLICE_ONLY,
    )

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.UniqueConstraint(fields=["vehicle"], condition=Q(status="active"), name="one_active_registration"),
            models.UniqueConstraint(fields=["plate_no"], condition=Q(status="active"), name="plate_no_active_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="registration_owner"),
            models.Index(fields=["plate_no"], name="registration_plate"),
        ]

    def __str__(self) -> str:
        return f"{self.plate_no} ({self.get_status_display()})"


class EventType(models.TextChoices):
    """The business step of an event (EPCIS "why")."""

    PRODUCED = "produced", _("produced")
    RECEIVED = "received", _("received by dealer")
    RECEIPT_REJECTED = "receipt_rejected", _("refused at incoming inspection")
    SOLD = "sold", _("sold")
    REGISTERED = "registered", _("registered")
    BATTERY_FITTED = "battery_fitted", _("battery fitted")
    BATTERY_REMOVED = "battery_removed", _("battery removed")
    REPAIRED = "repaired", _("repaired")
    TRANSFERRED = "transferred", _("ownership transferred")
    REGISTRATION_CANCELLED = "registration_cancelled", _("registration cancelled")
    COMPLAINT = "complaint", _("complaint filed")
    SCRAPPED = "scrapped", _("scrapped")
    RECYCLED = "recycled", _("recycled")
    HANDED_OVER = "handed_over", _("handed over to a recycler")
    SHIPPED = "shipped", _("shipped")
    SWAPPED = "swapped", _("swapped in a charging cabinet")
    TRADED_IN = "traded_in", _("traded in")
    STOLEN_REPORTED = "stolen_reported", _("reported stolen")
    FOUND = "found", _("found")


class LifecycleEvent(models.Model):
    """One fact about a vehicle or battery, EPCIS-shaped: what, when, where, why. Append-only, hash-chained.

    The table is range-partitioned by month on recorded_at and guarded by a trigger that refuses UPDATE and
    DELETE. Migration 0002 creates it in SQL; Django only knows its shape. Its real primary key is
    (id, recorded_at), as partitioning requires; ids come from one identity sequence, so `id` alone is unique.
    """

    id = models.BigAutoField(primary_key=True)
    recorded_at = models.DateTimeField()
    occurred_at = models.DateTimeField()
    vehicle = models.ForeignKey(Vehicle, null=True, on_delete=models.DO_NOTHING, related_name="events")
    battery = models.ForeignKey(Battery, null=True, on_delete=models.DO_NOTHING, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32, choices=EventType.choices)
    organization = models.ForeignKey(Organization, null=True, on_delete=models.DO_NOTHING, related_name="+")
    region_code = models.CharField(max_length=12)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "vehicles_lifecycleevent"
        verbose_name = _("lifecycle event")
        verbose_name_plural = _("lifecycle events")

    def __str__(self) -> str:
        return f"{self.type} #{self.seq}"


class OutboxMessage(models.Model):
    """Written in the same transaction as its event; the relay hands it to Celery (transactional outbox)."""

    event_id = models.BigIntegerField()
    event_recorded_at = models.DateTimeField()
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(fields=["id"], condition=Q(published_at__isnull=True), name="outbox_unpublished"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"


class PublicScan(models.Model):
    """A scan of a code the platform does not know: a forged or counterfeit label, for regulators to follow up.

    Only unknown or malformed codes are logged; scans of genuine codes leave no trace (no tracking of riders).
    """

    class Reason(models.TextChoices):
        MALFORMED = "malformed", _("malformed code")
        UNKNOWN = "unknown", _("unknown code")

    class Source(models.TextChoices):
        PAGE = "page", _("QR page")
        API = "api", _("public API")

    code = models.CharField(_("code as scanned"), max_length=64)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.PAGE)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)

    # No jurisdiction is known for a forged code: only the platform sees these rows (admin list).
    scope = ScopeRule()

    class Meta:
        ordering = ["-scanned_at"]
        verbose_name = _("unknown-code scan")
        verbose_name_plural = _("unknown-code scans")
        indexes = [
            models.Index(fields=["scanned_at"], name="publicscan_scanned_at"),
            models.Index(fields=["code", "scanned_at"], name="publicscan_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_reason_display()})"


def production_upload_path(upload: ProductionUpload, filename: str) -> str:
    """A random name under production-uploads/<organization id>/; the name the maker gave is kept in `file_name`."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"production-uploads/{upload.organization_id}/{uuid.uuid4().hex}.{extension}"


class ProductionUpload(models.Model):
    """A maker's file of produced frame numbers or battery codes (出厂登记), registered in the background.

    All or nothing: either every row is registered (with its ledger event) or none is, and the bad rows are listed.
    """

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("vehicles")
        BATTERY = "battery", _("batteries")

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        READING = "reading", _("reading the file")
        WRITING = "writing", _("checking and registering")
        DONE = "done", _("registered")
        REFUSED = "refused", _("refused, nothing registered")
        FAILED = "failed", _("failed, nothing registered")

    organization = models.ForeignKey(Organization, verbose_name=_("maker"), on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        "core.User", verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    model_code = models.CharField(_("model"), max_length=64)
    file = models.FileField(_("file"), upload_to=production_upload_path, max_length=200)
    file_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    # Known once the file is read (an estimate while reading, when the file tells its length).
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    created_count = models.PositiveIntegerField(_("registered"), default=0)
    bad_count = models.PositiveIntegerField(_("bad rows"), default=0)
    # The first bad rows (vehicles/uploads.py BAD_ROWS_KEPT): [{"row", "cells", "reasons"}], reasons as codes.
    bad_rows = models.JSONField(_("bad rows"), default=list, blank=True)
    # Why a whole file was refused or failed: a code the page words, its details, and the service's own message.
    problem = models.CharField(_("problem"), max_length=32, blank=True)
    problem_detail = models.JSONField(default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Each step of the work sets it: a reading or writing upload not touched for a while lost its worker.
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeRule(organizations=("organization_id",))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("production upload")
        verbose_name_plural = _("production uploads")
        indexes = [models.Index(fields=["organization", "-created_at"], name="production_upload_org")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.REFUSED, self.Status.FAILED}


class StolenReport(models.Model):
    """A bike reported stolen by the police of its jurisdiction, until it is found. While it is open, every later
    event of the bike (repair, sale, receipt, swap, take-back, trade-in, an enterprise's scan) raises STOLEN_SEEN."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="stolen_reports")
    region_code = models.CharField(_("region"), max_length=12)
    report_no = models.CharField(_("police report number"), max_length=64)
    reported_at = models.DateTimeField(_("reported at"))
    reported_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    found_at = models.DateTimeField(_("found at"), null=True, blank=True)
    found_by = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    # The police of the region read its hot sheet, as they read its bikes (POLICE_ONLY).
    scope = ScopeRule(region="region_code", organizations=("reported_by_id",), department_sees_region=POLICE_ONLY)

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("stolen bike report")
        verbose_name_plural = _("stolen bike reports")
        constraints = [
            models.UniqueConstraint(fields=["vehicle"], condition=Q(found_at__isnull=True), name="stolen_open_once")
        ]
        indexes = [
            models.Index(
                fields=["region_code"],
                condition=Q(found_at__isnull=True),
                name="stolen_open_region",
                opclasses=["varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.report_no}"

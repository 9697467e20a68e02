"""Alert requests raised by the chain (e.g. a rejected delivery); the rule engine turns them into routed alerts."""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Organization, User
from core.personal_data import decrypt, mask_phone
from core.scoping import ScopeRule


class RuleCode(models.TextChoices):
    """Stable rule codes (API.md "Alerts")."""

    MOD_BATTERY_NONSTANDARD = "MOD_BATTERY_NONSTANDARD", _("non-standard battery fitted")
    MOD_SPEED_UNLOCK = "MOD_SPEED_UNLOCK", _("speed limiter removed")
    MOD_MOTOR_POWER = "MOD_MOTOR_POWER", _("over-power motor fitted")
    PRODUCT_UNCERTIFIED = "PRODUCT_UNCERTIFIED", _("uncertified product")
    PRODUCT_UNREGISTERED = "PRODUCT_UNREGISTERED", _("product not registered on the platform")
    BATTERY_DUPLICATE = "BATTERY_DUPLICATE", _("battery claimed in two places")
    BATTERY_RECYCLED_REAPPEARS = "BATTERY_RECYCLED_REAPPEARS", _("recycled battery reappears")
    SHOP_UNQUALIFIED = "SHOP_UNQUALIFIED", _("unqualified repair shop")
    STOCK_MISMATCH = "STOCK_MISMATCH", _("stock mismatch")
    COMPLAINT = "COMPLAINT", _("consumer complaint")
    PROOF_FAILED = "PROOF_FAILED", _("repeated failed proof that a bike is at hand")
    DUTY_OVERDUE = "DUTY_OVERDUE", _("enterprise duty record missing")
    INSPECTION_HAZARD = "INSPECTION_HAZARD", _("hazard found in an inspection")
    SAMPLING_FAILED = "SAMPLING_FAILED", _("failed supervisory sampling")
    BATTERY_THERMAL_RISK = "BATTERY_THERMAL_RISK", _("battery thermal alarm in a charging cabinet")
    STOLEN_SEEN = "STOLEN_SEEN", _("a stolen bike seen")


class AlertRequest(models.Model):
    """A finding waiting to become an alert: what, about whom, where, with the evidence as it stood."""

    rule = models.CharField(_("rule"), max_length=40, choices=RuleCode.choices)
    region_code = models.CharField(_("region"), max_length=12)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("enterprise concerned"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    frame_no = models.CharField(_("frame number"), max_length=15, blank=True)
    battery_serial = models.CharField(_("battery serial"), max_length=48, blank=True)
    source = models.CharField(_("source"), max_length=40)  # e.g. "receipt:12"
    evidence = models.JSONField(_("evidence"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    scope = ScopeRule(region="region_code", organizations=("organization_id",))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("alert request")
        verbose_name_plural = _("alert requests")
        constraints = [
            models.UniqueConstraint(fields=["source", "rule", "frame_no", "battery_serial"], name="alert_request_once"),
        ]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(processed_at__isnull=True), name="alert_request_pending")
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.frame_no or self.battery_serial}"


class Category(models.TextChoices):
    BATTERY = "battery", _("battery and charging")
    SPEED = "speed", _("speed unlocking")
    MOTOR = "motor", _("motor power")
    PRODUCT = "product", _("product certification")
    STOCK = "stock", _("stock and sales records")
    SHOP = "shop", _("repair shop qualification")
    COMPLAINT = "complaint", _("consumer complaint")
    ACCESS = "access", _("access to records")
    DUTY = "duty", _("enterprise duties (日管控、周排查、月调度)")
    INSPECTION = "inspection", _("inspections and sampling")
    THEFT = "theft", _("stolen bikes")


class Severity(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class Alert(models.Model):
    """A finding routed to the regulator of its jurisdiction, run through the closed loop (整改—核验—反馈)."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        DISPATCHED = "dispatched", _("dispatched")
        RECTIFICATION_REQUESTED = "rectification_requested", _("rectification requested")
        RECTIFICATION_SUBMITTED = "rectification_submitted", _("rectification submitted")
        VERIFIED = "verified", _("verified")
        CLOSED = "closed", _("closed")
        DISMISSED = "dismissed", _("dismissed")
        REOPENED = "reopened", _("reopened")

    rule = models.CharField(_("rule"), max_length=40, choices=RuleCode.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=32, choices=Status.choices, default=Status.NEW)
    # Where it happened; the regulator is the one whose region code is the longest prefix of it.
    region_code = models.CharField(_("region"), max_length=12)
    regulator = models.ForeignKey(
        Organization, verbose_name=_("regulator"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("enterprise concerned"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    vehicle = models.ForeignKey("vehicles.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    battery = models.ForeignKey("vehicles.Battery", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    frame_no = models.CharField(_("frame number"), max_length=15, blank=True)
    battery_serial = models.CharField(_("battery serial"), max_length=48, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, encoder=DjangoJSONEncoder)
    # One alert per finding, however often the event is delivered or however many workers see it.
    dedup_key = models.CharField(max_length=200, unique=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    event_at = models.DateTimeField(_("event time"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    dispatch_due_at = models.DateTimeField(_("dispatch due"))
    due_at = models.DateTimeField(_("closure due"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    scope = ScopeRule(region="region_code", organizations=("organization_id",), shared="deliveries__organization_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(
                fields=["region_code", "-created_at"],
                name="alert_region_created",
                opclasses=["varchar_pattern_ops", ""],
            ),
            # The inbox's order: without it a city's page sorts every alert of its subtree.
            models.Index(fields=["-created_at", "-id"], name="alert_newest_first"),
            models.Index(fields=["status", "due_at"], name="alert_status_due"),
            models.Index(fields=["organization", "-created_at"], name="alert_org_created"),
            models.Index(fields=["frame_no"], name="alert_frame_no"),
            models.Index(fields=["battery_serial"], name="alert_battery_serial"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule} {self.frame_no or self.battery_serial}"

    @property
    def is_open(self) -> bool:
        return self.status not in {self.Status.CLOSED, self.Status.DISMISSED}


class AlertTransition(models.Model):
    """Every step of the closed loop: who did what, when, with what note (and photos)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=32)
    from_status = models.CharField(_("from"), max_length=32)
    to_status = models.CharField(_("to"), max_length=32)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    # The closure deadline in force when the step was taken (reopening and escalation move it): whether a closure
    # met its deadline is a fact of that moment, which the rollups and their nightly re-derivation both read.
    due_at = models.DateTimeField(_("deadline at the time"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("alert step")
        verbose_name_plural = _("alert steps")

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.action}"


class AlertDelivery(models.Model):
    """One recipient of an alert: the regulator of the jurisdiction, a subscribed department, an escalation."""

    class Reason(models.TextChoices):
        JURISDICTION = "jurisdiction", _("jurisdiction")
        SUBSCRIPTION = "subscription", _("department subscription")
        DEPARTMENT = "department", _("department concerned")
        ESCALATION = "escalation", _("escalation")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    delivered_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        constraints = [models.UniqueConstraint(fields=["alert", "organization", "reason"], name="alert_delivery_once")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.organization_id}"


class DepartmentSubscription(models.Model):
    """A department's wish to receive the alerts of some categories in its region (一方预警、多方联动)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_subscriptions")
    categories = models.JSONField(_("categories"), default=list)
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    secret = models.CharField(_("signing secret"), max_length=128, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeRule(region="organization__region__code", organizations=("organization_id",))

    class Meta:
        verbose_name = _("department subscription")
        verbose_name_plural = _("department subscriptions")

    def __str__(self) -> str:
        return f"{self.organization}: {', '.join(self.categories)}"


class WebhookDelivery(models.Model):
    """One alert to post to one subscription's webhook, with its attempts (signed, retried with backoff)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(DepartmentSubscription, on_delete=models.CASCADE, related_name="deliveries")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["subscription", "alert"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_pending")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.subscription_id} ({self.status})"


class AlertAttachment(models.Model):
    """A photo sent with a step of the loop, e.g. the rectified bike (整改照片)."""

    transition = models.ForeignKey(AlertTransition, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="alerts/%Y/%m/")
    content_type = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alert photo")
        verbose_name_plural = _("alert photos")

    def __str__(self) -> str:
        return self.file.name


# ── Consumer complaints (我要投诉) ────────────────────────────────────────────────────────────────────────────


class ComplaintCategory(models.TextChoices):
    """What a consumer complains about (API.md "Public"); stable codes."""

    BATTERY_FIRE_RISK = "battery_fire_risk", _("battery overheating or fire risk")
    ILLEGAL_MODIFICATION = "illegal_modification", _("illegal modification (speed unlocked, battery or motor swapped)")
    UNCERTIFIED_PRODUCT = "uncertified_product", _("no CCC certificate, or a counterfeit product")
    QUALITY = "quality", _("quality problem")
    DEALER_CONDUCT = "dealer_conduct", _("conduct of the seller")
    REPAIR_CONDUCT = "repair_conduct", _("conduct of a repair shop")
    OTHER = "other", _("something else")


class Complaint(models.Model):
    """A consumer's complaint, filed without login from the QR page or the API; it raises a COMPLAINT alert.

    The contact phone is encrypted at rest with a keyed hash beside it (docs/decisions/006); it never reaches
    the ledger or an alert. The ticket is what the complainant keeps to check the status.
    """

    class Subject(models.TextChoices):
        VEHICLE = "vehicle", _("a registered bike")
        BATTERY = "battery", _("a registered battery")
        UNREGISTERED = "unregistered", _("a code that is not registered (possibly counterfeit)")
        NONE = "none", _("no code given")

    ticket = models.CharField(_("ticket"), max_length=12, unique=True)
    category = models.CharField(_("category"), max_length=32, choices=ComplaintCategory.choices)
    description = models.TextField(_("description"))
    subject = models.CharField(_("about"), max_length=16, choices=Subject.choices)
    code = models.CharField(_("code given"), max_length=64, blank=True)
    vehicle = models.ForeignKey("vehicles.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    battery = models.ForeignKey("vehicles.Battery", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Where the complaint is handled: the bike's region, else the battery's, else the one the complainant picked.
    region = models.ForeignKey("core.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    contact_phone_enc = models.TextField(blank=True)
    contact_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)

    scope = ScopeRule(region="region__code")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            models.Index(
                fields=["region", "-created_at"], name="complaint_region_created", opclasses=["varchar_pattern_ops", ""]
            ),
        ]

    def __str__(self) -> str:
        return self.ticket

    @property
    def alert_dedup_key(self) -> str:
        """The dedup key of its alert, whichever path raised it (the `complaint` rule or raise_findings)."""
        return f"{RuleCode.COMPLAINT.value}:complaint:{self.pk}"

    @property
    def contact_phone_masked(self) -> str:
        return mask_phone(decrypt(self.contact_phone_enc))


def complaint_photo_path(photo: ComplaintPhoto, filename: str) -> str:
    """A random name; what the phone called the file is not kept."""
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(photo.content_type, "bin")
    return f"complaints/{photo.complaint_id}/{uuid.uuid4().hex}.{extension}"


class ComplaintPhoto(models.Model):
    """A photo sent with a complaint, within a short time of filing it; its metadata (EXIF, location) removed."""

    class ContentType(models.TextChoices):
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"
        WEBP = "image/webp", "WebP"

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("file"), upload_to=complaint_photo_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=16, choices=ContentType.choices)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    scope = ScopeRule(region="complaint__region__code")

    class Meta:
        ordering = ["id"]
        verbose_name = _("complaint photo")
        verbose_name_plural = _("complaint photos")

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.file.name}"

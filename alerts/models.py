"""Alert requests raised by the chain (e.g. a rejected delivery); the rule engine turns them into routed alerts."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization
from core.scoping import ScopeRule


class RuleCode(models.TextChoices):
    """Stable rule codes (API.md "Alerts")."""

    MOD_BATTERY_NONSTANDARD = "MOD_BATTERY_NONSTANDARD", _("non-standard battery fitted")
    MOD_SPEED_UNLOCK = "MOD_SPEED_UNLOCK", _("speed limiter removed")
    MOD_MOTOR_POWER = "MOD_MOTOR_POWER", _("over-power motor fitted")
    PRODUCT_UNCERTIFIED = "PRODUCT_UNCERTIFIED", _("uncertified product")
    BATTERY_DUPLICATE = "BATTERY_DUPLICATE", _("battery claimed in two places")
    BATTERY_RECYCLED_REAPPEARS = "BATTERY_RECYCLED_REAPPEARS", _("recycled battery reappears")
    SHOP_UNQUALIFIED = "SHOP_UNQUALIFIED", _("unqualified repair shop")
    STOCK_MISMATCH = "STOCK_MISMATCH", _("stock mismatch")
    COMPLAINT = "COMPLAINT", _("consumer complaint")


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

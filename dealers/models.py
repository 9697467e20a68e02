"""Incoming inspection (进货查验) and sales (卖车即备案) of a dealer. Stock itself is the vehicles' `holder`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization, User
from core.scoping import ScopeRule
from vehicles.models import Battery, Registration, Vehicle


class Receipt(models.Model):
    """One delivery inspected at the door: each bike and battery gets a verdict."""

    dealer = models.ForeignKey(Organization, verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(Organization, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"))
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    scope = ScopeRule(region="dealer__region__code", organizations=("dealer_id", "supplier_id"))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("incoming inspection")
        verbose_name_plural = _("incoming inspections")

    def __str__(self) -> str:
        return f"{self.dealer} ← {self.supplier} {self.received_at:%Y-%m-%d}"


class ReceiptItem(models.Model):
    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("vehicle")
        BATTERY = "battery", _("battery")

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    ref = models.CharField(_("frame number or serial"), max_length=64)
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    battery = models.ForeignKey(Battery, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    reasons = models.JSONField(_("reasons"), default=list)

    class Meta:
        ordering = ["id"]
        verbose_name = _("inspected item")
        verbose_name_plural = _("inspected items")

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}: {self.verdict}"


class Sale(models.Model):
    """A sale at the counter; it is the registration (卖车即备案): buyer, bike and batteries bound together."""

    dealer = models.ForeignKey(Organization, verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="sales")
    registration = models.OneToOneField(Registration, on_delete=models.PROTECT, related_name="sale")
    battery_serials = models.JSONField(_("batteries"), default=list)
    sold_at = models.DateTimeField(_("sold at"))
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeRule(region=("dealer__region__code", "registration__region__code"), organizations=("dealer_id",))

    class Meta:
        ordering = ["-sold_at"]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        indexes = [models.Index(fields=["dealer", "sold_at"], name="sale_dealer_sold_at")]

    def __str__(self) -> str:
        return f"{self.vehicle} {self.sold_at:%Y-%m-%d}"

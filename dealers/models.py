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


class Shipment(models.Model):
    """Items shipped by their holder to another enterprise (发货): in transit until the receiver's incoming
    inspection accepts them (a battery maker to a vehicle maker or an operator, a maker to a dealer, a dealer to
    another dealer)."""

    sender = models.ForeignKey(Organization, verbose_name=_("sender"), on_delete=models.PROTECT, related_name="+")
    receiver = models.ForeignKey(Organization, verbose_name=_("receiver"), on_delete=models.PROTECT, related_name="+")
    shipped_at = models.DateTimeField(_("shipped at"))
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    scope = ScopeRule(region="sender__region__code", organizations=("sender_id", "receiver_id"))

    class Meta:
        ordering = ["-shipped_at", "-id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")

    def __str__(self) -> str:
        return f"{self.sender_id} → {self.receiver_id} {self.shipped_at:%Y-%m-%d}"


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    battery = models.ForeignKey(Battery, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    receipt = models.ForeignKey(Receipt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("shipped item")
        verbose_name_plural = _("shipped items")
        indexes = [
            models.Index(fields=["vehicle"], condition=models.Q(received_at__isnull=True), name="shipping_vehicle"),
            models.Index(fields=["battery"], condition=models.Q(received_at__isnull=True), name="shipping_battery"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {self.vehicle_id or self.battery_id}"


class SubsidyPolicy(models.Model):
    """The trade-in subsidy (以旧换新) of a region for a kind of old bike: data, as each locality sets it."""

    class OldKind(models.TextChoices):
        OLD_STANDARD = "old_standard", _("old-standard bike on record (备案非标车)")
        NEW_STANDARD = "new_standard", _("new-standard bike")

    region_code = models.CharField(_("region"), max_length=12)
    old_kind = models.CharField(_("kind of old bike"), max_length=16, choices=OldKind.choices)
    amount_yuan = models.DecimalField(_("subsidy (¥)"), max_digits=8, decimal_places=2)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("policy"), max_length=300, blank=True)

    class Meta:
        ordering = ["region_code", "old_kind", "-valid_from"]
        verbose_name = _("trade-in subsidy")
        verbose_name_plural = _("trade-in subsidies")

    def __str__(self) -> str:
        return f"{self.region_code} {self.old_kind} ¥{self.amount_yuan}"


class TradeIn(models.Model):
    """An old bike traded in at a dealer's counter for a new one sold to the same owner (以旧换新): the old bike's
    registration cancelled, the bike held by the dealer until a recycler takes it."""

    dealer = models.ForeignKey(Organization, verbose_name=_("dealer"), on_delete=models.PROTECT, related_name="+")
    old_vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="trade_ins")
    old_registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="+")
    old_kind = models.CharField(_("kind of old bike"), max_length=16, choices=SubsidyPolicy.OldKind.choices)
    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="trade_in")
    subsidy_yuan = models.DecimalField(_("subsidy (¥)"), max_digits=8, decimal_places=2)
    region_code = models.CharField(_("owner's region (street)"), max_length=12)
    traded_at = models.DateTimeField(_("traded in at"))
    handed_over_at = models.DateTimeField(_("handed to a recycler at"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    scope = ScopeRule(region="region_code", organizations=("dealer_id",))

    class Meta:
        ordering = ["-traded_at", "-id"]
        verbose_name = _("trade-in")
        verbose_name_plural = _("trade-ins")
        constraints = [
            models.UniqueConstraint(fields=["old_vehicle"], name="trade_in_once_per_bike"),
        ]
        indexes = [
            models.Index(
                fields=["region_code", "traded_at"], name="trade_in_region", opclasses=["varchar_pattern_ops", ""]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_vehicle_id} → {self.sale_id}"

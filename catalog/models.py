"""Certified product models (CCC) and the standards' limits they are held to, as data."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization


class Standard(models.Model):
    """A national standard and its limits (GB 17761, GB 43854). Editable by an administrator, with its source."""

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("vehicle")
        BATTERY = "battery", _("battery")

    code = models.CharField(_("code"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("applies to"), max_length=16, choices=Kind.choices)
    in_force_from = models.DateField(_("in force from"))
    # After this day products certified to this edition may no longer be sold (already registered bikes stay legal).
    sale_cutoff = models.DateField(_("no sale after"), null=True, blank=True)
    max_design_speed_kmh = models.DecimalField(
        _("max design speed (km/h)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_nominal_voltage_v = models.DecimalField(
        _("max nominal voltage (V)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_output_voltage_v = models.DecimalField(
        _("max output voltage (V)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_motor_power_w = models.PositiveIntegerField(_("max continuous motor power (W)"), null=True, blank=True)
    max_mass_kg = models.DecimalField(
        _("max mass with battery (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_mass_lead_acid_kg = models.DecimalField(
        _("max mass with lead-acid battery (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    source = models.TextField(_("source"), help_text=_("Where these limits come from: standard, clause, notice."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("standard")
        verbose_name_plural = _("standards")

    def __str__(self) -> str:
        return self.code

    def sellable_on(self, day: dt.date) -> bool:
        return self.sale_cutoff is None or day < self.sale_cutoff


class Chemistry(models.TextChoices):
    LITHIUM_ION = "lithium_ion", _("lithium-ion")
    LEAD_ACID = "lead_acid", _("lead-acid")
    SODIUM_ION = "sodium_ion", _("sodium-ion")


class CertifiedModel(models.Model):
    """What every certified product model has: a code, a maker and its CCC certificate."""

    code = models.CharField(_("model code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    maker = models.ForeignKey(Organization, verbose_name=_("maker"), on_delete=models.PROTECT, related_name="+")
    ccc_cert_no = models.CharField(_("CCC certificate number"), max_length=64, blank=True)
    ccc_valid_until = models.DateField(_("CCC valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # The catalog is public reference data: everyone reads it (catalog/selectors.py), so it has no ScopeRule;
    # makers write only their own models (catalog/services.py).

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def ccc_valid_on(self, day: dt.date) -> bool:
        return bool(self.ccc_cert_no) and self.ccc_valid_until is not None and self.ccc_valid_until >= day


class BatteryModel(CertifiedModel):
    chemistry = models.CharField(_("chemistry"), max_length=16, choices=Chemistry.choices)
    nominal_voltage_v = models.DecimalField(_("nominal voltage (V)"), max_digits=5, decimal_places=1)
    capacity_ah = models.DecimalField(_("capacity (Ah)"), max_digits=6, decimal_places=1)

    class Meta(CertifiedModel.Meta):
        verbose_name = _("battery model")
        verbose_name_plural = _("battery models")


class ChargerModel(CertifiedModel):
    output_voltage_v = models.DecimalField(_("output voltage (V)"), max_digits=5, decimal_places=1)

    class Meta(CertifiedModel.Meta):
        verbose_name = _("charger model")
        verbose_name_plural = _("charger models")


class VehicleModel(CertifiedModel):
    standard = models.ForeignKey(
        Standard, verbose_name=_("standard"), on_delete=models.PROTECT, related_name="vehicle_models"
    )
    max_speed_kmh = models.DecimalField(_("max speed (km/h)"), max_digits=5, decimal_places=1)
    mass_kg = models.DecimalField(_("mass with battery (kg)"), max_digits=5, decimal_places=1)
    nominal_voltage_v = models.DecimalField(_("nominal voltage (V)"), max_digits=5, decimal_places=1)
    motor_power_w = models.PositiveIntegerField(_("continuous motor power (W)"))
    compatible_battery_models = models.ManyToManyField(
        BatteryModel, verbose_name=_("compatible battery models (标配)"), related_name="vehicle_models", blank=True
    )
    compatible_charger_models = models.ManyToManyField(
        ChargerModel, verbose_name=_("compatible charger models"), related_name="vehicle_models", blank=True
    )

    class Meta(CertifiedModel.Meta):
        verbose_name = _("vehicle model")
        verbose_name_plural = _("vehicle models")

    def sellable_on(self, day: dt.date) -> bool:
        """CCC valid on that day, and its standard edition not past the sale cut-off."""
        return self.ccc_valid_on(day) and self.standard.sellable_on(day)

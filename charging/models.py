"""A charging and swap operator's cabinets (换电柜) and every swap they record: which battery went in, which came
out, its temperature and voltage, and any alarm (以芯智控: the cabinets see every battery and every thermal alarm)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization, Region
from core.scoping import ScopeRule


class SwapStation(models.Model):
    """A cabinet of an operator, where riders swap batteries."""

    operator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="swap_stations")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=300)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    # Regulators and the fire and housing departments of its region; the operator itself.
    scope = ScopeRule(
        region="region__code", organizations=("operator_id",), department_sees_region=frozenset({"fire", "housing"})
    )

    class Meta:
        ordering = ["region_id", "code"]
        verbose_name = _("swap station")
        verbose_name_plural = _("swap stations")
        constraints = [models.UniqueConstraint(fields=["operator", "code"], name="swap_station_code_once")]
        indexes = [models.Index(fields=["region"], name="swap_station_region", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SwapEvent(models.Model):
    """One swap in a cabinet, as the operator's platform reports it (in batches): the battery a rider put in, the
    one taken out, the cabinet's readings and alarm. Written through a fast path; each swap also lands on the
    batteries' ledgers."""

    class Alarm(models.TextChoices):
        NONE = "none", _("none")
        OVER_TEMPERATURE = "over_temperature", _("over temperature")
        OVER_VOLTAGE = "over_voltage", _("over voltage")
        SMOKE = "smoke", _("smoke")

    station = models.ForeignKey(SwapStation, on_delete=models.PROTECT, related_name="swaps")
    operator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("region"), max_length=12)
    battery_in_serial = models.CharField(_("battery in"), max_length=48, blank=True)
    battery_out_serial = models.CharField(_("battery out"), max_length=48, blank=True)
    battery_in = models.ForeignKey(
        "vehicles.Battery", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    battery_out = models.ForeignKey(
        "vehicles.Battery", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(_("at"))
    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=5, decimal_places=1, null=True, blank=True)
    voltage_v = models.DecimalField(_("voltage (V)"), max_digits=6, decimal_places=2, null=True, blank=True)
    alarm = models.CharField(_("alarm"), max_length=20, choices=Alarm.choices, default=Alarm.NONE)
    received_at = models.DateTimeField(_("received at"))

    scope = ScopeRule(region="region_code", organizations=("operator_id",), department_sees_region=frozenset({"fire"}))

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("swap")
        verbose_name_plural = _("swaps")
        indexes = [
            models.Index(fields=["station", "occurred_at"], name="swap_station_at"),
            models.Index(fields=["battery_in", "occurred_at"], name="swap_battery_in_at"),
            models.Index(fields=["battery_out", "occurred_at"], name="swap_battery_out_at"),
            # The operator's recent swaps (its page), and its side of every scoped list of swaps.
            models.Index(fields=["operator", "occurred_at"], name="swap_operator_at"),
            models.Index(
                fields=["region_code", "occurred_at"],
                condition=~models.Q(alarm="none"),
                name="swap_alarm_region",
                opclasses=["varchar_pattern_ops", ""],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.occurred_at:%Y-%m-%d %H:%M}"

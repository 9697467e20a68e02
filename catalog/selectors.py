"""Read paths of the catalog: certified models and the standards' limits.

The catalog is public reference data: every logged-in user reads all of it (a dealer checks any maker's model,
a regulator any certificate), so these reads are not cut down by `core.scoping.scoped`. Writes stay with each
maker (catalog/services.py).
"""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import BatteryModel, ChargerModel, Standard, VehicleModel


def standards() -> QuerySet[Standard]:
    return Standard.objects.all()


def vehicle_models() -> QuerySet[VehicleModel]:
    return VehicleModel.objects.select_related("maker", "standard").prefetch_related(
        "compatible_battery_models", "compatible_charger_models"
    )


def battery_models() -> QuerySet[BatteryModel]:
    return BatteryModel.objects.select_related("maker")


def charger_models() -> QuerySet[ChargerModel]:
    return ChargerModel.objects.select_related("maker")


def is_compatible_pair(*, vehicle_model: VehicleModel, battery_model: BatteryModel) -> bool:
    """Whether the battery model is one of the vehicle model's certified configurations (标配)."""
    return vehicle_model.compatible_battery_models.filter(pk=battery_model.pk).exists()

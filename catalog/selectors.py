"""Read paths of the catalog: certified models and the standards' limits.

The catalog is public reference data: every logged-in user reads all of it (a dealer checks any maker's model,
a regulator any certificate), so these reads are not cut down by `core.scoping.scoped`. Writes stay with each
maker (catalog/services.py).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

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


# A certificate "expiring" within this many days: time enough to renew before the model may no longer be sold.
EXPIRING_WITHIN_DAYS = 90


def models_of_maker(
    models: QuerySet, *, maker_id: int, search: str = "", certificate: str = "", today=None
) -> QuerySet:
    """One maker's own certified models of a kind (`models`: one of the lists above), newest first; `certificate`
    ∈ valid, expiring, expired, uncertified narrows them by the state of their CCC certificate on `today`."""
    queryset = models.filter(maker_id=maker_id).order_by("-created_at", "-id")
    if search:
        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if certificate:
        today = today or timezone.localdate()
        soon = today + dt.timedelta(days=EXPIRING_WITHIN_DAYS)
        certified = ~Q(ccc_cert_no="") & Q(ccc_valid_until__isnull=False)
        queryset = queryset.filter(
            {
                "valid": certified & Q(ccc_valid_until__gte=today),
                "expiring": certified & Q(ccc_valid_until__gte=today, ccc_valid_until__lt=soon),
                "expired": certified & Q(ccc_valid_until__lt=today),
                "uncertified": ~certified,
            }.get(certificate, Q())
        )
    return queryset


def certificate_state(model, today) -> str:
    """valid, expiring, expired or uncertified: how a model's CCC certificate stands on `today`."""
    if not model.ccc_cert_no or model.ccc_valid_until is None:
        return "uncertified"
    if model.ccc_valid_until < today:
        return "expired"
    if model.ccc_valid_until < today + dt.timedelta(days=EXPIRING_WITHIN_DAYS):
        return "expiring"
    return "valid"

"""Read paths of recycling, scoped to the viewer: records, the recyclers a shop may hand to, the batteries it holds."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import Organization, OrganizationKind, User
from core.scoping import scoped
from recycling.models import RecyclingRecord
from vehicles.models import Battery


def records_visible_to(user: User) -> QuerySet[RecyclingRecord]:
    return scoped(
        RecyclingRecord.objects.select_related(
            "organization", "handed_to", "vehicle__model", "battery__model", "created_by"
        ),
        user,
    ).order_by("-recorded_at", "-pk")


def recyclers_for(shop: Organization) -> QuerySet[Organization]:
    """The recyclers a repair shop hands batteries to: active ones of its province."""
    return Organization.objects.filter(
        kind=OrganizationKind.RECYCLER,
        status=Organization.Status.ACTIVE,
        region__code__startswith=shop.region_id[:2],
    ).order_by("region_id", "name")


def batteries_held(org: Organization) -> QuerySet[Battery]:
    """Batteries removed from bikes and held by this shop or recycler: to hand over, or to dispose of."""
    return (
        Battery.objects.filter(holder=org, status=Battery.Status.REMOVED, vehicle__isnull=True)
        .select_related("model")
        .order_by("serial")
    )

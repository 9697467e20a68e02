"""Read paths of the shared kernel, already scoped to the viewer."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import AuditEntry, Organization, Region, User
from core.scoping import scoped


def organizations_visible_to(user: User) -> QuerySet[Organization]:
    return scoped(Organization.objects.select_related("region"), user)


def users_visible_to(user: User) -> QuerySet[User]:
    return scoped(User.objects.select_related("organization"), user)


def audit_entries_visible_to(user: User) -> QuerySet[AuditEntry]:
    """The audit log of one's own organization, or of one's jurisdiction for regulators."""
    return scoped(AuditEntry.objects.select_related("actor", "actor_organization"), user)


def regions(*, parent: str | None = None, level: int | None = None, name: str | None = None) -> QuerySet[Region]:
    """Regions are public reference data (GB/T 2260): not scoped."""
    queryset = Region.objects.all()
    if parent is not None:
        queryset = queryset.filter(parent_id=parent)
    if level is not None:
        queryset = queryset.filter(level=level)
    if name:
        queryset = queryset.filter(name__contains=name)
    return queryset

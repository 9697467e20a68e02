"""Read paths of repairs, already scoped to the viewer: repair records, their photos, batteries to hand over."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.models import User
from core.scoping import scoped
from repairs.models import HANDOVER_DAYS, Repair, RepairPhoto
from vehicles.models import Battery, EventType, LifecycleEvent


def repairs_visible_to(user: User) -> QuerySet[Repair]:
    return (
        scoped(Repair.objects.select_related("shop", "vehicle__model", "created_by"), user)
        .prefetch_related("photos")
        .order_by("-performed_at", "-pk")
    )


def repairs_filtered(
    queryset: QuerySet[Repair],
    *,
    frame_no: str = "",
    kind: str = "",
    shop_id: int | None = None,
    performed_after: dt.datetime | None = None,
    performed_before: dt.datetime | None = None,
) -> QuerySet[Repair]:
    if frame_no:
        queryset = queryset.filter(vehicle__frame_no=frame_no.strip().upper())
    if kind:
        queryset = queryset.filter(kind=kind)
    if shop_id is not None:
        queryset = queryset.filter(shop_id=shop_id)
    if performed_after is not None:
        queryset = queryset.filter(performed_at__gte=performed_after)
    if performed_before is not None:
        queryset = queryset.filter(performed_at__lt=performed_before)
    return queryset


def _as_id(value) -> int | None:
    """An id from a URL, or None when it cannot be one (so a 20-digit number is a 404, not a database error)."""
    text = str(value)
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def repair_visible(user: User, pk) -> Repair:
    """The repair, if the user may see it; otherwise 404 (no existence leaks)."""
    pk = _as_id(pk)
    repair = repairs_visible_to(user).filter(pk=pk).first() if pk is not None else None
    if repair is None:
        raise NotFound(_("No such repair, or not one you may see."))
    return repair


def repair_photo_visible(user: User, repair_pk, photo_pk) -> RepairPhoto:
    photo = None
    repair_pk, photo_pk = _as_id(repair_pk), _as_id(photo_pk)
    if repair_pk is not None and photo_pk is not None:
        photo = scoped(RepairPhoto.objects.all(), user).filter(pk=photo_pk, repair_id=repair_pk).first()
    if photo is None:
        raise NotFound(_("No such photo, or not one you may see."))
    return photo


# ---------------------------------------------------------------------------------------------------------------
# Batteries to hand over (回收首站)


def _last_removal(field: str):
    return Subquery(
        LifecycleEvent.objects.filter(battery=OuterRef("pk"), type=EventType.BATTERY_REMOVED)
        .order_by("-occurred_at", "-id")
        .values(field)[:1]
    )


def batteries_to_hand_over(user: User) -> QuerySet[Battery]:
    """Batteries the user's shop removed and still holds, oldest removal first, with when and from which bike."""
    org = user.organization
    if org is None:
        return Battery.objects.none()
    return (
        scoped(Battery.objects.filter(holder=org, status=Battery.Status.REMOVED), user)
        .select_related("model")
        .annotate(removed_at=_last_removal("occurred_at"), removed_from=_last_removal("vehicle__frame_no"))
        .order_by("removed_at", "serial")
    )


@dataclass(frozen=True)
class Handover:
    """Where one removed battery stands against the hand-over deadline."""

    due_on: dt.date | None
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left if self.overdue else 0


def handover_of(removed_at: dt.datetime | None, today: dt.date | None = None) -> Handover:
    if removed_at is None:
        return Handover(due_on=None, days_left=None)
    due_on = timezone.localdate(removed_at + dt.timedelta(days=HANDOVER_DAYS))
    return Handover(due_on=due_on, days_left=(due_on - (today or timezone.localdate())).days)

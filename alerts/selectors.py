"""Read paths of alerts, scoped: regulators their subtree, departments their deliveries, enterprises their own."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from alerts.models import Alert, AlertTransition
from core.models import User
from core.scoping import scoped


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    return scoped(Alert.objects.select_related("organization", "regulator"), user)


def alert_detail(user: User, alert_id: int) -> Alert | None:
    return (
        alerts_visible_to(user)
        .prefetch_related(
            Prefetch(
                "transitions",
                queryset=AlertTransition.objects.select_related("actor", "actor_organization").prefetch_related(
                    "attachments"
                ),
            ),
            "deliveries__organization",
        )
        .filter(pk=alert_id)
        .first()
    )

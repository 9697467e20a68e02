"""Read paths of alerts, scoped: regulators their subtree, departments their deliveries, enterprises their own."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Prefetch, Q, QuerySet

from alerts.models import Alert, AlertTransition
from alerts.rules import REGISTRY
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


# A finding stands until the regulator has verified its rectification (or closed or dismissed it).
UNRESOLVED = (
    Alert.Status.NEW,
    Alert.Status.DISPATCHED,
    Alert.Status.RECTIFICATION_REQUESTED,
    Alert.Status.RECTIFICATION_SUBMITTED,
    Alert.Status.REOPENED,
)


def public_findings(subject: str, ref: str = "pk") -> ArraySubquery:
    """The rules of the unresolved alerts about the bike or battery at OuterRef(`ref`) whose rule speaks on the QR
    page (docs/decisions/009): a found modification, not a complaint or a shop's paperwork. An annotation, so the
    public record stays one query per table; `public_reasons` turns its value into reason codes."""
    rules = [code for code, r in REGISTRY.items() if subject in r.public_on]
    unresolved = Alert.objects.filter(**{f"{subject}_id": OuterRef(ref)}, rule__in=rules, status__in=UNRESOLVED)
    return ArraySubquery(unresolved.order_by().values("rule").distinct())


def public_reasons(rules) -> list[str]:
    return sorted({REGISTRY[code].public_reason for code in rules or () if code in REGISTRY})


def overdue(now) -> Q:
    """Past its closure deadline, or escalated for having been: escalation hands an overdue alert up to the parent
    regulator with a fresh deadline, and it stays overdue for the figures (the cockpit's count, the risk grade)."""
    return Q(due_at__lt=now) | Q(escalation_level__gt=0)

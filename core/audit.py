"""Writing the audit log. Every sensitive read (unmasking) and every provisioning write calls `audit_record`."""

from __future__ import annotations

from django.db import models

from core.models import AuditEntry, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    reason: str = "",
    data: dict | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_organization=getattr(actor, "organization", None),
        action=action,
        target_type=target_type or "",
        target_id=target_id or "",
        reason=reason,
        data=data or {},
        ip_address=ip_address,
    )

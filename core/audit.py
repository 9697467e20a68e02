"""Writing the audit log. Every sensitive read (unmasking) and every provisioning write calls `audit_record`."""

from __future__ import annotations

from django.db import models, transaction

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


def unmask_audited_once(request, *, target: models.Model, reason: str, data: dict, done_url: str) -> str | None:
    """A page's "show personal data" form, sent with a reason: the viewing goes into the audit log, once per form.
    Returns where to send a form that was already answered (its data is not shown twice), else None."""
    from core.client_ip import client_ip
    from core.submissions import submission_claim, submission_done

    with transaction.atomic():
        first = submission_claim(request)
        if first:
            return first
        audit_record(
            actor=request.user,
            action="personal_data.unmask",
            target=target,
            reason=reason,
            data=data,
            ip_address=client_ip(request),
        )
        submission_done(request, done_url)
    return None

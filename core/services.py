"""Write paths of the shared kernel: provisioning organizations and users, lifting a lock-out."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.codes import clean_uscc
from core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import Organization, OrganizationKind, Region, User
from core.tokens import tokens_revoke_all


def region_get(code: str) -> Region:
    region = Region.objects.filter(code=str(code)).first()
    if region is None:
        raise InvalidInput(
            _("Unknown region code %(code)s.") % {"code": code},
            code="unknown_region",
            fields={"region_code": [_("Unknown region code.")]},
        )
    return region


@transaction.atomic
def organization_create(
    *,
    actor: User,
    name: str,
    kind: str,
    uscc: str,
    region_code: str,
    qualification_no: str = "",
    qualification_valid_until: dt.date | None = None,
    enterprise_code: str = "",
) -> Organization:
    if kind not in OrganizationKind.values:
        raise InvalidInput(_("Unknown organization kind."), fields={"kind": [_("Unknown organization kind.")]})
    uscc = clean_uscc(uscc)
    region = region_get(region_code)
    if enterprise_code and Organization.objects.filter(enterprise_code=enterprise_code).exists():
        raise Conflict(
            _("Another maker already uses this enterprise code."),
            code="enterprise_code_taken",
            fields={"enterprise_code": [_("Already registered.")]},
        )
    if Organization.objects.filter(uscc=uscc).exists():
        raise Conflict(
            _("An organization with this unified social credit code already exists."),
            code="uscc_taken",
            fields={"uscc": [_("Already registered.")]},
        )
    try:
        with transaction.atomic():
            org = Organization.objects.create(
                name=name.strip(),
                kind=kind,
                uscc=uscc,
                region=region,
                qualification_no=qualification_no.strip(),
                qualification_valid_until=qualification_valid_until,
                enterprise_code=enterprise_code,
            )
    except IntegrityError:  # a concurrent request registered the same USCC first
        raise Conflict(
            _("An organization with this unified social credit code already exists."), code="uscc_taken"
        ) from None
    audit_record(actor=actor, action="organization.create", target=org, data={"kind": kind, "uscc": uscc})
    return org


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, **changes) -> Organization:
    """Change an organization's status, qualification or name (platform administrator only)."""
    if "region_code" in changes:
        organization.region = region_get(changes.pop("region_code"))
    for field in ("name", "status", "qualification_no", "qualification_valid_until"):
        if field in changes:
            setattr(organization, field, changes.pop(field))
    if organization.status not in Organization.Status.values:
        raise InvalidInput(_("Unknown status."), fields={"status": [_("Unknown status.")]})
    suspended = organization.status == Organization.Status.SUSPENDED and (
        Organization.objects.filter(pk=organization.pk, status=Organization.Status.ACTIVE).exists()
    )
    organization.save()
    audit_record(actor=actor, action="organization.update", target=organization)
    if suspended:
        tokens_revoke_all(actor=actor, organization=organization, reason="organization suspended")
    return organization


def _may_provision_users_of(actor: User, organization: Organization) -> bool:
    if actor.is_superuser:
        return True
    return actor.role == User.Role.ADMIN and actor.organization_id == organization.pk


@transaction.atomic
def user_create(*, actor: User, username: str, password: str, organization_id: int, role: str, email: str = "") -> User:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or not (actor.is_superuser or actor.organization_id == organization_id):
        # An organization admin may not learn whether another organization exists.
        raise InvalidInput(
            _("Unknown organization."),
            code="unknown_organization",
            fields={"organization": [_("Unknown organization.")]},
        )
    if not _may_provision_users_of(actor, organization):
        raise PermissionRefused(
            _("Only the platform administrator or this organization's administrator may add users.")
        )
    if role not in User.Role.values:
        raise InvalidInput(_("Unknown role."), fields={"role": [_("Role must be admin or staff.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("This username is taken."), code="username_taken", fields={"username": [_("Taken.")]})
    user = User(username=username, email=email, organization=organization, role=role)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput(exc.messages[0], code="weak_password", fields={"password": exc.messages}) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(_("This username is taken."), code="username_taken") from None
    audit_record(actor=actor, action="user.create", target=user, data={"organization": organization.pk, "role": role})
    return user


def users_unlockable_by(actor: User):
    """Whose lock-out `actor` may lift: anyone for the platform, the users of one's own organization for its
    administrators. A regulator sees the users of its region but does not unlock them: that is each
    organization's own business."""
    if actor.is_superuser:
        return User.objects.all()
    if actor.organization_id is None:
        return User.objects.none()
    return User.objects.filter(organization_id=actor.organization_id)


@transaction.atomic
def user_unlock(*, actor: User, user_id: int, ip_address: str | None = None) -> User:
    """Lift a lock-out (core.login) and reset the count of wrong passwords. Unlocking an unlocked user is a no-op."""
    user = users_unlockable_by(actor).select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("Not found."))
    if not (actor.is_superuser or actor.role == User.Role.ADMIN):
        raise PermissionRefused(_("Only an administrator of this organization may unlock its users."))
    if user.locked_at is not None or user.failed_logins:
        was_locked = user.locked_at
        user.locked_at, user.failed_logins = None, 0
        user.save(update_fields=["locked_at", "failed_logins"])
        audit_record(
            actor=actor,
            action="auth.account_unlocked",
            target=user,
            data={"locked_at": was_locked},
            ip_address=ip_address,
        )
    return user

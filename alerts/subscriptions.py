"""Department subscriptions (一方预警、多方联动): their rules, reads and writes, one place for the API and the pages.

Only departments (police, fire, environment, housing, local government) have subscriptions. Their members read
them; their administrators create, change and delete them. Another organization's subscription is not found.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from alerts.models import Category, DepartmentSubscription, WebhookDelivery
from alerts.webhook_targets import ADDRESS_NOT_ALLOWED, TargetRefused, target_vet
from core.audit import audit_record
from core.errors import InvalidInput, NotFound, PermissionRefused
from core.models import Organization, User
from core.scoping import scoped

WEBHOOK_URL_MAX_LENGTH = 200  # the model's URLField
URL_NOT_ALLOWED = "webhook_url_not_allowed"

_url_shape = URLValidator(schemes=["http", "https"])


# ---------------------------------------------------------------------------------------------------------------
# Who


def department_of(user: User) -> Organization | None:
    """The user's organization if it is an active department."""
    org = getattr(user, "organization", None)
    if not getattr(user, "is_authenticated", False) or org is None or not org.is_active or not org.is_department:
        return None
    return org


def may_change(user: User) -> bool:
    """An administrator of a department changes its subscriptions; its other members only read them."""
    return department_of(user) is not None and user.role == User.Role.ADMIN


def _require_admin(user: User) -> Organization:
    org = department_of(user)
    if org is None:
        raise PermissionRefused(
            _("Only departments (police, fire, environment, housing, local government) have alert subscriptions.")
        )
    if user.role != User.Role.ADMIN:
        raise PermissionRefused(_("Only an administrator of the department may change its subscriptions."))
    return org


# ---------------------------------------------------------------------------------------------------------------
# Reads


def subscriptions_of(user: User) -> QuerySet[DepartmentSubscription]:
    """The caller's own organization's subscriptions (scoped: another organization's are not found)."""
    if department_of(user) is None:
        return DepartmentSubscription.objects.none()
    return scoped(DepartmentSubscription.objects.select_related("organization"), user).filter(
        organization=user.organization
    )


def subscription_get(*, user: User, subscription_id: int, lock: bool = False) -> DepartmentSubscription:
    queryset = subscriptions_of(user)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    subscription = queryset.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(_("No such subscription, or not one of your organization's."))
    return subscription


def deliveries_of(subscription: DepartmentSubscription) -> QuerySet[WebhookDelivery]:
    """Its webhook delivery log, newest first."""
    return subscription.deliveries.order_by("-created_at", "-id")


# ---------------------------------------------------------------------------------------------------------------
# Rules


def _categories_problems(values) -> tuple[list[str], list[str]]:
    """(the categories in the catalogue's order without repeats, what is wrong with them)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        return [], [_("Give a list of categories.")]
    unknown = [str(v) for v in values if v not in Category.values]
    if unknown:
        return [], [_("Unknown category: %(values)s.") % {"values": ", ".join(unknown)}]
    if not values:
        return [], [_("Choose at least one category.")]
    return [c for c in Category.values if c in values], []


def _webhook_url_problems(value) -> tuple[str, list[str], bool]:
    """(the URL, what is wrong with it, whether it is wrong because of where it points)."""
    value = (value or "").strip() if isinstance(value, str) else value
    if not isinstance(value, str):
        return "", [_("A webhook URL starts with http:// or https:// and names a host.")], False
    if not value:
        return "", [], False
    if len(value) > WEBHOOK_URL_MAX_LENGTH:
        return value, [_("A webhook URL has at most %(limit)d characters.") % {"limit": WEBHOOK_URL_MAX_LENGTH}], False
    try:
        _url_shape(value)
    except ValidationError:
        return value, [_("A webhook URL starts with http:// or https:// and names a host.")], False
    parts = urlsplit(value)
    if parts.username or parts.password:
        return value, [_("Put no user name or password in the URL; the signature authenticates.")], False
    try:
        target_vet(value)
    except TargetRefused as refused:
        # A name that does not resolve (yet) is kept: every delivery checks the address again before connecting.
        if refused.reason == ADDRESS_NOT_ALLOWED:
            return value, [_internal_address_message()], True
    return value, [], False


def _internal_address_message() -> str:
    return _(
        "This address is on an internal network (loopback, private, link-local, multicast or reserved); the "
        "platform does not call it. Give your system's address on the Internet, or ask the platform "
        "administrator to allow this host."
    )


def subscription_clean(*, categories=None, webhook_url=None) -> dict:
    """The values given (None: not given) checked and normalized; InvalidInput lists what is wrong, by field."""
    cleaned, problems, address_only = {}, {}, True
    if categories is not None:
        cleaned["categories"], wrong = _categories_problems(categories)
        if wrong:
            problems["categories"], address_only = wrong, False
    if webhook_url is not None:
        cleaned["webhook_url"], wrong, by_address = _webhook_url_problems(webhook_url)
        if wrong:
            problems["webhook_url"] = wrong
            address_only = address_only and by_address
    if problems:
        message = next(iter(problems.values()))[0]
        raise InvalidInput(message, code=URL_NOT_ALLOWED if address_only else "invalid", fields=problems)
    return cleaned


# ---------------------------------------------------------------------------------------------------------------
# Writes


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def subscription_create(
    *, user: User, categories, webhook_url="", active: bool = True, ip_address: str | None = None
) -> DepartmentSubscription:
    """A new subscription of the user's department; its `secret` is for the caller to show this once."""
    org = _require_admin(user)
    values = subscription_clean(categories=categories, webhook_url=webhook_url)
    with transaction.atomic():
        subscription = DepartmentSubscription.objects.create(
            organization=org, secret=_new_secret(), active=bool(active), **values
        )
        audit_record(
            actor=user,
            action="alerts.subscription_created",
            target=subscription,
            data={"categories": subscription.categories},
            ip_address=ip_address,
        )
    return subscription


def subscription_change(
    *,
    user: User,
    subscription_id: int,
    categories=None,
    webhook_url=None,
    active: bool | None = None,
    rotate_secret: bool = False,
    ip_address: str | None = None,
) -> DepartmentSubscription:
    """Change what is given (None: unchanged); `rotate_secret` issues a new secret, for the caller to show once."""
    _require_admin(user)
    values = subscription_clean(categories=categories, webhook_url=webhook_url)
    if active is not None:
        values["active"] = bool(active)
    with transaction.atomic():
        subscription = subscription_get(user=user, subscription_id=subscription_id, lock=True)
        for name, value in values.items():
            setattr(subscription, name, value)
        if rotate_secret:
            subscription.secret = _new_secret()
        subscription.save()
        audit_record(
            actor=user,
            action="alerts.subscription_changed",
            target=subscription,
            data={**values, "secret_rotated": bool(rotate_secret)},
            ip_address=ip_address,
        )
    return subscription


def subscription_delete(*, user: User, subscription_id: int, ip_address: str | None = None) -> None:
    """Delete a subscription and its delivery log."""
    _require_admin(user)
    with transaction.atomic():
        subscription = subscription_get(user=user, subscription_id=subscription_id, lock=True)
        audit_record(
            actor=user,
            action="alerts.subscription_deleted",
            target=subscription,
            data={"categories": subscription.categories},
            ip_address=ip_address,
        )
        subscription.delete()

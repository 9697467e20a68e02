"""Password login, one check for every way in (the API token, the login page, Django admin): the lock-out after
LOGIN_FAILURE_LIMIT wrong passwords in a row, lifted only by an administrator (core.services.user_unlock).

The answers never tell whether a username exists: an unknown username is refused with the same words, and is
"locked" after as many failures as a real account (counted in the cache, as there is no row to count on).
"""

from __future__ import annotations

import hashlib
import logging

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.client_ip import client_ip
from core.errors import DomainError
from core.models import User

log = logging.getLogger(__name__)

# How long the failures of an unknown username are remembered: long enough that waiting does not reveal that the
# username has no account behind it (a real account stays locked until an administrator lifts it).
_UNKNOWN_REMEMBERED = 90 * 24 * 3600


class LoginRefused(DomainError):
    """A refused login, with a stable code: invalid_credentials (401), account_locked (403),
    organization_suspended (401)."""

    status = 401
    code = "invalid_credentials"


def _wrong() -> LoginRefused:
    return LoginRefused(_("Wrong username or password."), code="invalid_credentials")


def _locked() -> LoginRefused:
    refusal = LoginRefused(
        _("This account is locked after too many wrong passwords. Ask your organization's administrator to unlock it."),
        code="account_locked",
    )
    refusal.status = 403
    return refusal


def login_authenticate(*, request, username: str, password: str) -> User:
    """The user these credentials log in, or LoginRefused. Counts wrong passwords and locks the account at the
    limit; a successful login resets the count. Writes are committed by the caller's transaction (if any), so
    an API view answers a refusal instead of raising it, which would roll the count back."""
    limit = settings.LOGIN_FAILURE_LIMIT
    ip_address = client_ip(request)
    account = User.objects.filter(username=username).only("pk", "locked_at", "failed_logins").first()
    if account is None:
        if _unknown_failures(username) >= limit:
            raise _locked()
    elif account.is_locked:
        audit_record(actor=None, action="auth.login_refused_locked", target=account, ip_address=ip_address)
        raise _locked()

    user = authenticate(request, username=username, password=password)
    if user is None:
        failures = _unknown_failed(username) if account is None else _failed(account, limit, ip_address)
        raise _locked() if failures >= limit else _wrong()

    if user.failed_logins:
        User.objects.filter(pk=user.pk).update(failed_logins=0)
        user.failed_logins = 0
    org = user.organization
    if org is not None and not org.is_active:
        raise LoginRefused(_("Your organization is suspended."), code="organization_suspended")
    return user


def _failed(account: User, limit: int, ip_address: str | None) -> int:
    """Count one wrong password; the one that reaches the limit locks the account (once, even under races)."""
    User.objects.filter(pk=account.pk).update(failed_logins=F("failed_logins") + 1)
    failures = User.objects.values_list("failed_logins", flat=True).get(pk=account.pk)
    locks_now = (
        failures >= limit
        and User.objects.filter(pk=account.pk, locked_at__isnull=True).update(locked_at=timezone.now()) == 1
    )
    if locks_now:
        audit_record(
            actor=None,
            action="auth.account_locked",
            target=account,
            data={"failed_logins": failures},
            ip_address=ip_address,
        )
    return failures


def _unknown_key(username: str) -> str:
    return "login:unknown:" + hashlib.sha256(username.encode()).hexdigest()


def _unknown_failures(username: str) -> int:
    try:
        return cache.get(_unknown_key(username), 0)
    except Exception:  # the cache is down: an unknown username has nothing to protect
        log.warning("unknown-username failures not read: cache unavailable", exc_info=True)
        return 0


def _unknown_failed(username: str) -> int:
    key = _unknown_key(username)
    try:
        cache.add(key, 0, _UNKNOWN_REMEMBERED)
        return cache.incr(key)
    except Exception:
        log.warning("unknown-username failure not counted: cache unavailable", exc_info=True)
        return 0


class _LockoutForm:
    """The page's and the admin's login forms check credentials through login_authenticate."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = login_authenticate(request=self.request, username=username, password=password)
            except LoginRefused as refusal:
                raise forms.ValidationError(refusal.message, code=refusal.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginForm(_LockoutForm, AuthenticationForm):
    """The login page (/login/)."""


class AdminLoginForm(_LockoutForm, AdminAuthenticationForm):
    """Django admin's login (/admin/login/): the same lock-out, then admin's own staff check."""

"""API tokens: issued at login, stored only as a SHA-256, checked on every request, listed and revoked by their
owner, and ended with the password they were issued under or when their user or organization is suspended."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from core.audit import audit_record
from core.models import ApiToken, Organization, User

TOKEN_LIFETIME = dt.timedelta(days=getattr(settings, "API_TOKEN_DAYS", 30))
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
_TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def password_stamp(password_hash: str) -> str:
    """What a token remembers of the password it was issued under. Comparing it on every request ends the tokens
    whichever way the password changed (admin, Django's forms, `changepassword`, an UPDATE), with no list of
    paths to keep. A digest, not the hash itself: the hash stays in one column only."""
    return hashlib.sha256(f"api-token\0{password_hash}".encode()).hexdigest()


def token_issue(*, user: User) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        key_hash=_digest(raw),
        expires_at=timezone.now() + TOKEN_LIFETIME,
        password_stamp=password_stamp(user.password),  # `user` as just authenticated, so its password is current
    )
    return raw


def token_user(raw: str) -> User | None:
    """The user a live token belongs to, or None. A token of a changed password is deleted on sight."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user__organization__region")
        .filter(key_hash=_digest(raw), expires_at__gt=now)
        .first()
    )
    if token is None:
        return None
    if token.password_stamp != password_stamp(token.user.password):
        ApiToken.objects.filter(pk=token.pk).delete()
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """The caller's own live tokens, newest first. Never anyone else's: not even the platform administrator
    lists other people's tokens here."""
    return ApiToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), password_stamp=password_stamp(user.password)
    ).order_by("-created_at", "-pk")


def token_is(token: ApiToken, raw: str | None) -> bool:
    """Whether `raw` (the token of the request, if any) is this token."""
    return raw is not None and token.key_hash == _digest(raw)


@transaction.atomic
def token_revoke(*, user: User, raw: str | None = None, token_id: int | None = None, ip_address=None) -> bool:
    """Revoke one of the user's own tokens: the one in use (`raw`) or one by id. False when there is none."""
    tokens = ApiToken.objects.filter(user=user)
    tokens = tokens.filter(key_hash=_digest(raw)) if raw is not None else tokens.filter(pk=token_id)
    deleted, _ = tokens.delete()
    if deleted:
        audit_record(
            actor=user,
            action="auth.token_revoked",
            target=user,
            data={"token": token_id} if token_id is not None else {"token": "in use"},
            ip_address=ip_address,
        )
    return bool(deleted)


@transaction.atomic
def tokens_revoke_all(
    *, actor: User | None, reason: str, user: User | None = None, organization: Organization | None = None
) -> int:
    """End every token of a user, or of every user of an organization: called by the write paths that suspend or
    deactivate them (core.services, core.admin), so that reactivating does not bring old tokens back."""
    users = User.objects.filter(pk=user.pk) if user is not None else User.objects.filter(organization=organization)
    tokens = ApiToken.objects.filter(user__in=users)
    counts = dict(tokens.values("user").annotate(n=Count("pk")).values_list("user", "n"))
    tokens.delete()
    for each in users.filter(pk__in=counts):
        audit_record(
            actor=actor, action="auth.tokens_revoked", target=each, reason=reason, data={"tokens": counts[each.pk]}
        )
    return sum(counts.values())


def tokens_follow_rehash(*, user: User, old_hash: str) -> None:
    """The password hash was upgraded, not the password changed: move the user's tokens to the new hash."""
    ApiToken.objects.filter(user=user, password_stamp=password_stamp(old_hash)).update(
        password_stamp=password_stamp(user.password)
    )


def tokens_prune() -> int:
    deleted, _ = ApiToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted

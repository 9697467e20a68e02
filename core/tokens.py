"""API tokens: issued at login, stored only as a SHA-256, checked on every request."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.utils import timezone

from core.models import ApiToken, User

TOKEN_LIFETIME = dt.timedelta(days=getattr(settings, "API_TOKEN_DAYS", 30))
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
_TOUCH_EVERY = dt.timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_issue(*, user: User) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=_digest(raw), expires_at=timezone.now() + TOKEN_LIFETIME)
    return raw


def token_user(raw: str) -> User | None:
    """The user a live token belongs to, or None."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user__organization__region")
        .filter(key_hash=_digest(raw), expires_at__gt=now)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def tokens_prune() -> int:
    deleted, _ = ApiToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted

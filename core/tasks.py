"""Housekeeping for the shared kernel."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.models import IdempotencyKey
from core.tokens import tokens_prune


@shared_task(acks_late=True)
def prune_idempotency_keys() -> int:
    """Drop stored responses older than the retry window, and expired API tokens."""
    cutoff = timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted + tokens_prune()

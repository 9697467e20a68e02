"""Background work of the supervision app, run by beat. Every task is idempotent."""

from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task(name="supervision.tasks.inspections_draw", acks_late=True)
def inspections_draw(at: str | None = None) -> dict[int, int]:
    """Draw the current week or month of every active inspection plan (双随机); a period drawn already adds
    nothing. `at` (ISO 8601) draws as of that moment instead of now: the periods follow from it."""
    from django.utils import timezone

    from supervision.draw import inspection_plans_draw_due

    moment = dt.datetime.fromisoformat(at) if at else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return inspection_plans_draw_due(now=moment)

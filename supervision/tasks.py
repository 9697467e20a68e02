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


@shared_task(name="supervision.tasks.duty_overdue_sweep", acks_late=True)
def duty_overdue_sweep(today: str | None = None) -> int:
    """DUTY_OVERDUE for every duty record missing after its period (supervision.duties); a miss raised already
    raises nothing. `today` (YYYY-MM-DD) sweeps as of that local day instead of today."""
    from supervision.duties import duty_overdue_sweep as sweep

    return sweep(today=dt.date.fromisoformat(today) if today else None)

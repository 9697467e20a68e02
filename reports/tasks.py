"""Background work of the reports: the nightly repair of the rollups, the risk grading, the monthly reports."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from reports import risk, rollups


@shared_task(acks_late=True)
def rollups_repair(day: str | None = None) -> int:
    """Re-derive a day's rollups from the raw rows (yesterday by default) and repair any drift; returns how many
    rows had drifted."""
    when = dt.date.fromisoformat(day) if day else timezone.localdate() - dt.timedelta(days=1)
    return rollups.day_rederive(when)


@shared_task(name="reports.tasks.grade_risk", acks_late=True)
def grade_risk() -> dict:
    """The 三分 grading of every enterprise and region (reports.risk); nightly, after the rollups' repair."""
    grading = risk.risk_grade_all()
    return {"enterprises": grading.enterprises, "risk": grading.risk_enterprises, "regions": grading.regions}

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


@shared_task(name="reports.tasks.monthly_report_render", acks_late=True)
def monthly_report_render(report_id: int) -> str:
    """Generate one archived monthly report (HTML, and PDF where the system can) and tell its region's regulator."""
    from reports.monthly import monthly_report_deliver

    return monthly_report_deliver(report_id)


@shared_task(name="reports.tasks.monthly_reports_on_first", acks_late=True)
def monthly_reports_on_first(month: str | None = None) -> int:
    """On the 1st: last month's report of every regulator's region, each generated in its own task."""
    from reports.monthly import monthly_reports_request

    first = (
        dt.date.fromisoformat(f"{month}-01")
        if month
        else (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    )
    return len(monthly_reports_request(first))

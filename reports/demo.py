"""The demo's governance history: the rollups of its year re-derived from the raw rows, the 三分 grades as they
stood at the end of each of the last two months and as they stand now, and last month's report of every regulator's
region in the archive, as the nightly and monthly work would have left them.

Idempotent: nothing happens once any enterprise has been graded.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from core.demo import Clock
from reports.models import EnterpriseGrade, MonthlyReport
from reports.monthly import monthly_report_deliver, regulator_regions
from reports.risk import Grading, risk_grade_all
from reports.rollups import days_rederive

HISTORY_DAYS = 400  # the demo's first dated fact (production) is this many days old


@dataclass(frozen=True)
class History:
    days: int
    gradings: list[Grading]
    reports: list[MonthlyReport]


def seed(clock: Clock | None = None) -> History | None:
    """Returns what was made, or None when the history was already there."""
    if EnterpriseGrade.objects.exists():
        return None
    clock = clock or Clock.start()
    first = clock.day(HISTORY_DAYS)
    rollups_log = logging.getLogger("reports.rollups")
    level = rollups_log.level
    rollups_log.setLevel(logging.ERROR)  # every day "drifted": the demo moved its alerts' stamps after the upkeep
    try:
        days_rederive(first, timezone.localdate())
    finally:
        rollups_log.setLevel(level)

    # The nightly grading as it stood at the end of the month before last and of last month: the report of last
    # month compares the two (which districts changed colour, which enterprises turned risk).
    gradings = [
        risk_grade_all(now=clock.at(clock.month_first(months_ago) - dt.timedelta(days=1), 20)) for months_ago in (1, 0)
    ]
    # On the 1st the archive gets last month's report of every regulator's region (beat does it on a live system).
    month = clock.month_first(1)
    reports = []
    for region_code in regulator_regions():
        report, _created = MonthlyReport.objects.get_or_create(region_code=region_code, month=month)
        monthly_report_deliver(report.pk)
        report.refresh_from_db()
        reports.append(report)
    gradings.append(risk_grade_all())  # now: today's work (handovers, a complaint) is in
    return History(days=(clock.today - first).days + 1, gradings=gradings, reports=reports)

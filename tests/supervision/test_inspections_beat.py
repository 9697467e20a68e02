"""The draw with real processes: `celery -A config worker -B` against the test database. Beat finds the hourly
draw missed (its schedule file says it last ran yesterday) and runs it: the plan made last week (the clock frozen
through the service's parameter) gets this week's tasks. A draw sent with a frozen clock of next week draws next
week, once however often it is sent."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.beat import PersistentScheduler
from django.utils import timezone

from config.celery import app
from supervision.models import InspectionTask
from supervision.tasks import inspections_draw
from tests.processes import running, wait_until
from tests.supervision.inspection_world import make_plan, moment, week_of

pytestmark = pytest.mark.integration

ENTRY = "supervision-inspections-draw"


def _missed_yesterday(schedule_file) -> None:
    """A beat schedule file whose draw last ran a day ago, as after a night the scheduler was down."""
    scheduler = PersistentScheduler(app=app, schedule_filename=str(schedule_file))
    try:
        scheduler.schedule[ENTRY].last_run_at = timezone.now() - dt.timedelta(days=1)
        scheduler.sync()
    finally:
        scheduler.close()


def test_beat_draws_the_new_week_and_a_frozen_clock_draws_next_week_once(transactional_db, town, tmp_path):
    today = timezone.localdate()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    plan, created = make_plan(town.regulator, now=moment(last_monday), sample={"size": 4})
    assert created == 4 and set(plan.tasks.values_list("period", flat=True)) == {week_of(last_monday)}

    schedule = tmp_path / "beat-schedule"
    _missed_yesterday(schedule)
    log = tmp_path / "worker.log"
    args = [
        "celery",
        "-A",
        "config",
        "worker",
        "-B",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--schedule",
        str(schedule),
    ]

    def period(day: dt.date):
        return InspectionTask.objects.filter(plan=plan, period=week_of(day))

    with running(args, log=log):
        assert wait_until(lambda: period(today).count() == 4, 90), log.read_text()[-4000:]

        next_monday = today + dt.timedelta(days=7 - today.weekday())
        frozen = moment(next_monday, 8).isoformat()
        for _ in range(3):  # sent three times: drawn once
            inspections_draw.apply_async(kwargs={"at": frozen})
        assert wait_until(lambda: period(next_monday).count() == 4, 90), log.read_text()[-4000:]
        assert wait_until(lambda: log.read_text().count("supervision.tasks.inspections_draw") >= 8, 60)

    assert "Sending due task supervision-inspections-draw" in log.read_text()
    assert period(last_monday).count() == period(today).count() == period(next_monday).count() == 4
    assert InspectionTask.objects.filter(plan=plan).count() == 12
    due = {timezone.localdate(t.due_at) for t in period(next_monday)}
    assert due == {next_monday + dt.timedelta(days=7)}  # counted from the frozen week's Monday

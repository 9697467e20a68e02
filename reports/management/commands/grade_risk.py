"""`manage.py grade_risk`: the 三分 grading on demand (beat runs it nightly)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from reports.risk import risk_grade_all


class Command(BaseCommand):
    help = "Grade every enterprise risk or non-risk and colour every region that has enterprises, now."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="grade as of this ISO 8601 time instead of now (with its offset)")

    def handle(self, *args, at: str | None = None, **options):
        now = None
        if at:
            try:
                now = dt.datetime.fromisoformat(at)
            except ValueError as error:
                raise CommandError(f"--at: {error}") from error
            if now.tzinfo is None:
                raise CommandError("--at: give the time with its offset, e.g. 2026-12-01T00:00:00+08:00")
        grading = risk_grade_all(now=now)
        self.stdout.write(
            f"graded {grading.enterprises} enterprises ({grading.risk_enterprises} risk) "
            f"and {grading.regions} regions at {grading.graded_at.isoformat()}"
        )

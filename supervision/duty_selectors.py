"""Reads of the duty records: what each user may see, an enterprise's ledger, the periods it still owes and where
it stands this day, week and month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from core.models import Organization, User
from core.scoping import scoped
from supervision.duty_periods import Period, period_of, periods_between
from supervision.models import DutyKind, DutyRecord

MISSING_SPAN_DAYS = 366  # the missing periods listed reach back at most a year: a ledger, not an archive


def duty_records_visible_to(user: User) -> QuerySet[DutyRecord]:
    """The enterprise its own records, regulators those of their subtree, anyone else nothing."""
    return scoped(DutyRecord.objects.select_related("organization"), user)


def duty_records_overlapping(
    records: QuerySet[DutyRecord], *, first: dt.date | None = None, last: dt.date | None = None
) -> QuerySet[DutyRecord]:
    """The records whose period overlaps the days first … last (either bound may be open)."""
    if first is not None:
        records = records.filter(period_end__gte=first)
    if last is not None:
        records = records.filter(period_start__lte=last)
    return records


def registered_on(organization: Organization) -> dt.date:
    """The day the enterprise was registered on the platform: it owes records from that day on."""
    return timezone.localdate(organization.created_at)


def duty_periods_missing(
    organization: Organization,
    *,
    today: dt.date,
    first: dt.date,
    last: dt.date,
    kinds: tuple[str, ...] = tuple(DutyKind.values),
) -> list[Period]:
    """The periods that overlap first … last, began on or after the registration day and ended before `today`,
    with no record: newest first."""
    first = max(first, registered_on(organization), last - dt.timedelta(days=MISSING_SPAN_DAYS))
    last = min(last, today - dt.timedelta(days=1))
    if first > last:
        return []
    owed = [
        period
        for kind in kinds
        for period in periods_between(kind, first, last)
        if period.start >= registered_on(organization) and period.ended_before(today)
    ]
    if not owed:
        return []
    filed = set(
        DutyRecord.objects.filter(organization=organization, period__in=[p.code for p in owed]).values_list(
            "kind", "period"
        )
    )
    return sorted((p for p in owed if (p.kind, p.code) not in filed), reverse=True)


@dataclass(frozen=True)
class Standing:
    """One duty in the period that contains today: its record, if filed."""

    period: Period
    record: DutyRecord | None

    @property
    def kind(self) -> str:
        return self.period.kind


def duty_standing(organization: Organization, today: dt.date) -> list[Standing]:
    """Today's check, this week's review and this month's minutes: filed or still to do."""
    periods = [period_of(kind, today) for kind in DutyKind.values]
    records = {
        (r.kind, r.period): r
        for r in DutyRecord.objects.filter(organization=organization, period__in=[p.code for p in periods])
    }
    return [Standing(period, records.get((period.kind, period.code))) for period in periods]

"""The periods of the enterprise duties: a day (日管控, YYYY-MM-DD), an ISO week (周排查, YYYY-Www) or a month
(月调度, YYYY-MM), each with its first and last day; read, named and counted back from a day."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import InvalidInput
from supervision.models import DutyKind

_SHAPES = {
    DutyKind.DAILY: re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    DutyKind.WEEKLY: re.compile(r"^(\d{4})-W(\d{2})$"),
    DutyKind.MONTHLY: re.compile(r"^(\d{4})-(\d{2})$"),
}
EXAMPLES = {DutyKind.DAILY: "2026-03-01", DutyKind.WEEKLY: "2026-W09", DutyKind.MONTHLY: "2026-03"}


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    kind: str
    code: str  # as stored and shown: 2026-03-01 | 2026-W09 | 2026-03
    end: dt.date

    def ended_before(self, day: dt.date) -> bool:
        return self.end < day

    def previous(self) -> Period:
        return period_of(self.kind, self.start - dt.timedelta(days=1))

    def next(self) -> Period:
        return period_of(self.kind, self.end + dt.timedelta(days=1))


def period_of(kind: str, day: dt.date) -> Period:
    """The period of this kind that contains `day`."""
    if kind == DutyKind.DAILY:
        return Period(day, kind, day.isoformat(), day)
    if kind == DutyKind.WEEKLY:
        year, week, weekday = day.isocalendar()
        start = day - dt.timedelta(days=weekday - 1)
        return Period(start, kind, f"{year}-W{week:02d}", start + dt.timedelta(days=6))
    if kind == DutyKind.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(day.replace(day=1), kind, f"{day:%Y-%m}", day.replace(day=last))
    raise ValueError(kind)


def kind_of(code: str) -> str | None:
    """The kind a period's code is written in (the three shapes never overlap), or None."""
    text = str(code).strip().upper()
    return next((kind for kind, shape in _SHAPES.items() if shape.match(text)), None)


def period_parse(kind: str, text: str, *, field: str = "period") -> Period:
    """The period a caller wrote for a duty of this kind; 400 `invalid_period` for any other shape or a day, week
    or month that does not exist (2026-02-30, 2026-W54)."""
    code = str(text or "").strip().upper()
    match = _SHAPES[kind].match(code) if kind in _SHAPES else None
    day = None
    if match:
        year, number = int(match.group(1)), int(match.group(2))
        try:
            if kind == DutyKind.DAILY:
                day = dt.date(year, number, int(match.group(3)))
            elif kind == DutyKind.WEEKLY:
                day = dt.date.fromisocalendar(year, number, 1)
            else:
                day = dt.date(year, number, 1)
        except ValueError:
            day = None
    if day is None or not 2000 <= day.year <= 2999:
        message = _("Write the period as %(example)s.") % {"example": EXAMPLES.get(kind, EXAMPLES[DutyKind.DAILY])}
        raise InvalidInput(message, code="invalid_period", fields={field: [message]})
    return period_of(kind, day)


def period_bound(text: str, *, field: str) -> Period:
    """A bound of a range written as any of the three shapes (a day, a week or a month)."""
    kind = kind_of(text)
    if kind is None:
        message = _("Write a day (2026-03-01), a week (2026-W09) or a month (2026-03).")
        raise InvalidInput(message, code="invalid_period", fields={field: [message]})
    return period_parse(kind, text, field=field)


def periods_between(kind: str, first: dt.date, last: dt.date) -> Iterator[Period]:
    """Every period of this kind that overlaps the days first … last, oldest first."""
    period = period_of(kind, first)
    while period.start <= last:
        yield period
        period = period.next()


def periods_ended(kind: str, today: dt.date, count: int) -> list[Period]:
    """The last `count` periods of this kind that ended before `today`, newest first."""
    period, ended = period_of(kind, today).previous(), []
    for _step in range(count):
        ended.append(period)
        period = period.previous()
    return ended

"""The weekly progress of trade-ins (以旧换新) by street (街道): what streets report upward each week, read from the
trade-ins themselves (a few a day per street: the `trade_in_region` index serves them, no rollup needed)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, NotFound
from core.models import Region, User
from core.scoping import in_jurisdiction
from dealers.models import TradeIn

_WEEK = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Week:
    """An ISO 8601 week, Monday to Sunday in local time."""

    monday: dt.date

    @property
    def label(self) -> str:
        year, week, _day = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.monday, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.monday + dt.timedelta(days=7), dt.time.min))

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    def shifted(self, weeks: int) -> Week:
        return Week(self.monday + dt.timedelta(weeks=weeks))


def week_of(day: dt.date) -> Week:
    return Week(day - dt.timedelta(days=day.weekday()))


def week_parse(value: str | None, field: str = "week") -> Week:
    """YYYY-Www → that week; none → this week. A week not yet begun is refused."""
    this_week = week_of(timezone.localdate())
    if not value:
        return this_week
    match = _WEEK.match(value.strip())
    try:
        week = Week(dt.date.fromisocalendar(int(match["year"]), int(match["week"]), 1)) if match else None
    except ValueError:  # week 00, or 53 of a year with 52
        week = None
    if week is None:
        message = _("A week is written YYYY-Www (ISO 8601), e.g. 2026-W12.")
        raise InvalidInput(message, code="invalid_week", fields={field: [message]})
    if week.monday > this_week.monday or week.monday.year < 2000:
        message = _("Choose a week from 2000 to this week.")
        raise InvalidInput(message, code="invalid_week", fields={field: [message]})
    return week


def report_region(user: User, region_code: str | None) -> Region:
    """The region of the figures: the regulator's own, or one in its subtree (the platform: any). Anyone else, and
    a region outside the subtree, is told there is no such region (404)."""
    org = user.organization
    reads = user.is_superuser or (org is not None and org.is_active and org.is_regulator)
    if not reads:
        raise NotFound(_("No such region, or not one you may see."))
    code = (region_code or "").strip() or (org.region_id if org is not None else "")
    if not code:
        message = _("Give the code of a region.")
        raise InvalidInput(message, code="region_required", fields={"region_code": [message]})
    region = Region.objects.filter(code=code).first() if code.isdigit() and len(code) <= 12 else None
    if region is None or not in_jurisdiction(user, region.code):
        raise NotFound(_("No such region, or not one you may see."))
    return region


def weekly(region: Region, week: Week) -> dict:
    """API.md `GET /reports/trade-ins/`: per street of the region (every street, none left out for having nothing
    to report; owners registered only by county in a row of their county) and in total: the week's trade-ins and
    their subsidies, and the traded-in bikes a recycler took back in the week."""
    inside = TradeIn.objects.filter(region_code__startswith=region.prefix)
    traded = {
        row["region_code"]: row
        for row in inside.filter(traded_at__gte=week.start, traded_at__lt=week.end)
        .values("region_code")
        .annotate(trade_ins=Count("pk"), subsidy_yuan=Sum("subsidy_yuan"))
        .order_by()
    }
    handed = dict(
        inside.filter(handed_over_at__gte=week.start, handed_over_at__lt=week.end)
        .values("region_code")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("region_code", "n")
    )
    if region.level >= Region.Level.TOWNSHIP:
        streets = {region.code: region.name}
    else:
        streets = dict(
            Region.objects.filter(code__startswith=region.prefix, level=Region.Level.TOWNSHIP).values_list(
                "code", "name"
            )
        )
    others = (traded.keys() | handed.keys()) - streets.keys()
    names = {**streets, **dict(Region.objects.filter(code__in=others).values_list("code", "name"))}
    rows = []
    for code in sorted(streets.keys() | others):
        row = traded.get(code, {})
        rows.append(
            {
                "region_code": code,
                "name": names.get(code, code),
                "trade_ins": row.get("trade_ins", 0),
                "subsidy_yuan": row.get("subsidy_yuan") or ZERO,
                "handed_to_recycler": handed.get(code, 0),
            }
        )
    total = {
        "trade_ins": sum(r["trade_ins"] for r in rows),
        "subsidy_yuan": sum((r["subsidy_yuan"] for r in rows), ZERO),
        "handed_to_recycler": sum(r["handed_to_recycler"] for r in rows),
    }
    return {"week": week.label, "region_code": region.code, "name": region.name, "rows": rows, "total": total}

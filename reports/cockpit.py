"""What the regulator's cockpit (一图知全貌) shows, read from the rollups and the grades: the headline figures
against last month, the trends, the map's districts, what needs the regulator today, and the drill-down pages of a
region's enterprises and of one enterprise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, F, FilteredRelation, Prefetch, Q, Sum, Value, When
from django.utils import timezone

from alerts.models import Alert
from alerts.selectors import overdue
from core.models import ENTERPRISE_KINDS, Organization
from reports import selectors
from reports.models import EnterpriseDay, EnterpriseGrade, RegionDay
from reports.risk import reasons_in_words
from reports.rollups import ALERTS
from reports.selectors import OPEN_STATUSES, Scope

OVERDUE_LISTED = 10


@dataclass(frozen=True)
class Kpi:
    code: str
    value: float | int | None
    previous: float | int | None  # the same figure last month, where it has one
    unit: str = ""

    @property
    def change(self) -> float | int | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)


def registered_to_date(prefix: str, day: dt.date) -> int:
    """Bikes registered in the region and not cancelled, up to `day`: the running total of the rollups."""
    sums = RegionDay.objects.filter(region_code__startswith=prefix, day__lte=day).aggregate(
        registered=Sum("registrations"), cancelled=Sum("cancellations")
    )
    return (sums["registered"] or 0) - (sums["cancelled"] or 0)


def open_alerts(prefix: str, rules: tuple[str, ...]) -> int:
    return sum(selectors.open_alerts_by(len(prefix), prefix, rules).values())


def overdue_alerts(scope: Scope, now: dt.datetime):
    """Open alerts past their closure deadline (or escalated for it), the escalated and longest overdue first: what
    needs the regulator today. A live state (time passes), read from the alerts, not from a rollup."""
    return Alert.objects.filter(
        overdue(now), region_code__startswith=scope.prefix, rule__in=scope.rules, status__in=OPEN_STATUSES
    ).order_by("-escalation_level", "due_at")


def _tile_figures(scope: Scope, month: dt.date) -> dict:
    """The figures of a month the tiles compare, as selectors.summary has them, without the rest of the summary
    (its districts and enforcement: some ten queries more): last month's, beside the page's summary of this
    month."""
    first, last = month, selectors.month_so_far(month)
    return {
        **selectors.month_figures(scope, month),
        "median_event_to_alert_s": selectors.median_seconds(scope.prefix, first, last, "event_to_alert_s", scope.rules),
    }


def kpis(scope: Scope, month: dt.date, summary: dict) -> list[Kpi]:
    """The headline tiles of a month, each beside last month's figure. `summary` is the month's
    (selectors.summary, which the page reads anyway): this month's figures are taken from it."""
    now = timezone.now()
    last_month = (month - dt.timedelta(days=1)).replace(day=1)
    this, before = summary, _tile_figures(scope, last_month)
    month_end = selectors.month_so_far(month)
    return [
        Kpi(
            "registered",
            registered_to_date(scope.prefix, month_end),
            registered_to_date(scope.prefix, selectors.month_last_day(last_month)),
        ),
        Kpi("sales", this["sales"], before["sales"]),
        Kpi("open_alerts", open_alerts(scope.prefix, scope.rules), None),
        Kpi("overdue", overdue_alerts(scope, now).count(), None),
        Kpi("closed_within_sla_pct", this["closed_within_sla_pct"], before["closed_within_sla_pct"], "%"),
        Kpi("median_event_to_alert_s", this["median_event_to_alert_s"], before["median_event_to_alert_s"], "s"),
    ]


def enterprises_of(scope: Scope, *, limit: int, graded_only: bool = False) -> list[dict]:
    """The first `limit` enterprises of the region with their current grade: risk first, then by score, then by
    name; those not graded yet come last (or not at all, `graded_only`). Ordered and cut in the database: a city
    has thousands of enterprises, and the pages show the first few."""
    current = EnterpriseGrade.objects.filter(current=True)
    queryset = (
        Organization.objects.filter(region__code__startswith=scope.prefix, kind__in=ENTERPRISE_KINDS)
        .annotate(graded=FilteredRelation("risk_grades", condition=Q(risk_grades__current=True)))
        .annotate(
            risk_rank=Case(
                When(graded__grade=EnterpriseGrade.Grade.RISK, then=Value(0)),
                When(graded__isnull=False, then=Value(1)),
                default=Value(2),
            )
        )
        .select_related("region")
        .prefetch_related(Prefetch("risk_grades", queryset=current, to_attr="current_grades"))
        .order_by("risk_rank", F("graded__score").desc(nulls_last=True), "name", "pk")
    )
    if graded_only:
        queryset = queryset.filter(graded__isnull=False)
    rows = []
    for org in queryset[:limit]:
        graded = org.current_grades[0] if org.current_grades else None
        reasons = reasons_in_words(graded.reasons) if graded else []
        rows.append({"organization": org, "grade": graded, "reasons": reasons})
    return rows


def enterprise_figures(organization: Organization, first: dt.date, last: dt.date) -> dict:
    """One enterprise's month from its rollups: sales, repairs, recycled, refusals, alerts raised."""
    sums = EnterpriseDay.objects.filter(organization=organization, day__gte=first, day__lte=last).aggregate(
        sales=Sum("sales"),
        repairs=Sum("repairs"),
        recycled=Sum("recycled"),
        receipts_rejected=Sum("receipts_rejected"),
        alerts_raised=Sum("alerts_raised"),
    )
    return {key: value or 0 for key, value in sums.items()}


def enterprise_alerts(organization: Organization, rules: tuple[str, ...]):
    """Its alerts, open ones first, newest first."""
    return (
        Alert.objects.filter(organization=organization, rule__in=rules)
        .annotate(open_first=Count("pk", filter=Q(status__in=OPEN_STATUSES)))
        .order_by("-open_first", "-created_at")
    )


def alert_mix(scope: Scope, first: dt.date, last: dt.date) -> dict[str, int]:
    """Alerts raised in the period by rule (the cockpit's bar chart)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT rule, sum(raised) FROM {ALERTS.name}
                WHERE region_code LIKE %s AND day >= %s AND day <= %s AND rule = ANY(%s)
                GROUP BY rule ORDER BY 2 DESC""",
            [scope.prefix + "%", first, last, list(scope.rules)],
        )
        return {rule: int(n) for rule, n in cursor.fetchall() if n}

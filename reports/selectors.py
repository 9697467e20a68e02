"""Read paths of the reports: a jurisdiction's figures of a month and its trend, read from the rollups only (never
the ledger): a city's month is about 30 × its districts rows of each rollup."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Alert, DepartmentSubscription
from alerts.rules import REGISTRY
from core.errors import InvalidInput, NotFound
from core.models import Region, User
from core.pages import at_desk
from core.scoping import in_jurisdiction
from reports.models import AlertDay, RegionDay, RegionGrade
from reports.rollups import ALERTS, REGION, STATUS_COLUMNS
from supervision.enforcement import enforcement_figures

MAX_TREND_MONTHS = 36
OPEN_STATUSES = [s for s in Alert.Status.values if s not in {Alert.Status.CLOSED, Alert.Status.DISMISSED}]


# ── Whose figures ────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Scope:
    """A region the caller may read the figures of, and the alert rules it reads them for (a department: the
    rules of the categories it subscribed to; a regulator: all)."""

    region: Region
    rules: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return self.region.prefix


def report_scope(user: User, region_code: str | None) -> Scope:
    """The region of these figures, or 404 when it is outside the caller's jurisdiction (enterprises have none).
    No code: the caller's own region."""
    org = user.organization
    if not at_desk(user):
        raise NotFound(_("No such region, or not one you may see."))
    code = (region_code or "").strip() or (org.region_id if org is not None else "")
    if not code:
        message = _("Give the code of a region.")
        raise InvalidInput(message, code="region_required", fields={"region_code": [message]})
    region = Region.objects.filter(code=code).first() if code.isdigit() and len(code) <= 12 else None
    if region is None or not in_jurisdiction(user, region.code):
        raise NotFound(_("No such region, or not one you may see."))
    return Scope(region=region, rules=_rules_of(user))


def _rules_of(user: User) -> tuple[str, ...]:
    org = user.organization
    if org is None or not org.is_department:
        return tuple(REGISTRY)
    categories = set()
    for chosen in DepartmentSubscription.objects.filter(organization=org, active=True).values_list(
        "categories", flat=True
    ):
        categories.update(chosen)
    return tuple(code for code, rule in REGISTRY.items() if rule.category in categories)


# ── Months ───────────────────────────────────────────────────────────────────────────────────────────────────


def month_parse(value: str | None, field: str = "month") -> dt.date:
    """YYYY-MM → the month's first day; none → the current month. A month not yet begun is refused."""
    today = timezone.localdate()
    if not value:
        return today.replace(day=1)
    try:
        first = dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        message = _("A month is written YYYY-MM, e.g. 2026-11.")
        raise InvalidInput(message, code="invalid_month", fields={field: [message]}) from None
    if first > today or first.year < 2000:
        message = _("Choose a month from 2000 to this month.")
        raise InvalidInput(message, code="invalid_month", fields={field: [message]})
    return first


def month_last_day(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_so_far(first: dt.date) -> dt.date:
    """The last day of the month that counts: its last day, or today in the month under way."""
    return min(month_last_day(first), timezone.localdate())


def year_before(month: dt.date) -> dt.date:
    """The first of the 12 months that end with `month` (a trend's default span)."""
    return (month - dt.timedelta(days=334)).replace(day=1)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


# ── The figures ─────────────────────────────────────────────────────────────────────────────────────────────


def _pct(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def median_seconds(prefix: str, first: dt.date, last: dt.date, column: str, rules: tuple[str, ...]) -> float | None:
    """The exact median of the seconds kept in the rollups' second-lists."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s)
                FROM {ALERTS.name}, unnest({column}) AS s
                WHERE region_code LIKE %s AND day >= %s AND day <= %s AND rule = ANY(%s)""",
            [prefix + "%", first, last, list(rules)],
        )
        value = cursor.fetchone()[0]
    return None if value is None else float(value)


def chain_figures(prefix: str, first: dt.date, last: dt.date) -> dict[str, int]:
    sums = RegionDay.objects.filter(region_code__startswith=prefix, day__gte=first, day__lte=last).aggregate(
        **{column: Sum(column) for column in REGION.sums}
    )
    return {column: sums[column] or 0 for column in REGION.sums}


def alert_figures(prefix: str, first: dt.date, last: dt.date, rules: tuple[str, ...]) -> dict:
    rows = AlertDay.objects.filter(region_code__startswith=prefix, day__gte=first, day__lte=last, rule__in=rules)
    by_rule, by_severity = {}, {}
    for rule, severity, raised in rows.values_list("rule", "severity").annotate(n=Sum("raised")).order_by():
        if raised:
            by_rule[rule] = by_rule.get(rule, 0) + raised
            by_severity[severity] = by_severity.get(severity, 0) + raised
    sums = rows.aggregate(
        raised=Sum("raised"),
        dispatched_within_sla=Sum("dispatched_within_sla"),
        closed=Sum("closed"),
        closed_within_sla=Sum("closed_within_sla"),
        **{column: Sum(column) for column in STATUS_COLUMNS.values()},
    )
    total = sums["raised"] or 0
    return {
        "total": total,
        "by_status": {status: sums[column] for status, column in STATUS_COLUMNS.items() if sums[column]},
        "by_rule": dict(sorted(by_rule.items())),
        "by_severity": by_severity,
        "closed": sums["closed"] or 0,
        "dispatched_within_sla_pct": _pct(sums["dispatched_within_sla"] or 0, total),
        "closed_within_sla_pct": _pct(sums["closed_within_sla"] or 0, sums["closed"] or 0),
    }


def open_alerts_by(prefix_length: int, prefix: str, rules: tuple[str, ...]) -> dict[str, int]:
    """Alerts open now (raised on any day), per region prefix of `prefix_length` under `prefix`."""
    columns = " + ".join(STATUS_COLUMNS[s] for s in OPEN_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT left(region_code, %s), sum({columns}) FROM {ALERTS.name}
                WHERE region_code LIKE %s AND rule = ANY(%s) GROUP BY 1""",
            [prefix_length, prefix + "%", list(rules)],
        )
        return {key: int(count or 0) for key, count in cursor.fetchall()}


def _registrations_by(prefix_length: int, prefix: str, first: dt.date, last: dt.date) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT left(region_code, %s), sum(registrations) FROM {REGION.name}
                WHERE region_code LIKE %s AND day >= %s AND day <= %s GROUP BY 1""",
            [prefix_length, prefix + "%", first, last],
        )
        return {key: int(count or 0) for key, count in cursor.fetchall()}


def children_of(scope: Scope, first: dt.date, last: dt.date) -> list[dict]:
    """The next level down (city → districts), each with its colour (三分), risk enterprises, bikes registered
    in the month and alerts open now."""
    children = list(Region.objects.filter(parent_id=scope.region.code).order_by("code"))
    if not children:
        return []
    length = len(children[0].prefix)
    registrations = _registrations_by(length, scope.prefix, first, last)
    open_now = open_alerts_by(length, scope.prefix, scope.rules)
    grades = {
        g.region_code: g for g in RegionGrade.objects.filter(region_code__in=[c.code for c in children], current=True)
    }
    rows = []
    for child in children:
        grade = grades.get(child.code)
        rows.append(
            {
                "region_code": child.code,
                "name": child.name,
                "colour": grade.colour if grade else "green",
                "risk_enterprises": grade.risk_enterprises if grade else 0,
                "enterprises": grade.enterprises if grade else 0,
                "vehicles_registered": registrations.get(child.prefix, 0),
                "open_alerts": open_now.get(child.prefix, 0),
            }
        )
    return rows


def month_figures(scope: Scope, month: dt.date) -> dict:
    """The chain's and the alerts' figures of a month (up to now for the current one): the first part of the
    summary, three queries, for what compares a month with another (the monthly report's headline)."""
    first, last = month, month_so_far(month)
    chain = chain_figures(scope.prefix, first, last)
    alerts = alert_figures(scope.prefix, first, last, scope.rules)
    return {
        "region_code": scope.region.code,
        "name": scope.region.name,
        "month": f"{month:%Y-%m}",
        "vehicles_registered": chain["registrations"],
        "sales": chain["sales"],
        "repairs": chain["repairs"],
        "recycled": chain["vehicles_recycled"] + chain["batteries_recycled"],
        "complaints": chain["complaints"],
        "alerts": {key: alerts[key] for key in ("total", "by_status", "by_rule", "by_severity")},
        "dispatched_within_sla_pct": alerts["dispatched_within_sla_pct"],
        "closed_within_sla_pct": alerts["closed_within_sla_pct"],
    }


def summary(scope: Scope, month: dt.date) -> dict:
    """API.md `GET /reports/summary/`: the jurisdiction's figures of a month (up to now for the current one); the
    enforcement figures are counted from the supervision records themselves (supervision.enforcement)."""
    first, last = month, month_so_far(month)
    return {
        **month_figures(scope, month),
        "median_event_to_alert_s": median_seconds(scope.prefix, first, last, "event_to_alert_s", scope.rules),
        "median_alert_to_closed_s": median_seconds(scope.prefix, first, last, "alert_to_closed_s", scope.rules),
        "enforcement": enforcement_figures(scope.prefix, first, last, scope.rules),
        "children": children_of(scope, first, last),
    }


def trend_range(first_value: str | None, last_value: str | None) -> tuple[dt.date, dt.date]:
    """from/to as months; none: the 12 months up to this one. At most 36 months."""
    last = month_parse(last_value, "to")
    first = month_parse(first_value, "from") if first_value else year_before(last)
    if first > last:
        message = _("The first month comes after the last.")
        raise InvalidInput(message, code="invalid_range", fields={"from": [message]})
    if len(_months(first, last)) > MAX_TREND_MONTHS:
        message = _("At most %(n)d months at a time.") % {"n": MAX_TREND_MONTHS}
        raise InvalidInput(message, code="range_too_long", fields={"from": [message]})
    return first, last


def trend(scope: Scope, first: dt.date, last: dt.date) -> dict:
    """API.md `GET /reports/trend/`: month by month, sales, repairs, alerts (by rule) and closures."""
    end = month_last_day(last)
    months = {
        m: {"month": f"{m:%Y-%m}", "sales": 0, "repairs": 0, "alerts": 0, "alerts_by_rule": {}, "closed": 0}
        for m in _months(first, last)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT date_trunc('month', day)::date, sum(sales), sum(repairs) FROM {REGION.name}
                WHERE region_code LIKE %s AND day >= %s AND day <= %s GROUP BY 1""",
            [scope.prefix + "%", first, end],
        )
        for month, sales, repairs in cursor.fetchall():
            months[month].update(sales=int(sales or 0), repairs=int(repairs or 0))
        cursor.execute(
            f"""SELECT date_trunc('month', day)::date, rule, sum(raised), sum(closed) FROM {ALERTS.name}
                WHERE region_code LIKE %s AND day >= %s AND day <= %s AND rule = ANY(%s) GROUP BY 1, 2""",
            [scope.prefix + "%", first, end, list(scope.rules)],
        )
        for month, rule, raised, closed in cursor.fetchall():
            row = months[month]
            row["alerts"] += int(raised or 0)
            row["closed"] += int(closed or 0)
            if raised:
                row["alerts_by_rule"][rule] = int(raised)
    return {"region_code": scope.region.code, "months": list(months.values())}

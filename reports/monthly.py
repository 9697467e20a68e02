"""The monthly safety-governance report (月度电动自行车安全治理报告) of a region: its content, read from the rollups and
the grades (never the ledger), rendered as HTML and, where the system can, as PDF; generated on the 1st by beat for
every regulator's region, archived, and regenerated on request in the background with its progress."""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Left
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.models import Alert, Category
from alerts.rules import REGISTRY
from core.models import Organization, OrganizationKind, Region
from reports import cockpit, risk, selectors, svg
from reports.maps import region_map_source
from reports.models import ColourThreshold, EnterpriseGrade, MonthlyReport, RegionColour
from reports.rollups import ALERTS
from reports.selectors import OPEN_STATUSES, Scope

log = logging.getLogger(__name__)

# "Over-standard products" (超标产品): findings that a product on the road is not what the standards allow.
OVER_STANDARD_CATEGORIES = (Category.BATTERY, Category.SPEED, Category.MOTOR, Category.PRODUCT)
TOP_ENTERPRISES = 10


def _previous(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def _by_district(scope: Scope, first: dt.date, last: dt.date, rules: list[str]) -> list[dict]:
    """Per child region (city → districts): alerts raised, dispatched within the SLA, closed and closed within
    the deadline in the period, and the alerts overdue now."""
    children = list(Region.objects.filter(parent_id=scope.region.code).order_by("code"))
    if not children:
        return []
    length = len(children[0].prefix)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT left(region_code, %s), sum(raised), sum(dispatched_within_sla), sum(closed),
                       sum(closed_within_sla)
                FROM {ALERTS.name}
                WHERE region_code LIKE %s AND day >= %s AND day <= %s AND rule = ANY(%s) GROUP BY 1""",
            [length, scope.prefix + "%", first, last, rules],
        )
        found = {row[0]: [int(v or 0) for v in row[1:]] for row in cursor.fetchall()}
    overdue = dict(  # counted per district in the database: a city can have thousands overdue
        cockpit.overdue_alerts(scope, timezone.now())
        .filter(rule__in=rules)
        .order_by()
        .values_list(Left("region_code", length))
        .annotate(n=Count("pk"))
    )
    rows = []
    for child in children:
        raised, dispatched, closed, within = found.get(child.prefix, [0, 0, 0, 0])
        rows.append(
            {
                "region_code": child.code,
                "name": child.name,
                "raised": raised,
                "dispatched_within_sla": dispatched,
                "closed": closed,
                "closed_within_sla": within,
                "overdue_now": overdue.get(child.prefix, 0),
            }
        )
    return rows


def report_content(scope: Scope, month: dt.date) -> dict:
    """Everything the report says, as data (the HTML template and the PDF render it)."""
    first, last = month, selectors.month_last_day(month)
    before = _previous(month)
    this, previous = selectors.summary(scope, month), selectors.month_figures(scope, before)
    over_standard_rules = [
        c for c, r in REGISTRY.items() if r.category in OVER_STANDARD_CATEGORIES and c in scope.rules
    ]
    districts = _by_district(scope, first, last, over_standard_rules)
    loop = _by_district(scope, first, last, list(scope.rules))
    now = timezone.now()
    trend_first = selectors.year_before(month)
    ranked = cockpit.enterprises_of(scope, limit=TOP_ENTERPRISES, graded_only=True)
    enterprise_loop = (
        Alert.objects.filter(region_code__startswith=scope.prefix, rule__in=scope.rules, created_at__date__gte=first)
        .filter(created_at__date__lte=last, organization__isnull=False)
        .values("organization_id", "organization__name")
        .annotate(raised=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_STATUSES)))
        .order_by("-raised")[:TOP_ENTERPRISES]
    )
    return {
        "region": scope.region,
        "month": month,
        "previous_month": before,
        "generated_at": now,
        "summary": this,
        "previous": previous,
        "headline": _headline(this, previous),
        "over_standard": districts,
        "over_standard_total": sum(r["raised"] for r in districts),
        "trend": selectors.trend(scope, trend_first, month)["months"],
        "by_rule": [
            {"rule": code, "name": str(REGISTRY[code].name) if code in REGISTRY else code, "raised": n}
            for code, n in sorted(this["alerts"]["by_rule"].items(), key=lambda item: -item[1])
        ],
        "loop_by_district": loop,
        "loop_by_enterprise": list(enterprise_loop),
        "children": this["children"],
        "risk_changes": _risk_changes(scope, first, last),
        "top_enterprises": ranked,
        "complaints": this["complaints"],
        "complaints_previous": previous["complaints"],
        "enforcement": this["enforcement"],
    }


def _headline(this: dict, previous: dict) -> list[dict]:
    rows = []
    for key in ("vehicles_registered", "sales", "repairs", "recycled", "complaints"):
        rows.append({"code": key, "value": this[key], "previous": previous[key], "change": this[key] - previous[key]})
    rows.append(
        {
            "code": "alerts",
            "value": this["alerts"]["total"],
            "previous": previous["alerts"]["total"],
            "change": this["alerts"]["total"] - previous["alerts"]["total"],
        }
    )
    return rows


def _risk_changes(scope: Scope, first: dt.date, last: dt.date) -> dict:
    """What the month's gradings changed (reports.risk.risk_changes): the regions whose colour changed, the
    enterprises that turned risk (or left it), in words."""
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    changes = risk.risk_changes(start=start, end=end, region_code=scope.region.code)
    regions = dict(Region.objects.filter(code__in=[c.key for c in changes.regions]).values_list("code", "name"))
    organizations = dict(
        Organization.objects.filter(pk__in=[c.key for c in changes.enterprises]).values_list("pk", "name")
    )
    colours = dict(RegionColour.choices)
    grades = dict(EnterpriseGrade.Grade.choices)
    return {
        "regions": [
            {
                "region_code": c.key,
                "name": regions.get(c.key, c.key),
                "from": str(colours.get(c.before, _("not graded"))),
                "to": str(colours.get(c.after, c.after)),
                "colour": c.after,
            }
            for c in changes.regions
            if c.before is not None
        ],
        "turned_red": len([c for c in changes.turned_red if c.before is not None]),
        "enterprises": [
            {
                "name": organizations.get(c.key, c.key),
                "to": str(grades.get(c.after, c.after)),
                "risk": c.after == "risk",
            }
            for c in changes.enterprises
            if c.before is not None
        ],
        "turned_risk": len([c for c in changes.turned_risk if c.before is not None]),
    }


# ── Generation ──────────────────────────────────────────────────────────────────────────────────────────────


def report_charts(content: dict) -> dict[str, str]:
    """The report's charts as inline SVG (vector in the PDF): over-standard products by district, the year's
    trend, and the map of the districts in their 三分 colours (where the region's boundaries are known)."""
    charts = {}
    districts = content["over_standard"]
    if districts:
        charts["over_standard"] = svg.bar_chart(
            [row["name"] for row in districts],
            [{"name": _("over-standard products"), "values": [row["raised"] for row in districts]}],
            title=_("Over-standard products by district"),
        )
    months = content["trend"]
    charts["trend"] = svg.line_chart(
        [m["month"][2:] for m in months],
        [
            {"name": _("sales"), "values": [m["sales"] for m in months]},
            {"name": _("alerts"), "values": [m["alerts"] for m in months]},
            {"name": _("closed"), "values": [m["closed"] for m in months]},
        ],
        title=_("The last twelve months"),
    )
    source = region_map_source(content["region"].code)
    if source is not None and content["children"]:
        thresholds = {t.colour: t.min_share_pct for t in ColourThreshold.objects.all()}
        legend = [
            (
                colour,
                f"{RegionColour(colour).label} ≥ {thresholds[colour]:g}%"
                if thresholds.get(colour)
                else str(RegionColour(colour).label),
            )
            for colour in RegionColour.values
        ]
        charts["map"] = svg.region_map(
            json.loads(source.body()),
            {c["region_code"]: c["colour"] for c in content["children"]},
            legend=legend,
            title=_("Risk map"),
        )
    return charts


def report_html(content: dict) -> str:
    with translation.override("zh-hans"):
        return render_to_string("reports/monthly.html", {**content, "charts": report_charts(content)})


def monthly_report_generate(report: MonthlyReport) -> MonthlyReport:
    """Render the report's HTML (and its PDF where the system can), step by step with its progress. The report
    is a document of a Chinese bureau: it is written in Chinese, whoever asks for it."""
    with translation.override("zh-hans"):
        return _generate(report)


def _generate(report: MonthlyReport) -> MonthlyReport:
    from reports.pdf import html_to_pdf, pdf_available

    def progress(percent: int, status: str = MonthlyReport.Status.RUNNING) -> None:
        MonthlyReport.objects.filter(pk=report.pk).update(progress=percent, status=status)

    progress(5)
    region = Region.objects.get(code=report.region_code)
    scope = Scope(region=region, rules=tuple(REGISTRY))
    content = report_content(scope, report.month)
    progress(40)
    html = report_html(content)
    progress(60)
    pdf, error = None, ""
    available, why = pdf_available()
    if available:
        try:
            pdf = html_to_pdf(html, base_url=None)
        except Exception as exc:  # a bad font or library: the HTML report stands; the page says why
            log.exception("PDF of the monthly report %s failed", report.pk)
            error = f"{type(exc).__name__}"
    else:
        error = why
    with transaction.atomic():
        report.refresh_from_db()
        report.html, report.pdf_error = html, error
        if pdf is not None:
            report.pdf.save(f"{report.region_code}-{report.month:%Y-%m}.pdf", ContentFile(pdf), save=False)
        report.status, report.progress, report.generated_at = MonthlyReport.Status.DONE, 100, timezone.now()
        report.save()
    return report


def regulator_regions() -> list[str]:
    """The regions of every active regulator: each gets its report on the 1st."""
    return sorted(
        set(
            Organization.objects.filter(kind=OrganizationKind.REGULATOR, status=Organization.Status.ACTIVE).values_list(
                "region_id", flat=True
            )
        )
    )


def monthly_report_request(*, region_code: str, month: dt.date, user=None) -> MonthlyReport:
    """Queue (re)generation of a region's report of a month, after commit; its row shows the progress."""
    from reports.tasks import monthly_report_render

    report, _created = MonthlyReport.objects.get_or_create(region_code=region_code, month=month)
    MonthlyReport.objects.filter(pk=report.pk).update(status=MonthlyReport.Status.QUEUED, progress=0, requested_by=user)
    report.refresh_from_db()
    transaction.on_commit(lambda: _queue(monthly_report_render, report.pk))
    return report


def _queue(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:  # the broker is down: the report stays queued, and the archive page offers to try again
        log.warning("monthly report %s not queued", args, exc_info=True)


def monthly_reports_request(month: dt.date) -> list[MonthlyReport]:
    with transaction.atomic():
        return [monthly_report_request(region_code=code, month=month) for code in regulator_regions()]


def monthly_report_deliver(report_id: int) -> str:
    """Generate the report and leave a notice (and an e-mail) for the regulators of its region."""
    from core.notices import notice_send

    report = MonthlyReport.objects.filter(pk=report_id).first()
    if report is None:
        return "gone"
    try:
        report = monthly_report_generate(report)
    except Exception:
        MonthlyReport.objects.filter(pk=report_id).update(status=MonthlyReport.Status.FAILED)
        raise
    title = _("The monthly safety-governance report of %(region)s for %(month)s is ready.") % {
        "region": Region.objects.get(code=report.region_code).name,
        "month": f"{report.month:%Y-%m}",
    }
    url = reverse("reports-monthly-html", args=[report.region_code, f"{report.month:%Y-%m}"])
    for regulator in Organization.objects.filter(
        kind=OrganizationKind.REGULATOR, status=Organization.Status.ACTIVE, region_id=report.region_code
    ):
        notice_send(organization=regulator, title=title, url=url)
    return report.status

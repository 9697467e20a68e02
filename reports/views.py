"""The regulator's cockpit (一图知全貌): a jurisdiction's headline figures against last month, its trends, the map of
its districts coloured by the 三分 grading, what needs the regulator today, and the drill-down: city → district (its
enterprises with their grades and reasons) → enterprise (its alerts, sales and repairs) → bike (the dossier).

Departments get the same pages read-only, for the alert categories they subscribed to. Every figure comes from the
rollups and the grades, read from the replica where one is configured (they may lag a few seconds)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from alerts.presentation import rule_name, sla_of
from core.errors import DomainError
from core.models import ENTERPRISE_KINDS, Organization, Region
from core.replica import reading_from_replica
from dealers.models import Sale
from repairs.models import Repair
from reports import cockpit, selectors
from reports.maps import MapRegion, region_map_chart, region_map_source
from reports.models import EnterpriseGrade
from reports.risk import reasons_in_words
from supervision.views_credit import credit_for_regulator

RECENT = 10
ENTERPRISES_LISTED = 50


def scope_or_404(request, region_code: str | None):
    """The viewer's report scope at `region_code` (None: its own region); a page outside it does not exist."""
    try:
        return selectors.report_scope(request.user, region_code)
    except DomainError:  # NotFound among them
        raise Http404 from None


def _month(request) -> dt.date:
    try:
        return selectors.month_parse(request.GET.get("month"))
    except DomainError:
        return timezone.localdate().replace(day=1)


def _trail(scope, user) -> list[Region]:
    """The regions from the viewer's own jurisdiction down to this one (the breadcrumb of the drill-down)."""
    trail, node = [], scope.region
    top = user.organization.region_id if user.organization_id else None
    while node is not None:
        trail.append(node)
        if node.code == top:
            break
        node = node.parent
    return list(reversed(trail))


def _charts(region: Region, summary: dict, trend: list[dict], mix: dict[str, int], has_map: bool) -> dict:
    """The contexts of the cockpit's charts (templates/reports/_region_map.html and _chart.html)."""
    months = [m["month"] for m in trend]
    charts = {
        "trend": {
            "id": "trend",
            "kind": "line",
            "caption": _("The last twelve months"),
            "categories": months,
            "categoryLabel": _("Month"),
            "series": [
                {"name": _("sales"), "values": [m["sales"] for m in trend]},
                {"name": _("alerts"), "values": [m["alerts"] for m in trend]},
                {"name": _("closed"), "values": [m["closed"] for m in trend]},
            ],
            "unit": "",
        },
        "mix": {
            "id": "mix",
            "kind": "bar",
            "caption": _("Alerts of the month by rule"),
            "categories": [rule_name(code) for code in mix],
            "categoryLabel": _("Rule"),
            "series": [{"name": _("alerts"), "values": list(mix.values())}],
            "unit": "",
        },
    }
    if has_map:
        charts["map"] = region_map_chart(
            region_code=region.code,
            regions=[
                MapRegion(
                    code=c["region_code"],
                    name=c["name"],
                    colour=c["colour"] if c["enterprises"] else "",
                    value=c["open_alerts"],
                    figures=(c["risk_enterprises"], c["enterprises"], c["vehicles_registered"]),
                )
                for c in summary["children"]
            ],
            value_label=_("open alerts"),
            columns=[_("risk enterprises"), _("enterprises"), _("registered this month")],
            caption=_("Districts by their share of risk enterprises (三分)"),
            href=f"{reverse('dashboard')}?region={{code}}",
        )
    return charts


@require_GET
@login_required
def dashboard(request):
    """GET /dashboard/?region=&month=: the cockpit of a region (the viewer's own by default)."""
    scope = scope_or_404(request, request.GET.get("region") or None)
    month = _month(request)
    first, last = month, selectors.month_so_far(month)
    now = timezone.now()
    with reading_from_replica():
        summary = selectors.summary(scope, month)
        trend = selectors.trend(scope, selectors.year_before(month), month)
        mix = cockpit.alert_mix(scope, first, last)
        kpis = cockpit.kpis(scope, month, summary)
        overdue = list(cockpit.overdue_alerts(scope, now).select_related("organization")[: cockpit.OVERDUE_LISTED])
        enterprises = cockpit.enterprises_of(scope, limit=ENTERPRISES_LISTED) if scope.region.level >= 3 else []
    context = {
        "scope": scope,
        "region": scope.region,
        "trail": _trail(scope, request.user),
        "month": month,
        "summary": summary,
        "kpis": kpis,
        "overdue": [{"alert": a, "rule_name": rule_name(a.rule), "sla": sla_of(a, now)} for a in overdue],
        "enterprises": enterprises,
        "trend": trend["months"],
        "mix": [{"rule": code, "name": rule_name(code), "raised": n} for code, n in mix.items()],
        "charts": _charts(
            scope.region,
            summary,
            trend["months"],
            mix,
            has_map=bool(summary["children"]) and region_map_source(scope.region.code) is not None,
        ),
        "read_only": not (request.user.is_superuser or request.user.organization.is_regulator),
    }
    return render(request, "reports/dashboard.html", context)


@require_GET
@login_required
def enterprise(request, pk: int):
    """GET /dashboard/enterprises/<id>/: one enterprise of the jurisdiction: its grade and why, its month's
    figures, its alerts, and its recent sales and repairs, each bike linked to its dossier."""
    org = Organization.objects.select_related("region").filter(pk=pk, kind__in=ENTERPRISE_KINDS).first()
    if org is None:
        raise Http404
    scope = scope_or_404(request, org.region_id)
    month = _month(request)
    with reading_from_replica():
        figures = cockpit.enterprise_figures(org, month, selectors.month_last_day(month))
        grade = EnterpriseGrade.objects.filter(organization=org, current=True).first()
        alerts = list(cockpit.enterprise_alerts(org, scope.rules)[:RECENT])
        sales = list(Sale.objects.filter(dealer=org).select_related("vehicle").order_by("-sold_at")[:RECENT])
        repairs = list(Repair.objects.filter(shop=org).select_related("vehicle").order_by("-performed_at")[:RECENT])
    now = timezone.now()
    context = {
        "organization": org,
        "scope": scope,
        "trail": _trail(scope, request.user),
        "month": month,
        "figures": figures,
        "grade": grade,
        "reasons": reasons_in_words(grade.reasons) if grade else [],
        "alerts": [{"alert": a, "rule_name": rule_name(a.rule), "sla": sla_of(a, now)} for a in alerts],
        "sales": sales,
        "repairs": repairs,
        "qualification": org.qualification_state(timezone.localdate()),
        "credit_rows": credit_for_regulator(request.user, org),  # None: not for this viewer (a department)
    }
    return render(request, "reports/enterprise.html", context)

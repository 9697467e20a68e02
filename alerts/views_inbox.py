"""The regulator's and departments' alert inbox: filtered, live-refreshed rows, exports, and one step on many
alerts at once. Every step goes through `alerts.services.alert_transition`; every list is scoped by
`alerts.selectors`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from alerts import selectors, services
from alerts.forms import (
    BULK_ACTIONS,
    BulkForm,
    InboxFilterForm,
    action_label,
)
from alerts.models import (
    Alert,
    AlertDelivery,
    Severity,
)
from alerts.presentation import local_text, region_names, rule_name, sla_of
from alerts.views import in_enterprise
from core.errors import DomainError
from core.exports import csv_response, xlsx_response
from core.models import Organization, Region, region_prefix
from core.pages import at_desk, desk_page, page_of, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_new, submission_claim, submission_done

PAGE_SIZE = 50
REFRESH_SECONDS = 10

# ---------------------------------------------------------------------------------------------------------------
# Inbox (regulators, departments)


def _districts(user) -> list[tuple[str, str]]:
    org = user.organization
    if org is None:
        return []
    return list(Region.objects.filter(parent_id=org.region_id).order_by("code").values_list("code", "name"))


def _inbox(request, *, all_choices: bool = True):
    """The visible alerts with the filters applied, newest first, and the filter form. The enterprise choices
    (every enterprise with a visible alert) are built for the page, or to check a given enterprise filter."""
    user = request.user
    visible = selectors.alerts_visible_to(user)
    enterprises = ()
    if all_choices or request.GET.get("enterprise"):
        enterprises = (
            Organization.objects.filter(pk__in=visible.order_by().values("organization_id"))
            .order_by("name")
            .values_list("pk", "name")[:500]
        )
    form = InboxFilterForm(request.GET or None, districts=_districts(user), enterprises=enterprises)
    values = form.values() if form.is_bound else {}
    queryset = visible
    if values.get("q"):
        text = values["q"].strip().upper()
        queryset = queryset.filter(Q(frame_no=text) | Q(battery_serial=text))
    if values.get("rule"):
        queryset = queryset.filter(rule=values["rule"])
    if values.get("status") == InboxFilterForm.OPEN:
        queryset = queryset.filter(status__in=services.OPEN)
    elif values.get("status"):
        queryset = queryset.filter(status=values["status"])
    if values.get("severity"):
        queryset = queryset.filter(severity=values["severity"])
    if values.get("district"):
        region = Region.objects.get(code=values["district"])
        queryset = queryset.filter(region_code__startswith=region_prefix(region.code, region.level))
    if values.get("enterprise"):
        queryset = queryset.filter(organization_id=int(values["enterprise"]))
    org = user.organization
    if org is not None and org.is_department:
        mine = AlertDelivery.objects.filter(alert=OuterRef("pk"), organization=org)
        queryset = queryset.annotate(
            acknowledged_at=Subquery(mine.order_by("-acknowledged_at").values("acknowledged_at")[:1])
        )
    return queryset.order_by("-created_at", "-id"), form, visible


def _inbox_rows(alerts, *, seen: int, now) -> list[dict]:
    """Each row with its labels and links computed here, once per value: the inbox renders 50 rows every 10 s."""
    regions = region_names(a.region_code for a in alerts)
    statuses, severities = dict(Alert.Status.choices), dict(Severity.choices)
    detail = reverse("alert-detail", args=[0]).removesuffix("0/")
    rows = []
    for alert in alerts:
        sla = sla_of(alert, now)
        if sla["at"]:
            sla["at_text"] = date_format(timezone.localtime(sla["at"]), "Y-m-d H:i")
        rows.append(
            {
                "alert": alert,
                "url": f"{detail}{alert.pk}/",
                "rule_name": rule_name(alert.rule),
                "status_label": statuses.get(alert.status, alert.status),
                "severity_label": severities.get(alert.severity, alert.severity),
                "select_label": _("Select alert %(id)s") % {"id": alert.pk},
                "region": regions.get(alert.region_code, alert.region_code),
                "sla": sla,
                "fresh": alert.pk > seen,
            }
        )
    return rows


def _inbox_context(request, queryset, visible) -> dict:
    try:
        seen = int(request.GET.get("seen", ""))
    except ValueError:
        seen = visible.order_by("-id").values_list("id", flat=True).first() or 0
    page = page_of(request, queryset, PAGE_SIZE)
    rows = _inbox_rows(list(page.object_list), seen=seen, now=timezone.now())
    query = query_without(request, "seen")
    return {
        "page": page,
        "rows": rows,
        "fresh": sum(1 for r in rows if r["fresh"]),
        "seen": seen,
        "query": query,
        "refresh_url": f"{reverse('alerts-inbox-rows')}?{query}{'&' if query else ''}seen={seen}&page={page.number}",
        "refresh_seconds": REFRESH_SECONDS,
        "filtered": any(request.GET.get(k) for k in ("q", "rule", "status", "severity", "district", "enterprise")),
        "is_department": bool(request.user.organization and request.user.organization.is_department),
        "selectable": bool(_bulk_actions(request.user)),
    }


def _bulk_actions(user) -> list[str]:
    org = user.organization
    if org is None or not org.is_active:
        return []
    if org.is_regulator:
        return list(BULK_ACTIONS["regulator"])
    if org.is_department:
        return list(BULK_ACTIONS["department"])
    return []


@require_GET
@login_required
def inbox(request):
    """Every alert the user may see, newest first, filterable, exportable; the list refreshes itself.
    An enterprise is sent to the alerts about itself."""
    if not at_desk(request.user):
        if in_enterprise(request.user):
            return redirect("alerts-mine")
        raise Http404
    queryset, form, visible = _inbox(request)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        with reading_from_replica():
            return _inbox_export(queryset, export)
    context = _inbox_context(request, queryset, visible)
    context.update(
        {
            "filters": form,
            "bulk_actions": [(a, action_label(a)) for a in _bulk_actions(request.user)],
            "token": form_token_new(),
        }
    )
    return render(request, "alerts/inbox.html", context)


@require_GET
def inbox_rows(request):
    """htmx: the list part of the inbox, fetched every few seconds; alerts newer than `seen` are highlighted."""
    if not request.user.is_authenticated:
        return HttpResponse(status=286)  # htmx stops polling; the next full page load asks for the login
    if not at_desk(request.user):
        raise Http404
    queryset, _form, visible = _inbox(request, all_choices=False)  # the fragment does not show the form
    return render(request, "alerts/_inbox_rows.html", _inbox_context(request, queryset, visible))


def _inbox_export(queryset, kind: str):
    header = [
        _("Alert"),
        _("Created at"),
        _("Rule code"),
        _("Rule"),
        _("Category"),
        _("Severity"),
        _("Status"),
        _("Region code"),
        _("Region"),
        _("Frame number"),
        _("Battery code"),
        _("Enterprise"),
        _("Regulator"),
        _("Due at"),
        _("Closed at"),
        _("Overdue"),
    ]
    now = timezone.now()
    regions = dict(Region.objects.values_list("code", "name"))

    def rows(when):
        for alert in queryset.iterator(chunk_size=500):
            yield [
                alert.pk,
                when(alert.created_at),
                alert.rule,
                rule_name(alert.rule),
                alert.get_category_display(),
                alert.get_severity_display(),
                alert.get_status_display(),
                alert.region_code,
                regions.get(alert.region_code, ""),
                alert.frame_no,
                alert.battery_serial,
                alert.organization.name if alert.organization else "",
                alert.regulator.name if alert.regulator else "",
                when(alert.due_at),
                when(alert.closed_at) if alert.closed_at else "",
                _("yes") if alert.is_open and alert.due_at < now else _("no"),
            ]

    stamp = timezone.localdate().isoformat()
    if kind == "xlsx":
        return xlsx_response(f"alerts-{stamp}.xlsx", header, rows(lambda at: at), title=_("Alerts"))
    return csv_response(f"alerts-{stamp}.csv", header, rows(local_text))


@require_POST
@desk_page
def bulk(request):
    """The same step on the selected alerts, each through the closed loop on its own: one refusal (another
    worker moved it on, wrong state) does not stop the others. The result lists each alert."""
    user = request.user
    form = BulkForm(request.POST, actions=_bulk_actions(user), ids=request.POST.getlist("ids"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        query = request.POST.get("query", "")
        return redirect(f"{reverse('alerts-inbox')}?{query}" if query else reverse("alerts-inbox"))
    action, note = form.cleaned_data["action"], form.cleaned_data["note"]
    results = []
    with transaction.atomic():
        first = submission_claim(request)
        if first:
            return redirect(first)
        for alert_id in form.cleaned_data["ids"]:
            try:
                alert = services.alert_transition(user=user, alert_id=alert_id, action=action, note=note)
            except DomainError as refusal:
                results.append({"id": alert_id, "ok": False, "code": refusal.code, "message": refusal.message})
            else:
                results.append({"id": alert_id, "ok": True, "code": "", "status": alert.get_status_display()})
        submission_done(request, reverse("alerts-inbox"))
    found = {a.pk: a for a in selectors.alerts_visible_to(user).filter(pk__in=[r["id"] for r in results])}
    for result in results:
        alert = found.get(result["id"])
        result["alert"] = alert
        result["rule_name"] = rule_name(alert.rule) if alert else ""
    done = sum(1 for r in results if r["ok"])
    return render(
        request,
        "alerts/bulk_result.html",
        {"results": results, "action": action_label(action), "done": done, "refused": len(results) - done},
    )

"""Pages of the inspection work (工作台账): the inspector's tasks and a task's page on a phone (the enterprise's facts
at hand, the checklist, photos, hazards and actions, submitted once); on the desk, the plans, the work ledger of tasks,
results and actions (CSV/XLSX), and the enforcement table as a bureau reports it upward."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from alerts.models import RuleCode
from alerts.presentation import rule_name
from alerts.selectors import alerts_visible_to
from core.errors import Conflict, DomainError
from core.exports import csv_response, xlsx_response
from core.models import OrganizationKind, Region, region_prefix
from core.pages import desk_page, page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_of, submit_once
from reports.selectors import month_so_far, report_scope
from supervision import inspections
from supervision.enforcement import FIGURES, enforcement_figures, enforcement_range
from supervision.inspection_forms import LedgerFilterForm, PlanForm, ResultForm
from supervision.inspections import MAX_PHOTOS, task_status
from supervision.models import EnforcementAction, InspectionTask

PAGE_SIZE = 50
PHONE_PAGE_SIZE = 30
MAX_DISTRICTS = 30  # the enforcement table's columns, one per district below the region

regulator_page = pages_for(OrganizationKind.REGULATOR)  # a market regulator in good standing; anyone else: 404
# The enforcement figures: regulators, departments (read-only, like the cockpit) and the platform: alerts' desk_page.


def _task(request, pk) -> InspectionTask:
    try:
        return inspections.task_visible(request.user, pk)
    except DomainError:
        raise Http404 from None


def _regions_below(org) -> list[tuple[str, str]]:
    """The regulator's own region and the next level down, for choosing where a plan inspects."""
    own = Region.objects.get(code=org.region_id)
    children = Region.objects.filter(parent_id=own.code).order_by("code").values_list("code", "name")
    return [(own.code, own.name), *children]


# ── The inspector's phone ────────────────────────────────────────────────────────────────────────────────────


@require_GET
@regulator_page
def task_list(request):
    """My tasks: the open ones, earliest deadline first, the overdue ones in red; or those done."""
    now, status = timezone.now(), request.GET.get("status", "")
    visible = inspections.tasks_visible_to(request.user)
    if status == "done":
        queryset = visible.filter(status=InspectionTask.Status.DONE).order_by("-performed_at", "-pk")
    elif status == "overdue":
        queryset = inspections.tasks_filtered(visible, now=now, status="overdue").order_by("due_at", "pk")
    else:
        status = ""
        queryset = visible.filter(status=InspectionTask.Status.OPEN).order_by("due_at", "pk")
    page = page_of(request, queryset, PHONE_PAGE_SIZE)
    rows = [
        {"task": t, "status": task_status(t, now), "days_overdue": max(-_days_left(t, now), 0)}
        for t in page.object_list
    ]
    return render(
        request,
        "supervision/inspection_tasks.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "query": query_without(request),
            "overdue_count": inspections.tasks_filtered(visible, now=now, status="overdue").count(),
        },
    )


def _days_left(task: InspectionTask, now: dt.datetime) -> int:
    return (timezone.localdate(task.due_at) - timezone.localdate(now)).days


def _hazard_alert(user, task: InspectionTask):
    """The INSPECTION_HAZARD alert this result raised, or the open one it was added to."""
    source = f"inspection:{task.pk}"
    return (
        alerts_visible_to(user)
        .filter(rule=RuleCode.INSPECTION_HAZARD, organization=task.organization)
        .filter(Q(evidence__source=source) | Q(evidence__repeats__contains=[{"source": source}]))
        .order_by("-created_at")
        .first()
    )


@require_http_methods(["GET", "POST"])
@regulator_page
def task_detail(request, pk: int):
    """One task on the inspector's phone: the enterprise's facts at hand, then the result form (the plan's
    checklist, photos, hazards found, actions taken), submitted once; a task done shows its result."""
    user, task = request.user, _task(request, pk)
    form = None
    if task.status == InspectionTask.Status.OPEN or request.method == "POST":
        form = ResultForm(request.POST or None, checklist=task.plan.checklist)
    if request.method == "POST":
        uploads = request.FILES.getlist("photos")
        if len(uploads) > MAX_PHOTOS:
            form.photo_errors.append(_("At most %(n)d photos per inspection.") % {"n": MAX_PHOTOS})
        if form.is_valid() and not form.photo_errors:
            data = form.service_data()
            try:

                def record() -> str:
                    inspections.inspection_result_record(user=user, task_id=task.pk, photos=uploads, **data)
                    return reverse("work-inspection", args=[task.pk])

                url = submit_once(request, record)
                messages.success(request, _("The inspection's result is recorded."))
                return redirect(url)
            except Conflict as error:  # recorded meanwhile by someone else: theirs stands, shown below
                messages.error(request, error.message)
            except DomainError as error:
                form.add_domain_error(error)
        elif uploads:
            form.photo_errors.append(_("Choose the photos again."))
    now = timezone.now()
    facts = inspections.enterprise_facts(user, task)
    context = {
        "task": task,
        "status": task_status(task, now),
        "form": form if task.status == InspectionTask.Status.OPEN else None,
        "token": form_token_of(request),
        "max_photos": MAX_PHOTOS,
        "facts": facts,
        "alerts": [{"alert": a, "rule_name": rule_name(a.rule)} for a in facts.open_alerts],
        "actions": list(task.actions.all()),
        "photos": list(task.photos.all()),
        "hazard_alert": _hazard_alert(user, task) if task.hazards_found else None,
        "now_local": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "supervision/inspection_task.html", context)


@require_GET
@regulator_page
def task_photo(request, pk: int, photo_pk: int):
    try:
        photo = inspections.photo_visible(request.user, pk, photo_pk)
    except DomainError:
        raise Http404 from None
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ── Plans (desk) ─────────────────────────────────────────────────────────────────────────────────────────────────


@require_GET
@regulator_page
def plans(request):
    """The plans of the jurisdiction, newest first, with their tasks done and to do."""
    page = page_of(request, inspections.plans_visible_to(request.user), PAGE_SIZE)
    kinds = dict(OrganizationKind.choices)
    rows = [{"plan": p, "kinds": [str(kinds.get(k, k)) for k in p.kinds]} for p in page.object_list]
    return render(
        request, "supervision/inspection_plans.html", {"page": page, "rows": rows, "query": query_without(request)}
    )


@require_http_methods(["GET", "POST"])
@regulator_page
def plan_new(request):
    """Make a plan: where, which kinds of enterprise, how often, how many (or all), risk first or not, the
    checklist and the days to complete. The current period is drawn at once."""
    regions = _regions_below(request.user.organization)
    if request.method == "POST":
        form = PlanForm(request.POST, regions=regions)
        if form.is_valid():
            data = form.service_data()
            drawn = {}
            try:

                def create() -> str:
                    plan, created = inspections.inspection_plan_create(user=request.user, **data)
                    drawn["n"] = created
                    return f"{reverse('work-ledger')}?plan={plan.pk}"

                url = submit_once(request, create)
                if "n" in drawn:
                    messages.success(
                        request, _("The plan is made: %(n)d enterprises drawn for this period.") % {"n": drawn["n"]}
                    )
                return redirect(url)
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = PlanForm(regions=regions, initial={"region_code": regions[0][0], "frequency": "monthly"})
    return render(request, "supervision/inspection_plan_form.html", {"form": form, "token": form_token_of(request)})


# ── The work ledger (desk) ───────────────────────────────────────────────────────────────────────────────────────


def _ledger(request):
    user, now = request.user, timezone.now()
    visible = inspections.tasks_visible_to(user)
    plan_choices = list(inspections.plans_visible_to(user).values_list("pk", "name")[:200])
    planned_here = {pk for pk, _name in plan_choices}
    asked_plan = inspections.as_id(request.GET.get("plan", ""))
    if asked_plan and asked_plan not in planned_here:  # a city's plan seen from a district: its tasks here
        plan = visible.filter(plan_id=asked_plan).values_list("plan_id", "plan__name").first()
        if plan:
            plan_choices.append(plan)
    districts = list(
        Region.objects.filter(parent_id=user.organization.region_id).order_by("code").values_list("code", "name")
    )
    form = LedgerFilterForm(request.GET or None, plans=plan_choices, districts=districts)
    values = form.cleaned_data if form.is_bound and form.is_valid() else {}
    district = Region.objects.filter(code=values.get("district") or "").first()
    queryset = inspections.tasks_filtered(
        visible,
        now=now,
        status=values.get("status") or "",
        plan_id=values.get("plan"),
        region_code=region_prefix(district.code, district.level) if district else "",
        performed_from=values.get("date_from"),
        performed_to=values.get("date_to"),
    )
    if values.get("enterprise"):
        queryset = queryset.filter(organization__name__contains=values["enterprise"].strip())
    if values.get("hazards"):
        queryset = queryset.filter(hazards_found__gt=0)
    queryset = queryset.prefetch_related(inspections.TASK_RESULT[0]).order_by("-performed_at", "due_at", "-pk")
    return queryset, form, now


def action_text(action: EnforcementAction) -> str:
    if action.kind == EnforcementAction.Kind.FINE:
        return _("fine ¥%(amount)s") % {"amount": f"{action.amount_yuan:,.2f}"}
    if action.kind == EnforcementAction.Kind.CONFISCATION:
        return _("confiscation of %(n)d units") % {"n": action.quantity or 0}
    return str(action.get_kind_display())


@require_GET
@regulator_page
def ledger(request):
    """The ledger of inspection tasks (工作台账): each task with its result and actions; filters, export."""
    queryset, form, now = _ledger(request)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        with reading_from_replica():
            return _ledger_export(queryset, export, now)
    page = page_of(request, queryset, PAGE_SIZE)
    rows = [
        {
            "task": t,
            "status": task_status(t, now),
            "actions": [action_text(a) for a in t.actions.all()],
            "failed": sum(1 for f in t.findings if not f.get("ok")),
        }
        for t in page.object_list
    ]
    return render(
        request,
        "supervision/inspection_ledger.html",
        {
            "filters": form,
            "page": page,
            "rows": rows,
            "query": query_without(request),
            "filtered": any(request.GET.get(k) for k in ("status", "plan", "district", "enterprise", "hazards")),
            "filtered_dates": any(request.GET.get(k) for k in ("date_from", "date_to")),
        },
    )


STATUS_WORDS = {
    "open": pgettext_lazy("inspection task", "open"),
    "overdue": gettext_lazy("overdue"),
    "done": gettext_lazy("done"),
}


def _ledger_export(queryset, kind: str, now):
    header = [
        _("Task"),
        _("Plan"),
        _("Period"),
        _("Enterprise"),
        _("Kind of enterprise"),
        _("Region code"),
        _("Status"),
        _("Due"),
        _("Inspected at"),
        _("Inspector"),
        _("Items not in order"),
        _("Hazards found"),
        _("Actions taken"),
        _("Fines (¥)"),
        _("Units confiscated"),
        _("Note"),
    ]

    def rows(when):
        for task in queryset.iterator(chunk_size=500):
            actions = list(task.actions.all())
            fines = sum((a.amount_yuan for a in actions if a.amount_yuan is not None), start=0)
            yield [
                task.pk,
                task.plan.name,
                task.period,
                task.organization.name,
                task.organization.get_kind_display(),
                task.region_code,
                str(STATUS_WORDS[task_status(task, now)]),
                when(task.due_at),
                when(task.performed_at) if task.performed_at else "",
                task.performed_by.username if task.performed_by else "",
                sum(1 for f in task.findings if not f.get("ok")) if task.performed_at else "",
                task.hazards_found if task.performed_at else "",
                "；".join(action_text(a) for a in actions),
                f"{fines:.2f}" if fines else "",
                sum(a.quantity or 0 for a in actions) or "",
                task.note,
            ]

    stamp = timezone.localdate().isoformat()
    if kind == "xlsx":
        return xlsx_response(f"inspections-{stamp}.xlsx", header, rows(lambda at: at), title=_("Inspections"))
    return csv_response(
        f"inspections-{stamp}.csv", header, rows(lambda at: timezone.localtime(at).strftime("%Y-%m-%d %H:%M"))
    )


# ── Enforcement figures (desk) ───────────────────────────────────────────────────────────────────────────────


def _enforcement_range(request) -> tuple[dt.date, dt.date]:
    """?from=&to= days, or ?month=YYYY-MM (the cockpit's link); a wrong date falls back to this month so far."""
    month = request.GET.get("month", "")
    try:
        if month and not (request.GET.get("from") or request.GET.get("to")):
            first = dt.date.fromisoformat(f"{month}-01")
            return enforcement_range(first.isoformat(), max(first, month_so_far(first)).isoformat())
        return enforcement_range(request.GET.get("from"), request.GET.get("to"))
    except (DomainError, ValueError):
        messages.error(request, _("Write the days as YYYY-MM-DD, the first before the last."))
        return enforcement_range(None, None)


@require_GET
@desk_page
def enforcement(request):
    """The enforcement figures of a region and each district below it, for any range of days, as a bureau reports
    them upward; CSV and XLSX."""
    try:
        scope = report_scope(request.user, request.GET.get("region") or None)
    except DomainError:
        raise Http404 from None
    first, last = _enforcement_range(request)
    children = list(Region.objects.filter(parent_id=scope.region.code).order_by("code")[: MAX_DISTRICTS + 1])
    if len(children) > MAX_DISTRICTS:
        children = []
    with reading_from_replica():
        total = enforcement_figures(scope.prefix, first, last, scope.rules)
        by_child = [enforcement_figures(child.prefix, first, last, scope.rules) for child in children]
    table = [
        {"code": code, "label": str(label), "total": total[code], "children": [f[code] for f in by_child]}
        for code, label in FIGURES
    ]
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        header = [_("Figure"), scope.region.name, *(c.name for c in children)]
        rows = [[row["label"], _cell(row["total"]), *(_cell(v) for v in row["children"])] for row in table]
        name = f"enforcement-{scope.region.code}-{first.isoformat()}-{last.isoformat()}"
        if export == "xlsx":
            return xlsx_response(f"{name}.xlsx", header, rows, title=_("Enforcement"))
        return csv_response(f"{name}.csv", header, rows)
    user_region = request.user.organization.region_id if request.user.organization_id else None
    regions = list(Region.objects.filter(code=user_region)) + list(
        Region.objects.filter(parent_id=user_region).order_by("code")
    )
    return render(
        request,
        "supervision/enforcement.html",
        {
            "scope": scope,
            "region": scope.region,
            "regions": regions,
            "first": first,
            "last": last,
            "children": children,
            "table": table,
            "query": query_without(request),
        },
    )


def _cell(value):
    """A figure for the spreadsheet: fines as a number of yuan, counts as they are."""
    return Decimal(value) if isinstance(value, str) else value

"""Pages of the shared kernel: home per kind of organization, the organization directory, health check."""

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.exports import csv_response
from core.home import home_for
from core.models import QUALIFICATION_KINDS, Organization, OrganizationKind, QualificationState
from core.notices import notices_for
from core.pages import page_of
from core.replica import reading_from_replica
from core.selectors import organizations_visible_to


@login_required
def home(request):
    user = request.user
    org = user.organization
    if org is None and user.is_superuser:
        return redirect("admin:index")
    name, tasks = home_for(org.kind if org else None)
    context = {"organization": org, "tasks": tasks, "notices": notices_for(user)}
    return render(request, f"home/{name}.html", context)


@login_required
def organizations(request):
    """The enterprises and agencies the user may see, filterable by kind."""
    queryset = organizations_visible_to(request.user)
    kind = request.GET.get("kind", "")
    if kind in OrganizationKind.values:
        queryset = queryset.filter(kind=kind)
    query = request.GET.get("q", "").strip()
    if query:
        queryset = queryset.filter(name__contains=query)
    today = timezone.localdate()
    problems = request.GET.get("qualification") == "problems"
    if problems:  # the shops and recyclers working without a valid qualification
        lapsed = Q(qualification_no="") | Q(qualification_valid_until__lt=today)
        queryset = queryset.filter(lapsed, kind__in=QUALIFICATION_KINDS)
    states = dict(QualificationState.choices)
    if request.GET.get("export") == "csv":
        header = [_("Name"), _("Kind"), _("Region"), _("Unified social credit code"), _("Qualification")]
        header += [_("Qualification valid until"), _("Qualification status"), _("Status")]
        with reading_from_replica():
            return csv_response(
                "organizations.csv",
                header,
                (
                    [
                        o.name,
                        o.get_kind_display(),
                        o.region_id,
                        o.uscc,
                        o.qualification_no,
                        o.qualification_valid_until or "",
                        states[o.qualification_state(today)],
                        o.get_status_display(),
                    ]
                    for o in queryset.iterator()
                ),
            )
    page = page_of(request, queryset)
    rows = [{"org": o, "qualification": o.qualification_state(today)} for o in page.object_list]
    return render(
        request,
        "core/organizations.html",
        {
            "page": page,
            "rows": rows,
            "kinds": OrganizationKind.choices,
            "kind": kind,
            "q": query,
            "problems": problems,
            "qualification_labels": states,
            "statuses": dict(Organization.Status.choices),
        },
    )


@require_GET
def healthz(request):
    """Liveness for load balancers and the smoke test: the database and Redis both answer."""
    checks = {"database": False, "redis": False}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            checks["database"] = cursor.fetchone() == (1,)
    except Exception:  # a health check reports failures, it does not raise them
        pass
    try:
        cache.set("healthz", "1", 5)
        checks["redis"] = cache.get("healthz") == "1"
    except Exception:
        pass
    ok = all(checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)

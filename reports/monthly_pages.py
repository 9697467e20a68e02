"""The monthly reports' pages: the archive of a jurisdiction with regeneration and its progress, and each report
as HTML and PDF (session login; regulators and departments of the region)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError, NotFound
from core.pages import page_of
from core.submissions import form_token_of, submission_claim, submission_done
from reports import monthly, selectors
from reports.models import MonthlyReport
from reports.views import scope_or_404


def _report(request, region_code: str, month: str) -> MonthlyReport:
    scope_or_404(request, region_code)
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise Http404 from None
    report = MonthlyReport.objects.filter(region_code=region_code, month=first, status=MonthlyReport.Status.DONE)
    found = report.first()
    if found is None:
        raise Http404
    return found


def _may_generate(user) -> bool:
    org = user.organization
    return user.is_superuser or (org is not None and org.is_active and org.is_regulator)


@require_http_methods(["GET", "POST"])
@login_required
def archive(request):
    """GET /reports/monthly/: the jurisdiction's reports, newest first; a regulator (re)generates a month."""
    scope = scope_or_404(request, request.GET.get("region") or None)
    error = None
    if request.method == "POST":
        if not _may_generate(request.user):
            raise Http404
        try:
            with transaction.atomic():
                first = submission_claim(request)
                if first:
                    return redirect(first)
                month = selectors.month_parse(request.POST.get("month"))
                region = selectors.report_scope(request.user, request.POST.get("region") or scope.region.code)
                report = monthly.monthly_report_request(region_code=region.region.code, month=month, user=request.user)
                url = f"{reverse('reports-monthly')}?region={scope.region.code}#report-{report.pk}"
                submission_done(request, url)
            return redirect(url)
        except NotFound:
            raise Http404 from None
        except DomainError as refusal:
            error = refusal.message
    reports = MonthlyReport.objects.filter(region_code__startswith=scope.prefix).order_by("-month", "region_code")
    context = {
        "scope": scope,
        "page": page_of(request, reports, 24),
        "may_generate": _may_generate(request.user),
        "last_month": (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m"),
        "error": error,
        "token": form_token_of(request),
    }
    return render(request, "reports/archive.html", context, status=400 if error else 200)


@require_GET
@login_required
def progress(request, pk: int):
    """The progress fragment of one report, polled by the archive page while it is generated."""
    report = MonthlyReport.objects.filter(pk=pk).first()
    if report is None:
        raise Http404
    scope_or_404(request, report.region_code)
    return render(request, "reports/_report_row.html", {"report": report})


@require_GET
@login_required
def report_html(request, region_code: str, month: str):
    report = _report(request, region_code, month)
    return HttpResponse(report.html, content_type="text/html; charset=utf-8")


@require_GET
@login_required
def report_pdf(request, region_code: str, month: str):
    """The PDF; where the system could not render one, a page that says plainly why (what to install)."""
    report = _report(request, region_code, month)
    if not report.pdf:
        context = {"report": report, "html_url": reverse("reports-monthly-html", args=[region_code, month])}
        return render(request, "reports/no_pdf.html", context, status=404)
    name = f"{report.region_code}-{month}-monthly-report.pdf"
    return FileResponse(report.pdf.open("rb"), content_type="application/pdf", filename=name, as_attachment=True)

"""`/api/v1/reports/monthly/`: the archive of monthly reports of a jurisdiction, and regeneration in the background."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.errors import NotFound, PermissionRefused
from reports import monthly, selectors
from reports.models import MonthlyReport


def report_urls(report: MonthlyReport) -> dict:
    month = f"{report.month:%Y-%m}"
    done = report.status == MonthlyReport.Status.DONE
    return {
        "html_url": reverse("reports-monthly-html", args=[report.region_code, month]) if done else None,
        "pdf_url": reverse("reports-monthly-pdf", args=[report.region_code, month]) if done and report.pdf else None,
    }


class MonthlyReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    region_code = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM")
    status = serializers.ChoiceField(choices=MonthlyReport.Status.choices)
    progress = serializers.IntegerField(help_text="percent")
    html_url = serializers.CharField(allow_null=True)
    pdf_url = serializers.CharField(allow_null=True, help_text="null without a PDF: see pdf_error")
    pdf_error = serializers.CharField(allow_blank=True, help_text="why there is no PDF (e.g. what to install)")
    generated_at = serializers.DateTimeField(allow_null=True)


def report_out(request, report: MonthlyReport) -> dict:
    urls = {key: request.build_absolute_uri(url) if url else None for key, url in report_urls(report).items()}
    return {
        "id": report.pk,
        "region_code": report.region_code,
        "month": f"{report.month:%Y-%m}",
        "status": report.status,
        "progress": report.progress,
        **urls,
        "pdf_error": report.pdf_error,
        "generated_at": report.generated_at,
    }


class RegenerateIn(serializers.Serializer):
    region_code = serializers.CharField(max_length=12)
    month = serializers.CharField(max_length=7, help_text="YYYY-MM")


class QueuedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status_url = serializers.URLField()


class MonthlyReportListView(generics.GenericAPIView):
    """GET: the archived reports of the region and the regions below it, newest month first. POST (regulators of
    the region): regenerate one in the background → 202 with where to follow it."""

    queryset = MonthlyReport.objects.none()  # for the schema; rows come from the caller's jurisdiction

    @extend_schema(
        parameters=[OpenApiParameter("region_code", str, description="default: the caller's own region")],
        responses={200: MonthlyReportOut(many=True)},
    )
    def get(self, request):
        scope = selectors.report_scope(request.user, request.query_params.get("region_code"))
        reports = MonthlyReport.objects.filter(region_code__startswith=scope.prefix).order_by("-month", "region_code")
        page = self.paginate_queryset(reports)
        return self.get_paginated_response([report_out(request, r) for r in page])

    @extend_schema(request=RegenerateIn, responses={202: QueuedOut})
    @idempotent
    def post(self, request):
        data = RegenerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        scope = selectors.report_scope(request.user, data.validated_data["region_code"])
        org = request.user.organization
        if not request.user.is_superuser and not (org is not None and org.is_regulator):
            raise PermissionRefused(_("Only a market regulator generates monthly reports."), code="not_a_regulator")
        month = selectors.month_parse(data.validated_data["month"])
        report = monthly.monthly_report_request(region_code=scope.region.code, month=month, user=request.user)
        status_url = request.build_absolute_uri(reverse("api-reports-monthly-detail", args=[report.pk]))
        return Response({"id": report.pk, "status_url": status_url}, status=status.HTTP_202_ACCEPTED)


class MonthlyReportDetailView(APIView):
    """One report's state: queued, being generated (with its progress), done (with its links) or failed."""

    @extend_schema(responses={200: MonthlyReportOut}, operation_id="v1_reports_monthly_detail")
    def get(self, request, pk):
        report = MonthlyReport.objects.filter(pk=pk).first()
        if report is None:
            raise NotFound(_("No such report, or not one you may see."))
        try:
            selectors.report_scope(request.user, report.region_code)
        except NotFound:
            raise NotFound(_("No such report, or not one you may see.")) from None
        return Response(report_out(request, report))

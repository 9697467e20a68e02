"""Stolen bikes (API.md "More of the chain"): the police report a bike stolen or found; the hot sheet of a region."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.client_ip import client_ip
from vehicles import stolen
from vehicles.api.record import Named
from vehicles.models import StolenReport, Vehicle

REFUSALS = {
    403: OpenApiResponse(
        description="`police_only`: only the police report a bike stolen or found; `outside_jurisdiction`: the bike "
        "is registered outside the caller's jurisdiction"
    ),
    404: OpenApiResponse(description="no such bike, or not one the caller may see"),
}


class StolenIn(serializers.Serializer):
    report_no = serializers.CharField(max_length=64, help_text="the police case or report number (报案编号)")
    reported_at = serializers.DateTimeField(help_text="when it was reported stolen; not in the future")


class FoundIn(serializers.Serializer):
    found_at = serializers.DateTimeField(required=False, help_text="when it was found; now when left out")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StolenReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    frame_no = serializers.CharField()
    report_no = serializers.CharField()
    reported_at = serializers.DateTimeField()
    region_code = serializers.CharField(help_text="the bike's region when it was reported: its police get the alerts")
    reported_by = Named()
    found_at = serializers.DateTimeField(allow_null=True)
    found_by = Named(allow_null=True)


def _named(org) -> dict | None:
    return {"id": org.pk, "name": org.name} if org is not None else None


def report_out(report: StolenReport, frame_no: str) -> dict:
    return {
        "id": report.pk,
        "frame_no": frame_no,
        "report_no": report.report_no,
        "reported_at": report.reported_at,
        "region_code": report.region_code,
        "reported_by": _named(report.reported_by),
        "found_at": report.found_at,
        "found_by": _named(report.found_by) if report.found_at else None,
    }


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise query_invalid(serializer, _("Some fields are invalid."))
    return serializer.validated_data


class StolenView(APIView):
    """Report a bike stolen (police of its jurisdiction): every later step of the bike raises STOLEN_SEEN to them."""

    @extend_schema(
        request=StolenIn,
        responses={
            201: StolenReportOut,
            409: OpenApiResponse(description="`already_reported`: an earlier report is still open"),
            **REFUSALS,
        },
    )
    @idempotent
    def post(self, request, frame_no):
        values = _valid(StolenIn, request.data)
        report = stolen.stolen_report_open(
            user=request.user,
            frame_no=frame_no,
            report_no=values["report_no"],
            reported_at=values["reported_at"],
            ip_address=client_ip(request),
        )
        return Response(report_out(report, report.vehicle.frame_no), status=201)


class FoundView(APIView):
    """The bike is found (police of its jurisdiction): its open report closes."""

    @extend_schema(
        request=FoundIn,
        responses={
            200: StolenReportOut,
            409: OpenApiResponse(description="`not_reported`: the bike has no open stolen report"),
            **REFUSALS,
        },
    )
    @idempotent
    def post(self, request, frame_no):
        values = _valid(FoundIn, request.data)
        report = stolen.stolen_report_close(
            user=request.user,
            frame_no=frame_no,
            found_at=values.get("found_at") or timezone.now(),
            note=values["note"],
            ip_address=client_ip(request),
        )
        return Response(report_out(report, report.vehicle.frame_no))


class _HotSheetModel(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class _HotSheetVehicle(serializers.Serializer):
    frame_no = serializers.CharField()
    code = serializers.CharField(help_text="the public code of its QR label")
    model = _HotSheetModel()
    plate_no = serializers.CharField(allow_null=True, help_text="the plate of its active registration")
    status = serializers.ChoiceField(choices=Vehicle.Status.choices)


class _HotSheetReport(serializers.Serializer):
    id = serializers.IntegerField()
    report_no = serializers.CharField()
    reported_at = serializers.DateTimeField()
    region_code = serializers.CharField()
    reported_by = Named()


class _LastSeen(serializers.Serializer):
    at = serializers.DateTimeField()
    event = serializers.CharField(help_text="the ledger step (repaired, sold, swapped…), or public_page_scan")
    enterprise = Named(allow_null=True, help_text="where it was seen")
    region_code = serializers.CharField(allow_blank=True)
    region_name = serializers.CharField(allow_blank=True)
    alert = serializers.IntegerField(help_text="the STOLEN_SEEN alert")


class HotSheetRowOut(serializers.Serializer):
    vehicle = _HotSheetVehicle()
    report = _HotSheetReport()
    last_seen = _LastSeen(allow_null=True, help_text="the newest sighting since the report, if any")


class HotSheetQuery(serializers.Serializer):
    region_code = serializers.CharField(required=False, max_length=12)


def _last_seen(report, orgs: dict[int, str], regions: dict[str, str]) -> dict | None:
    seen = report.last_seen
    if not seen:
        return None
    evidence = seen.get("evidence") or {}
    enterprise = evidence.get("enterprise")
    region = evidence.get("seen_region") or ""
    return {
        "at": evidence.get("seen_at") or seen.get("at"),
        "event": evidence.get("seen_event") or "",
        "enterprise": {"id": enterprise, "name": orgs.get(enterprise, "")} if isinstance(enterprise, int) else None,
        "region_code": region,
        "region_name": regions.get(region, ""),
        "alert": seen.get("id"),
    }


def hot_sheet_rows(reports) -> list[dict]:
    orgs, regions = stolen.sighting_places(reports)
    return [
        {
            "vehicle": {
                "frame_no": r.vehicle.frame_no,
                "code": r.vehicle.code,
                "model": {"code": r.vehicle.model.code, "name": r.vehicle.model.name},
                "plate_no": r.plate_no,
                "status": r.vehicle.status,
            },
            "report": {
                "id": r.pk,
                "report_no": r.report_no,
                "reported_at": r.reported_at,
                "region_code": r.region_code,
                "reported_by": _named(r.reported_by),
            },
            "last_seen": _last_seen(r, orgs, regions),
        }
        for r in reports
    ]


class HotSheetView(GenericAPIView):
    """The stolen-bike hot sheet (police and regulators): the open reports of a region, newest first."""

    queryset = StolenReport.objects.none()  # the schema's model; the rows come from vehicles.stolen.hot_sheet
    serializer_class = HotSheetRowOut

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "region_code", str, description="a region in your jurisdiction (its whole subtree); yours by default"
            )
        ],
        responses={
            200: HotSheetRowOut(many=True),
            403: OpenApiResponse(description="neither police nor market regulator"),
            404: OpenApiResponse(description="the region is unknown or outside the caller's jurisdiction"),
        },
        operation_id="v1_stolen_list",
    )
    def get(self, request):
        values = _valid(HotSheetQuery, request.query_params)
        reports = stolen.hot_sheet(request.user, values.get("region_code", ""))
        page = self.paginate_queryset(reports)
        return self.get_paginated_response(hot_sheet_rows(page))

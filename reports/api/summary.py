"""`GET /api/v1/reports/summary/` and `/trend/`: a jurisdiction's figures, read from the rollups."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reports import selectors

REGION = OpenApiParameter("region_code", str, description="GB/T 2260 code; default: the caller's own region")


class _Counts(serializers.DictField):
    child = serializers.IntegerField()


class AlertFiguresOut(serializers.Serializer):
    total = serializers.IntegerField(help_text="alerts raised in the month")
    by_status = _Counts(help_text="where the month's alerts stand now")
    by_rule = _Counts()
    by_severity = _Counts()


class ChildOut(serializers.Serializer):
    region_code = serializers.CharField()
    name = serializers.CharField()
    colour = serializers.ChoiceField(choices=["red", "orange", "yellow", "green"], help_text="三分 risk colour")
    risk_enterprises = serializers.IntegerField()
    enterprises = serializers.IntegerField()
    vehicles_registered = serializers.IntegerField(help_text="registered in the month")
    open_alerts = serializers.IntegerField(help_text="open now")


class SummaryOut(serializers.Serializer):
    region_code = serializers.CharField()
    name = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM")
    vehicles_registered = serializers.IntegerField(help_text="registrations in the month")
    sales = serializers.IntegerField()
    repairs = serializers.IntegerField()
    recycled = serializers.IntegerField(help_text="vehicles and batteries taken back")
    complaints = serializers.IntegerField()
    alerts = AlertFiguresOut()
    dispatched_within_sla_pct = serializers.FloatField(allow_null=True, help_text="of the month's alerts")
    closed_within_sla_pct = serializers.FloatField(allow_null=True, help_text="of the month's closures")
    median_event_to_alert_s = serializers.FloatField(allow_null=True)
    median_alert_to_closed_s = serializers.FloatField(allow_null=True)
    enforcement = serializers.DictField(help_text="inspections and enforcement actions, when recorded")
    children = ChildOut(many=True, help_text="the next level down (city → districts)")


class MonthOut(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    sales = serializers.IntegerField()
    repairs = serializers.IntegerField()
    alerts = serializers.IntegerField()
    alerts_by_rule = _Counts()
    closed = serializers.IntegerField()


class TrendOut(serializers.Serializer):
    region_code = serializers.CharField()
    months = MonthOut(many=True)


class SummaryView(APIView):
    """A jurisdiction's figures of a month (the current month counts up to now); another jurisdiction is 404."""

    @extend_schema(
        parameters=[REGION, OpenApiParameter("month", str, description="YYYY-MM; default: this month")],
        responses={200: SummaryOut},
    )
    def get(self, request):
        scope = selectors.report_scope(request.user, request.query_params.get("region_code"))
        month = selectors.month_parse(request.query_params.get("month"))
        return Response(selectors.summary(scope, month))


class TrendView(APIView):
    """Month by month, at most 36: sales, repairs, alerts by rule, closures."""

    @extend_schema(
        parameters=[
            REGION,
            OpenApiParameter("from", str, description="YYYY-MM; default: 11 months before `to`"),
            OpenApiParameter("to", str, description="YYYY-MM; default: this month"),
        ],
        responses={200: TrendOut},
    )
    def get(self, request):
        scope = selectors.report_scope(request.user, request.query_params.get("region_code"))
        first, last = selectors.trend_range(request.query_params.get("from"), request.query_params.get("to"))
        return Response(selectors.trend(scope, first, last))

"""Credit API (API.md "Supervision work"): an enterprise's credit record, and the export of a region's records for
the public credit platform as JSON or CSV (supervision/credit.py says which records count)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from core.exports import csv_response
from core.models import Organization
from core.replica import reading_from_replica
from supervision import credit
from supervision.api.sampling import query_values

SOURCE_CHOICES = list(credit.SOURCES)


class CreditRowOut(serializers.Serializer):
    date = serializers.DateField()
    source = serializers.ChoiceField(choices=SOURCE_CHOICES, help_text="alert | enforcement | sampling")
    code = serializers.CharField(help_text="the alert's rule code, the action's kind, or SAMPLING_FAILED")
    description = serializers.CharField()
    penalty_yuan = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class _CreditOrganizationOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField(help_text="unified social credit code (统一社会信用代码)")
    region_code = serializers.CharField()


class CreditExportRowOut(CreditRowOut):
    organization = _CreditOrganizationOut()


class CreditExportQuery(serializers.Serializer):
    region_code = serializers.CharField(max_length=12, required=False)
    format = serializers.ChoiceField(choices=["json", "csv"], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.DateField(required=False, source="date_from")
        self.fields["to"] = serializers.DateField(required=False, source="date_to")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"to": [_("The period ends before it begins.")]})
        return attrs


class _FormatIsAQueryParameter(BaseContentNegotiation):
    """`?format=csv` chooses the export's format in the view (DRF would look for a CSV renderer and answer 404);
    errors and the JSON answer are JSON whatever the client accepts."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OrganizationCreditView(GenericAPIView):
    """The enterprise's credit record, newest first: to itself and to the regulators of its subtree."""

    queryset = Organization.objects.none()
    serializer_class = CreditRowOut
    pagination_class = None

    @extend_schema(responses={200: CreditRowOut(many=True)}, operation_id="v1_organizations_credit_list")
    def get(self, request, pk):
        organization = credit.credit_organization(request.user, pk)
        with reading_from_replica():
            rows = [row.as_dict() for row in credit.credit_rows(organization)]
        return Response(CreditRowOut(rows, many=True).data)


def csv_header() -> list[str]:
    return [
        _("Unified social credit code"),
        _("Enterprise"),
        _("Region"),
        _("Date"),
        _("Source"),
        _("Code"),
        _("Description"),
        _("Penalty (¥)"),
    ]


class CreditExportView(GenericAPIView):
    """The credit records of a region's enterprises in a period, for the public credit platform (regulators)."""

    queryset = Organization.objects.none()
    serializer_class = CreditExportRowOut
    pagination_class = None
    content_negotiation_class = _FormatIsAQueryParameter

    @extend_schema(
        parameters=[
            OpenApiParameter("region_code", str, description="a region of your jurisdiction (default: your own)"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="on or after, YYYY-MM-DD"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="on or before, YYYY-MM-DD"),
            OpenApiParameter("format", str, enum=["json", "csv"], description="default json"),
        ],
        responses={
            (200, "application/json"): CreditExportRowOut(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        operation_id="v1_credit_export",
    )
    def get(self, request):
        values = query_values(CreditExportQuery, request.query_params)
        prefix = credit.credit_export_prefix(request.user, values.get("region_code", ""))
        date_from, date_to = values.get("date_from"), values.get("date_to")
        with reading_from_replica():
            rows = credit.credit_rows_in(prefix, date_from, date_to)
            if values.get("format") == "csv":
                return csv_response(
                    f"credit-{prefix or 'all'}.csv",
                    csv_header(),
                    (
                        [
                            r.organization.uscc,
                            r.organization.name,
                            r.organization.region_id,
                            r.date.isoformat(),
                            r.source_label,
                            r.code,
                            r.description,
                            "" if r.penalty_yuan is None else f"{r.penalty_yuan:.2f}",
                        ]
                        for r in rows
                    ),
                )
            data = [row.as_dict(with_organization=True) for row in rows]
        return Response(CreditExportRowOut(data, many=True).data)

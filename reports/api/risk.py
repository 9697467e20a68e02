"""The 三分 risk grading API (API.md "Reports and risk grading"): enterprises graded risk or non-risk, the product
categories' grades, regions' colours, and the colour thresholds. Read-only."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.serializers import OrganizationBrief
from core.errors import InvalidInput, PermissionRefused
from core.models import ENTERPRISE_KINDS, OrganizationKind
from core.scoping import viewer_of
from reports import risk
from reports.models import (
    ColourThreshold,
    EnterpriseGrade,
    ProductCategory,
    ProductRiskGrade,
    RegionColour,
    RegionGrade,
)

ENTERPRISE_KIND_CHOICES = [(kind.value, kind.label) for kind in OrganizationKind if kind in ENTERPRISE_KINDS]
NOT_FOUND = OpenApiResponse(
    description=gettext_lazy(
        "`not_found`: the region is unknown or outside the caller's jurisdiction; an enterprise has no "
        "jurisdiction, so for it every region is 404."
    )
)
NO_JURISDICTION = OpenApiResponse(
    description=gettext_lazy(
        "`permission_denied`: an enterprise asked without naming a region; it has no jurisdiction."
    )
)


class ReasonOut(serializers.Serializer):
    code = serializers.CharField(help_text="the signal (reports.risk), e.g. `overdue_rectifications`")
    weight = serializers.DecimalField(max_digits=6, decimal_places=2)
    count = serializers.IntegerField()


class EnterpriseGradeOut(serializers.ModelSerializer):
    organization = OrganizationBrief()
    reasons = ReasonOut(many=True, help_text="the signals that counted: score = Σ weight × count")

    class Meta:
        model = EnterpriseGrade
        fields = ["organization", "grade", "score", "reasons", "graded_at"]


class EnterpriseGradeQuery(serializers.Serializer):
    region_code = serializers.CharField(required=False, max_length=12)
    grade = serializers.ChoiceField(choices=EnterpriseGrade.Grade.choices, required=False)
    kind = serializers.ChoiceField(choices=ENTERPRISE_KIND_CHOICES, required=False)


class ProductReasonOut(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class ProductCategoryOut(serializers.ModelSerializer):
    category = serializers.CharField(source="code")
    grade = serializers.ChoiceField(choices=ProductRiskGrade.choices)
    reasons = ProductReasonOut(many=True)

    class Meta:
        model = ProductCategory
        fields = ["category", "name", "grade", "reasons"]


class RegionColourOut(serializers.Serializer):
    region_code = serializers.CharField()
    name = serializers.CharField()
    colour = serializers.ChoiceField(choices=RegionColour.choices)
    risk_enterprises = serializers.IntegerField()
    enterprises = serializers.IntegerField()
    risk_share_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    graded_at = serializers.DateTimeField(allow_null=True, help_text="null: no enterprise there was ever graded")


class ColourThresholdOut(serializers.ModelSerializer):
    colour = serializers.ChoiceField(choices=RegionColour.choices)

    class Meta:
        model = ColourThreshold
        fields = ["colour", "min_share_pct", "reason"]


def _refuse_enterprises(user) -> None:
    """Grades are the regulators' and departments' view of their jurisdiction; an enterprise has none."""
    viewer = viewer_of(user)
    org = viewer.organization
    if not viewer.is_platform and (org is None or not (org.is_regulator or org.is_department)):
        raise PermissionRefused(_("Risk grades are shown to regulators and departments only."))


class EnterpriseGradeListView(GenericAPIView):
    queryset = EnterpriseGrade.objects.none()  # the schema's model; the rows come from reports.risk
    serializer_class = EnterpriseGradeOut

    @extend_schema(
        parameters=[
            OpenApiParameter("region_code", str, description="a region in your jurisdiction: its whole subtree"),
            OpenApiParameter("grade", str, enum=EnterpriseGrade.Grade.values),
            OpenApiParameter("kind", str, enum=[value for value, _label in ENTERPRISE_KIND_CHOICES]),
        ],
        responses={200: EnterpriseGradeOut(many=True), 403: NO_JURISDICTION, 404: NOT_FOUND},
        operation_id="v1_risk_enterprises_list",
    )
    def get(self, request):
        query = EnterpriseGradeQuery(data=request.query_params)
        if not query.is_valid():
            raise InvalidInput(
                _("A filter is invalid."), fields={k: [str(e) for e in v] for k, v in query.errors.items()}
            )
        values = query.validated_data
        region = risk.jurisdiction_region(request.user, values["region_code"]) if "region_code" in values else None
        _refuse_enterprises(request.user)
        grades = risk.enterprise_grades_visible_to(request.user, region=region)
        if "grade" in values:
            grades = grades.filter(grade=values["grade"])
        if "kind" in values:
            grades = grades.filter(organization__kind=values["kind"])
        page = self.paginate_queryset(grades)
        return self.get_paginated_response(EnterpriseGradeOut(page, many=True).data)


class ProductCategoryListView(GenericAPIView):
    queryset = ProductCategory.objects.none()  # the schema's model; the rows come from reports.risk
    serializer_class = ProductCategoryOut
    pagination_class = None

    @extend_schema(responses={200: ProductCategoryOut(many=True)}, operation_id="v1_risk_products_list")
    def get(self, request):
        return Response(ProductCategoryOut(risk.product_categories(), many=True).data)


class RegionColourListView(GenericAPIView):
    queryset = RegionGrade.objects.none()  # the schema's model; the rows come from reports.risk
    serializer_class = RegionColourOut
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "parent",
                str,
                description="the region whose next level down is listed; default: your own region (the platform "
                "administrator: the provinces)",
            )
        ],
        responses={200: RegionColourOut(many=True), 403: NO_JURISDICTION, 404: NOT_FOUND},
        operation_id="v1_risk_regions_list",
    )
    def get(self, request):
        code = request.query_params.get("parent")
        parent = risk.jurisdiction_region(request.user, code).code if code is not None else None
        _refuse_enterprises(request.user)
        viewer = viewer_of(request.user)
        if code is None and not viewer.is_platform:
            parent = viewer.organization.region_id
        return Response(RegionColourOut(risk.region_colours(parent).values(), many=True).data)


class ColourThresholdListView(GenericAPIView):
    queryset = ColourThreshold.objects.none()  # the schema's model; the rows come from reports.risk
    serializer_class = ColourThresholdOut
    pagination_class = None

    @extend_schema(responses={200: ColourThresholdOut(many=True)}, operation_id="v1_risk_thresholds_list")
    def get(self, request):
        return Response(ColourThresholdOut(risk.colour_thresholds(), many=True).data)

"""Supervisory sampling API (API.md "Supervision work"): a regulator records a batch; the jurisdiction and the
enterprise itself list and read them."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.api.serializers import OrganizationBrief
from core.errors import NotFound
from supervision import sampling
from supervision.models import ModelKind, SamplingBatch


class SamplingIn(serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="the enterprise sampled")
    model_kind = serializers.ChoiceField(choices=ModelKind.choices)
    model = serializers.CharField(max_length=64, help_text="the certified model's code")
    batch_no = serializers.CharField(max_length=64)
    sampled_at = serializers.DateField()
    result = serializers.ChoiceField(choices=SamplingBatch.Result.choices)
    failed_items = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=sampling.FAILED_ITEMS_MAX,
        default=list,
        help_text="required when the result is fail; empty when it passed",
    )
    lab_report_no = serializers.CharField(max_length=64)


class _RegulatorOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SamplingOut(serializers.Serializer):
    id = serializers.IntegerField()
    organization = OrganizationBrief()
    regulator = _RegulatorOut()
    model_kind = serializers.ChoiceField(choices=ModelKind.choices)
    model = serializers.CharField(source="model_code")
    batch_no = serializers.CharField()
    sampled_at = serializers.DateField()
    result = serializers.ChoiceField(choices=SamplingBatch.Result.choices)
    failed_items = serializers.ListField(child=serializers.CharField())
    lab_report_no = serializers.CharField()
    created_at = serializers.DateTimeField()


class SamplingQuery(serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    result = serializers.ChoiceField(choices=SamplingBatch.Result.choices, required=False)
    model_kind = serializers.ChoiceField(choices=ModelKind.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` and `to` are Python keywords: declared here, read as date_from and date_to.
        self.fields["from"] = serializers.DateField(required=False, source="date_from")
        self.fields["to"] = serializers.DateField(required=False, source="date_to")


def query_values(query_class, params) -> dict:
    """The valid filters of a list, or 400 naming the invalid ones (an empty parameter is no filter)."""
    query = query_class(data={key: value for key, value in params.items() if value != ""})
    if not query.is_valid():
        raise query_invalid(query)
    return query.validated_data


SAMPLING_FILTERS = [
    OpenApiParameter("organization", int, description="the enterprise's id"),
    OpenApiParameter("result", str, enum=SamplingBatch.Result.values),
    OpenApiParameter("model_kind", str, enum=ModelKind.values),
    OpenApiParameter("from", str, description="sampled on or after, YYYY-MM-DD"),
    OpenApiParameter("to", str, description="sampled on or before, YYYY-MM-DD"),
]


class SamplingListView(GenericAPIView):
    """POST records a sampled batch (the regulator of the enterprise's region); GET lists the batches the caller
    may see: a regulator's subtree, an enterprise's own."""

    queryset = SamplingBatch.objects.none()  # for the schema; the rows come from the scoped selector
    serializer_class = SamplingOut

    @extend_schema(request=SamplingIn, responses={201: SamplingOut}, operation_id="v1_sampling_create")
    @idempotent
    def post(self, request):
        data = SamplingIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        batch = sampling.sampling_record(
            user=request.user,
            organization_id=values["organization"],
            model_kind=values["model_kind"],
            model_code=values["model"],
            batch_no=values["batch_no"],
            sampled_at=values["sampled_at"],
            result=values["result"],
            failed_items=values["failed_items"],
            lab_report_no=values["lab_report_no"],
        )
        return Response(SamplingOut(batch).data, status=201)

    @extend_schema(
        parameters=SAMPLING_FILTERS, responses={200: SamplingOut(many=True)}, operation_id="v1_sampling_list"
    )
    def get(self, request):
        values = query_values(SamplingQuery, request.query_params)
        batches = sampling.sampling_filtered(sampling.sampling_visible_to(request.user), **values)
        page = self.paginate_queryset(batches)
        return self.get_paginated_response(SamplingOut(page, many=True).data)


class SamplingDetailView(GenericAPIView):
    queryset = SamplingBatch.objects.none()
    serializer_class = SamplingOut

    @extend_schema(responses={200: SamplingOut}, operation_id="v1_sampling_detail")
    def get(self, request, pk):
        batch = sampling.sampling_visible_to(request.user).filter(pk=pk).first()
        if batch is None:
            raise NotFound(_("No such sampling batch, or not one you may see."))
        return Response(SamplingOut(batch).data)

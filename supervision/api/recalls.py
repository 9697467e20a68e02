"""Recall API (API.md "Supervision work"): a regulator or the maker starts a recall, which matches every unit at
once; dealers, repair shops and the maker record remedies; the initiator, the maker and the regulators of the
regions with units follow its progress."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.idempotency import idempotent
from supervision import recalls
from supervision.api.sampling import query_values
from supervision.models import Recall

KIND_CHOICES = [(kind.value, kind.label) for kind in recalls.RECALL_KINDS]


class RecallIn(serializers.Serializer):
    model_kind = serializers.ChoiceField(choices=KIND_CHOICES)
    model = serializers.CharField(max_length=64, help_text="the certified model's code")
    produced_from = serializers.DateField()
    produced_to = serializers.DateField()
    reason = serializers.CharField(max_length=2000)


class RecallCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    affected = serializers.IntegerField(help_text="units matched: produced in the range and still on the road")


class _OrgOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DistrictOut(serializers.Serializer):
    region_code = serializers.CharField(help_text="the district (区县) the units are in")
    name = serializers.CharField()
    affected = serializers.IntegerField()
    remedied = serializers.IntegerField()


class RecallBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    model_kind = serializers.ChoiceField(choices=KIND_CHOICES)
    model = serializers.CharField(source="model_code")
    maker = _OrgOut()
    initiated_by = _OrgOut()
    produced_from = serializers.DateField()
    produced_to = serializers.DateField()
    reason = serializers.CharField()
    affected = serializers.IntegerField()
    remedied = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Recall.Status.choices)
    created_at = serializers.DateTimeField()


class RecallOut(RecallBriefOut):
    districts = DistrictOut(many=True, help_text="progress per district; a regulator sees its own jurisdiction's")


class RecallQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Recall.Status.choices, required=False)


class RemedyIn(serializers.Serializer):
    ref = serializers.CharField(max_length=64, help_text="the frame number or battery serial (or its public code)")


class _RecallProgressOut(serializers.Serializer):
    id = serializers.IntegerField()
    affected = serializers.IntegerField()
    remedied = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Recall.Status.choices)


class RemedyOut(serializers.Serializer):
    ref = serializers.CharField()
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    remedied_at = serializers.DateTimeField()
    remedied_by = _OrgOut()
    recall = _RecallProgressOut()


class RecallListView(GenericAPIView):
    queryset = Recall.objects.none()  # for the schema; the rows come from the selector
    serializer_class = RecallBriefOut

    @extend_schema(request=RecallIn, responses={201: RecallCreatedOut}, operation_id="v1_recalls_create")
    @idempotent
    def post(self, request):
        data = RecallIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        recall = recalls.recall_start(
            user=request.user,
            model_kind=values["model_kind"],
            model_code=values["model"],
            produced_from=values["produced_from"],
            produced_to=values["produced_to"],
            reason=values["reason"],
        )
        return Response({"id": recall.pk, "affected": recall.affected}, status=201)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=Recall.Status.values)],
        responses={200: RecallBriefOut(many=True)},
        operation_id="v1_recalls_list",
    )
    def get(self, request):
        values = query_values(RecallQuery, request.query_params)
        visible = recalls.recalls_visible_to(request.user).order_by("-created_at", "-id")
        if "status" in values:
            visible = visible.filter(status=values["status"])
        page = self.paginate_queryset(visible)
        return self.get_paginated_response(RecallBriefOut(page, many=True).data)


class RecallDetailView(GenericAPIView):
    queryset = Recall.objects.none()
    serializer_class = RecallOut

    @extend_schema(responses={200: RecallOut}, operation_id="v1_recalls_detail")
    def get(self, request, pk):
        recall = recalls.recall_visible(request.user, pk)
        recall.districts = recalls.recall_districts(request.user, recall)
        return Response(RecallOut(recall).data)


class RemedyView(GenericAPIView):
    queryset = Recall.objects.none()
    serializer_class = RemedyOut

    @extend_schema(request=RemedyIn, responses={201: RemedyOut}, operation_id="v1_recalls_remedies_create")
    @idempotent
    def post(self, request, pk):
        recall = recalls.recall_for_remedy(request.user, pk)
        data = RemedyIn(data=request.data)
        data.is_valid(raise_exception=True)
        item = recalls.recall_remedy(user=request.user, recall=recall, ref=data.validated_data["ref"])
        unit = item.vehicle if item.vehicle_id else item.battery
        return Response(
            {
                "ref": unit.frame_no if item.vehicle_id else unit.serial,
                "kind": recall.model_kind,
                "remedied_at": item.remedied_at,
                "remedied_by": {"id": item.remedied_by.pk, "name": item.remedied_by.name},
                "recall": {
                    "id": recall.pk,
                    "affected": recall.affected,
                    "remedied": recall.remedied,
                    "status": recall.status,
                },
            },
            status=201,
        )

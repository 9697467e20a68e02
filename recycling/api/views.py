"""Recycling endpoints: the handover and take-back/disposal records (POST), and the scoped records (GET)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.errors import NotFound
from recycling import selectors, services
from recycling.api.filters import RecyclingRecordFilter
from recycling.models import RecyclingRecord
from vehicles import proof

IsRecorder = organization_kind_in(*services.RECORDER_KINDS)
PK_MAX = 2**63 - 1


class RecyclingIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RecyclingRecord.Kind.choices)
    ref = serializers.CharField(max_length=services.REF_MAX, help_text="frame number (vehicle) or battery code")
    disposal = serializers.ChoiceField(choices=RecyclingRecord.Disposal.choices)
    manifest_no = serializers.CharField(
        max_length=services.MANIFEST_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="hazardous-waste transfer manifest number (危险废物转移联单号); required for hazardous_transfer",
    )
    handed_to = serializers.IntegerField(
        min_value=1, max_value=PK_MAX, required=False, allow_null=True, help_text="handover: the receiving recycler"
    )
    # Proof that a vehicle taken back is at hand (vehicles/proof.py): one of the two, for kind=vehicle.
    vehicle_code = serializers.CharField(
        max_length=proof.CODE_TEXT_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="vehicle: proof that the bike is at hand, the public code on its QR label or the label's URL "
        "(https://<host>/v/<code>); not needed for a bike the recycler took back already",
    )
    plate_no = serializers.CharField(
        max_length=proof.PLATE_TEXT_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="vehicle: proof that the bike is at hand, the plate number of its active registration",
    )


class OrganizationRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region_code = serializers.CharField(source="region_id")


class RecordOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    ref = serializers.CharField()
    code = serializers.SerializerMethodField(help_text="the public code of the vehicle or battery (QR page)")
    disposal = serializers.CharField()
    manifest_no = serializers.CharField()
    status = serializers.CharField(help_text="the item's status once this was recorded")
    organization = OrganizationRef()
    handed_to = OrganizationRef(allow_null=True)
    batteries_released = serializers.ListField(child=serializers.CharField())
    recorded_at = serializers.DateTimeField()

    @extend_schema_field(serializers.CharField())
    def get_code(self, record: RecyclingRecord) -> str:
        item = record.vehicle if record.kind == RecyclingRecord.Kind.VEHICLE else record.battery
        return item.code


class RecyclingListView(generics.GenericAPIView):
    """POST records a handover (repair shop) or a take-back and disposal (recycler); GET lists the records the
    caller may see."""

    filterset_class = RecyclingRecordFilter
    serializer_class = RecordOut

    def get_queryset(self):
        return selectors.records_visible_to(self.request.user)

    @extend_schema(
        request=RecyclingIn,
        responses={
            201: RecordOut,
            400: OpenApiResponse(
                description="Invalid input (`invalid_disposal`, `unknown_recycler`, `invalid_manifest_no` …), or "
                "`unknown_item`: no battery with this code, or no bike with this frame number shown to be at hand "
                "(`vehicle_code` or `plate_no` missing or wrong); the same answer either way."
            ),
            409: OpenApiResponse(
                description="`already_recycled`, `battery_fitted`, `not_held`, `registration_active` (the bike is "
                "still registered: the owner cancels the registration first, or it comes through a trade-in), or "
                "`idempotency_key_reused`."
            ),
        },
    )
    @proof.counts_failed_proofs
    @idempotent
    def post(self, request):
        if not IsRecorder().has_permission(request, self):
            self.permission_denied(request, message=IsRecorder.message)
        data = RecyclingIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        record = services.recycling_record(
            user=request.user,
            kind=values["kind"],
            ref=values["ref"],
            disposal=values["disposal"],
            manifest_no=values["manifest_no"],
            handed_to=values.get("handed_to"),
            vehicle_code=values["vehicle_code"],
            plate_no=values["plate_no"],
        )
        return Response(RecordOut(self.get_queryset().get(pk=record.pk)).data, status=201)

    @extend_schema(responses={200: RecordOut(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RecordOut(page, many=True).data)


class RecyclingDetailView(APIView):
    @extend_schema(responses={200: RecordOut}, operation_id="v1_recycling_detail")
    def get(self, request, pk):
        record = selectors.records_visible_to(request.user).filter(pk=pk).first() if pk <= PK_MAX else None
        if record is None:
            raise NotFound(_("Not found."))
        return Response(RecordOut(record).data)

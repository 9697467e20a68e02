"""Repair endpoints: a shop uploads a repair and its photos; regulators and the shop read them (scoped)."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.models import OrganizationKind
from repairs import selectors, services
from repairs.models import MAX_BATTERIES, MAX_NOTES, Repair, RepairFlag, RepairKind, RepairPhoto
from vehicles import proof

IsRepairShop = organization_kind_in(OrganizationKind.REPAIR_SHOP)


class RepairIn(serializers.Serializer):
    frame_no = serializers.CharField(max_length=32)
    kind = serializers.CharField(max_length=32, allow_blank=True, help_text=" | ".join(RepairKind.values))
    removed_battery_serials = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=MAX_BATTERIES * 4, default=list
    )
    fitted_battery_serials = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=MAX_BATTERIES * 4, default=list
    )
    fitted_motor_power_w = serializers.IntegerField(required=False, allow_null=True, default=None)
    # A JSON number or a decimal string; one decimal place at most.
    measured_max_speed_kmh = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, allow_null=True, default=None
    )
    notes = serializers.CharField(max_length=MAX_NOTES * 2, required=False, allow_blank=True, default="")
    performed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    # Proof that the bike is at hand (vehicles/proof.py): one of the two, unless the shop repaired the bike before.
    vehicle_code = serializers.CharField(
        max_length=proof.CODE_TEXT_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="proof that the bike is at hand: the public code on its QR label, or the label's URL "
        "(https://<host>/v/<code>); not needed for a bike the shop repaired before",
    )
    plate_no = serializers.CharField(
        max_length=proof.PLATE_TEXT_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="proof that the bike is at hand: the plate number of its active registration",
    )


class RepairFilterIn(serializers.Serializer):
    frame_no = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=RepairKind.choices, required=False, allow_blank=True, default="")
    shop = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, default=None)
    performed_after = serializers.DateTimeField(required=False, default=None)
    performed_before = serializers.DateTimeField(required=False, default=None)


class RepairPhotoOut(serializers.Serializer):
    """Documents `photo_out` (the OpenAPI schema); responses are built by the function."""

    id = serializers.IntegerField()
    content_type = serializers.ChoiceField(choices=RepairPhoto.ContentType.choices)
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    url = serializers.URLField()


class RepairShopOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    region_code = serializers.CharField()


class RepairVehicleOut(serializers.Serializer):
    frame_no = serializers.CharField()
    model = serializers.CharField()


class RepairOut(serializers.Serializer):
    """Documents `repair_out` (the OpenAPI schema); responses are built by the function."""

    id = serializers.IntegerField()
    frame_no = serializers.CharField()
    vehicle = RepairVehicleOut()
    kind = serializers.ChoiceField(choices=RepairKind.choices)
    shop = RepairShopOut()
    shop_qualified = serializers.BooleanField(help_text="the shop's qualification was valid on the repair day")
    removed_battery_serials = serializers.ListField(child=serializers.CharField())
    fitted_battery_serials = serializers.ListField(child=serializers.CharField())
    fitted_motor_power_w = serializers.IntegerField(allow_null=True)
    measured_max_speed_kmh = serializers.CharField(allow_null=True, help_text='a decimal string, e.g. "32.5"')
    notes = serializers.CharField()
    performed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    flags = serializers.ListField(child=serializers.ChoiceField(choices=RepairFlag.choices))
    flag_serials = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="the battery codes behind each flag"
    )
    photos = RepairPhotoOut(many=True)


class RepairPhotosOut(serializers.Serializer):
    repair = serializers.IntegerField()
    photos = RepairPhotoOut(many=True)


def photo_out(request, photo: RepairPhoto) -> dict:
    return {
        "id": photo.pk,
        "content_type": photo.content_type,
        "size": photo.size,
        "uploaded_at": photo.uploaded_at,
        "url": request.build_absolute_uri(reverse("api-repair-photo-file", args=[photo.repair_id, photo.pk])),
    }


def repair_out(request, repair: Repair) -> dict:
    return {
        "id": repair.pk,
        "frame_no": repair.vehicle.frame_no,
        "vehicle": {"frame_no": repair.vehicle.frame_no, "model": repair.vehicle.model.code},
        "kind": repair.kind,
        "shop": {"id": repair.shop_id, "name": repair.shop.name, "region_code": repair.shop.region_id},
        "shop_qualified": repair.shop_qualified,
        "removed_battery_serials": repair.removed_battery_serials,
        "fitted_battery_serials": repair.fitted_battery_serials,
        "fitted_motor_power_w": repair.fitted_motor_power_w,
        "measured_max_speed_kmh": services.speed_text(repair.measured_max_speed_kmh),
        "notes": repair.notes,
        "performed_at": repair.performed_at,
        "created_at": repair.created_at,
        "flags": repair.flags,
        "flag_serials": repair.flag_serials,
        "photos": [photo_out(request, p) for p in repair.photos.all()],
    }


class RepairListView(generics.GenericAPIView):
    """POST: a repair shop uploads a repair (维修记录). GET: the repairs the caller may see."""

    queryset = Repair.objects.none()  # for the schema's sake; reads go through repairs.selectors

    @extend_schema(
        request=RepairIn,
        responses={
            201: RepairOut,
            400: OpenApiResponse(
                description="Invalid input (`unknown_kind`, `battery_required`, `out_of_range` …), or "
                "`unknown_vehicle`: no registered bike has this frame number, or it is not shown to be at hand "
                "(`vehicle_code` or `plate_no` missing or wrong); the same answer either way."
            ),
        },
        operation_id="v1_repairs_create",
    )
    @proof.counts_failed_proofs
    @idempotent
    def post(self, request):
        if not IsRepairShop().has_permission(request, self):
            self.permission_denied(request, message=IsRepairShop.message)
        data = RepairIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        repair = services.repair_record(user=request.user, **values)
        return Response(repair_out(request, selectors.repairs_visible_to(request.user).get(pk=repair.pk)), status=201)

    @extend_schema(
        parameters=[
            OpenApiParameter("frame_no", str),
            OpenApiParameter("kind", str, enum=RepairKind.values),
            OpenApiParameter("shop", int, description="repair shop (organization id)"),
            OpenApiParameter("performed_after", str, description="ISO 8601 date or date-time, inclusive"),
            OpenApiParameter("performed_before", str, description="ISO 8601 date or date-time, exclusive"),
        ],
        responses={200: RepairOut(many=True)},
        operation_id="v1_repairs_list",
    )
    def get(self, request):
        filters = RepairFilterIn(data=request.query_params)
        if not filters.is_valid():
            raise query_invalid(filters)
        values = filters.validated_data
        queryset = selectors.repairs_filtered(
            selectors.repairs_visible_to(request.user),
            frame_no=values["frame_no"],
            kind=values["kind"],
            shop_id=values["shop"],
            performed_after=values["performed_after"],
            performed_before=values["performed_before"],
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([repair_out(request, r) for r in page])


class RepairDetailView(APIView):
    @extend_schema(responses={200: RepairOut}, operation_id="v1_repairs_detail")
    def get(self, request, pk):
        return Response(repair_out(request, selectors.repair_visible(request.user, pk)))


class RepairPhotoListView(APIView):
    """POST multipart, one or more files in `photo`: the shop that made the repair adds its photos."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "RepairPhotoUpload", fields={"photo": serializers.ListField(child=serializers.FileField())}
            )
        },
        responses={201: RepairPhotosOut},
        operation_id="v1_repairs_photos_create",
    )
    @idempotent
    def post(self, request, pk):
        repair = selectors.repair_visible(request.user, pk)  # 404 before 403: no existence leaks
        if not IsRepairShop().has_permission(request, self):
            self.permission_denied(request, message=IsRepairShop.message)
        uploads = request.FILES.getlist("photo")
        photos = services.repair_photos_add(user=request.user, repair=repair, uploads=uploads)
        return Response({"repair": repair.pk, "photos": [photo_out(request, p) for p in photos]}, status=201)

    @extend_schema(responses={200: RepairPhotosOut}, operation_id="v1_repairs_photos_list")
    def get(self, request, pk):
        repair = selectors.repair_visible(request.user, pk)
        return Response({"repair": repair.pk, "photos": [photo_out(request, p) for p in repair.photos.all()]})


class _AnyAccept(BaseContentNegotiation):
    """A photo is sent as what it is, whatever the client accepts; errors still come as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class RepairPhotoFileView(APIView):
    content_negotiation_class = _AnyAccept

    @extend_schema(responses={(200, "image/*"): bytes}, operation_id="v1_repairs_photos_file")
    def get(self, request, pk, photo_pk):
        photo = selectors.repair_photo_visible(request.user, pk, photo_pk)
        response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
        response["Content-Disposition"] = f'inline; filename="repair-{photo.repair_id}-{photo.pk}.{photo.extension}"'
        response["Cache-Control"] = "private, max-age=3600"
        return response

"""Production endpoints (API.md "Production"): makers register what they produced, up to 10,000 items a call."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.models import OrganizationKind
from vehicles import factory_fitting, production


# The item shapes document the API; the service checks the items and reports every bad one by its index.
class VehicleItem(serializers.Serializer):
    """One produced vehicle."""

    frame_no = serializers.CharField(help_text="15 digits: enterprise code, type 2, year, serial.")
    motor_no = serializers.CharField(max_length=production.MOTOR_NO_MAX)
    produced_on = serializers.DateField()
    battery_serials = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        max_length=factory_fitting.MAX_FITTED,
        help_text="Batteries fitted at the factory: in your stock (received from their maker), of a model certified "
        "for this vehicle model (标配). Not in stock: 409 not_in_stock; not a certified pair: 422 "
        "battery_incompatible; without a valid CCC: 422 uncertified; each naming the items by index.",
    )


class BatteryItem(serializers.Serializer):
    """One produced battery pack."""

    serial = serializers.CharField(help_text="The unique code on the pack (GB 43854-2024).")
    produced_on = serializers.DateField()


class _Items(serializers.Field):
    """The list as sent. Items are not validated here: the service reports every bad item by its index, and
    a serializer per item would cost more than the database write of 10,000 rows."""

    default_error_messages = {"not_a_list": _("Expected a list of items.")}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(VehicleItem(many=True))
class _VehicleItems(_Items):
    pass


@extend_schema_field(BatteryItem(many=True))
class _BatteryItems(_Items):
    pass


class VehicleBulkIn(serializers.Serializer):
    model = serializers.CharField(max_length=64, help_text="Code of one of your vehicle models.")
    items = _VehicleItems(help_text=f"Up to {production.MAX_ITEMS} vehicles.")


class BatteryBulkIn(serializers.Serializer):
    model = serializers.CharField(max_length=64, help_text="Code of one of your battery models.")
    items = _BatteryItems(help_text=f"Up to {production.MAX_ITEMS} battery packs.")


class BulkCreatedOut(serializers.Serializer):
    created = serializers.IntegerField()


class VehicleBulkView(APIView):
    """Register produced vehicles of one model (manufacturer). All or nothing; bad items are listed by index."""

    permission_classes = [IsAuthenticated, organization_kind_in(OrganizationKind.MANUFACTURER)]

    @extend_schema(request=VehicleBulkIn, responses={201: BulkCreatedOut})
    @idempotent
    def post(self, request):
        data = VehicleBulkIn(data=request.data)
        data.is_valid(raise_exception=True)
        created = production.vehicles_produce(
            actor=request.user, model_code=data.validated_data["model"], items=data.validated_data["items"]
        )
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class BatteryBulkView(APIView):
    """Register produced battery packs of one model (battery maker). All or nothing, as for vehicles."""

    permission_classes = [IsAuthenticated, organization_kind_in(OrganizationKind.BATTERY_MAKER)]

    @extend_schema(request=BatteryBulkIn, responses={201: BulkCreatedOut})
    @idempotent
    def post(self, request):
        data = BatteryBulkIn(data=request.data)
        data.is_valid(raise_exception=True)
        created = production.batteries_produce(
            actor=request.user, model_code=data.validated_data["model"], items=data.validated_data["items"]
        )
        return Response({"created": created}, status=status.HTTP_201_CREATED)

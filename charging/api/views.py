"""Charging and swap operators' endpoints (API.md "More of the chain"): cabinets, and swaps in batches."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from charging import selectors, services, swaps
from charging.models import SwapEvent, SwapStation
from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.models import OrganizationKind

IsChargingOperator = organization_kind_in(OrganizationKind.CHARGING_OPERATOR)
RECENT_ALARMS_LISTED = 20


class StationIn(serializers.Serializer):
    code = serializers.CharField(max_length=200, help_text="your own code of the cabinet, unique among yours")
    name = serializers.CharField(max_length=400)
    region_code = serializers.CharField(
        max_length=12, help_text="GB/T 2260 code of the district or county (or a street below it) it stands in"
    )
    address = serializers.CharField(max_length=600)
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90, default=None)
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180, default=None)


class StationOperatorOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StationOut(serializers.Serializer):
    """Documents `station_out` (the OpenAPI schema); responses are built by the function."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    region_code = serializers.CharField()
    region_name = serializers.CharField()
    address = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    operator = StationOperatorOut()
    created_at = serializers.DateTimeField()


class StationAlarmOut(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    alarm = serializers.ChoiceField(choices=SwapEvent.Alarm.choices)
    battery_serial = serializers.CharField(help_text="the battery put in, or the one taken out when none was")
    temperature_c = serializers.CharField(allow_null=True, help_text='a decimal string, e.g. "68.5"')
    voltage_v = serializers.CharField(allow_null=True, help_text='a decimal string, e.g. "61.20"')


class StationDetailOut(StationOut):
    alarms_30d = serializers.IntegerField(help_text="alarms of the cabinet in the last 30 days")
    recent_alarms = StationAlarmOut(many=True, help_text=f"the newest {RECENT_ALARMS_LISTED} of them")


class StationFilterIn(serializers.Serializer):
    region_code = serializers.RegexField(r"^[0-9]{1,12}$", required=False, allow_blank=True, default="")
    operator = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, default=None)


def _coordinate(value) -> float | None:
    return None if value is None else float(value)


def station_out(station: SwapStation) -> dict:
    return {
        "id": station.pk,
        "code": station.code,
        "name": station.name,
        "region_code": station.region_id,
        "region_name": station.region.name,
        "address": station.address,
        "latitude": _coordinate(station.latitude),
        "longitude": _coordinate(station.longitude),
        "operator": {"id": station.operator_id, "name": station.operator.name},
        "created_at": station.created_at,
    }


def alarm_out(swap: SwapEvent) -> dict:
    return {
        "occurred_at": swap.occurred_at,
        "alarm": swap.alarm,
        "battery_serial": swap.battery_in_serial or swap.battery_out_serial,
        "temperature_c": None if swap.temperature_c is None else str(swap.temperature_c),
        "voltage_v": None if swap.voltage_v is None else str(swap.voltage_v),
    }


class StationListView(generics.GenericAPIView):
    """POST: an operator registers a cabinet. GET: the cabinets the caller may see (an operator its own;
    regulators, fire and housing departments those of their region)."""

    queryset = SwapStation.objects.none()  # for the schema's sake; reads go through charging.selectors

    @extend_schema(
        request=StationIn,
        responses={
            201: StationOut,
            400: OpenApiResponse(description="Invalid input (`invalid`, `unknown_region`), fields named."),
            409: OpenApiResponse(description="`station_code_taken`: you already registered a cabinet with it."),
        },
        operation_id="v1_swap_stations_create",
    )
    @idempotent
    def post(self, request):
        if not IsChargingOperator().has_permission(request, self):
            self.permission_denied(request, message=IsChargingOperator.message)
        data = StationIn(data=request.data)
        data.is_valid(raise_exception=True)
        station = services.swap_station_register(user=request.user, **data.validated_data)
        return Response(station_out(selectors.station_visible(request.user, station.pk)), status=201)

    @extend_schema(
        parameters=[
            OpenApiParameter("region_code", str, description="a region code: its cabinets and those below it"),
            OpenApiParameter("operator", int, description="the operator (organization id)"),
        ],
        responses={200: StationOut(many=True)},
        operation_id="v1_swap_stations_list",
    )
    def get(self, request):
        filters = StationFilterIn(data=request.query_params)
        if not filters.is_valid():
            raise query_invalid(filters)
        values = filters.validated_data
        queryset = selectors.stations_filtered(
            selectors.stations_visible_to(request.user),
            region_code=values["region_code"],
            operator_id=values["operator"],
        ).order_by("region_id", "code", "id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([station_out(s) for s in page])


class StationDetailView(APIView):
    @extend_schema(responses={200: StationDetailOut}, operation_id="v1_swap_stations_detail")
    def get(self, request, pk):
        station = selectors.station_visible(request.user, pk)
        alarms = selectors.station_alarms(request.user, station, since=selectors.recent_since())
        return Response(
            {
                **station_out(station),
                "alarms_30d": alarms.count(),
                "recent_alarms": [alarm_out(s) for s in alarms[:RECENT_ALARMS_LISTED]],
            }
        )


# The item shape documents the API; the service checks every item and reports each refused one by its index.
class SwapItem(serializers.Serializer):
    """One swap in a cabinet."""

    station = serializers.CharField(help_text="the cabinet: your code for it, or its id (a JSON number)")
    battery_in = serializers.CharField(
        allow_null=True, required=False, help_text="serial of the battery the rider put in (null: none)"
    )
    battery_out = serializers.CharField(
        allow_null=True, required=False, help_text="serial of the battery the rider took out (null: none)"
    )
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; without an offset, Beijing time")
    temperature_c = serializers.DecimalField(
        max_digits=5, decimal_places=1, allow_null=True, required=False, help_text="the cabinet's reading, °C"
    )
    voltage_v = serializers.DecimalField(
        max_digits=6, decimal_places=2, allow_null=True, required=False, help_text="the cabinet's reading, V"
    )
    alarm = serializers.ChoiceField(choices=SwapEvent.Alarm.values, required=False, default="none")


@extend_schema_field(SwapItem(many=True))
class _SwapItems(serializers.Field):
    """The list as sent: the service checks each item (a serializer per item would cost more than the write)."""

    default_error_messages = {"not_a_list": gettext_lazy("Expected a list of items.")}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        return data

    def to_representation(self, value):
        return value


class SwapBatchIn(serializers.Serializer):
    items = _SwapItems(help_text=f"Up to {swaps.MAX_ITEMS} swaps.")


class RejectedOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="the item's position in `items`, from 0")
    code = serializers.ChoiceField(
        choices=[value for name, value in vars(swaps.Rejection).items() if name.isupper()],
        help_text="why it was not recorded",
    )


class SwapBatchOut(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="swaps recorded")
    rejected = RejectedOut(many=True)


class SwapEventBatchView(APIView):
    """A charging operator reports swaps of its cabinets, up to 5,000 a request; each item is recorded or
    refused on its own."""

    permission_classes = [IsAuthenticated, IsChargingOperator]

    @extend_schema(
        request=SwapBatchIn,
        responses={
            201: SwapBatchOut,
            400: OpenApiResponse(description="`no_items`, `too_many_items` (more than 5,000), or not a list."),
        },
        operation_id="v1_swap_events_create",
    )
    @idempotent
    def post(self, request):
        data = SwapBatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        recorded = swaps.swap_events_record(user=request.user, items=data.validated_data["items"])
        return Response({"accepted": recorded.accepted, "rejected": recorded.rejected}, status=status.HTTP_201_CREATED)

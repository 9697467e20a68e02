"""Exports for other systems (API.md "More of the chain"): a bike's ledger as an EPCIS 2.0 document, scoped like the
dossier, and a battery's passport by access tier (no login for the public tier)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Chemistry
from core.replica import reading_from_replica
from vehicles import epcis, passport, selectors
from vehicles.api.record import Named


class EpcisView(APIView):
    """The bike's ledger as a GS1 EPCIS 2.0 JSON-LD `EPCISDocument` (docs/api.md "EPCIS export")."""

    @extend_schema(
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="An EPCIS 2.0 `EPCISDocument` (JSON-LD), valid against GS1's EPCIS 2.0 JSON schema: "
                "each ledger step an ObjectEvent, a battery fitted or removed an AggregationEvent (parentID the "
                "bike, childEPCs the battery), bizStep and disposition from the CBV.",
            ),
            404: OpenApiResponse(description="no such bike, or not one the caller may see (the dossier's scope)"),
        }
    )
    def get(self, request, frame_no):
        with reading_from_replica():
            vehicle = selectors.vehicle_visible(request.user, frame_no)
            document = epcis.epcis_document(vehicle, origin=epcis.origin_of(request))
        return Response(document)


class _Identity(serializers.Serializer):
    serial = serializers.CharField(help_text="the unique code GB 43854-2024 requires on every pack")
    code = serializers.CharField(help_text="the public code of its QR label")
    public_url = serializers.URLField()
    produced_on = serializers.DateField()


class _Model(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    chemistry = serializers.ChoiceField(choices=Chemistry.choices)
    nominal_voltage_v = serializers.DecimalField(max_digits=5, decimal_places=1)
    capacity_ah = serializers.DecimalField(max_digits=6, decimal_places=1)
    energy_wh = serializers.DecimalField(max_digits=9, decimal_places=1, help_text="voltage × capacity")


class _Maker(serializers.Serializer):
    name = serializers.CharField()
    region_code = serializers.CharField()


class _Certificate(serializers.Serializer):
    ccc_cert_no = serializers.CharField(allow_blank=True)
    valid_until = serializers.DateField(allow_null=True)
    valid = serializers.BooleanField(help_text="valid today")


class _FittedVehicle(serializers.Serializer):
    code = serializers.CharField()
    public_url = serializers.URLField()
    frame_no = serializers.CharField(required=False, help_text="full tier only")


class _Fitment(serializers.Serializer):
    vehicle = _FittedVehicle()
    fitted_on = serializers.DateField()
    removed_on = serializers.DateField(allow_null=True)
    fitted_at = serializers.DateTimeField(required=False, help_text="full tier only")
    removed_at = serializers.DateTimeField(required=False, allow_null=True, help_text="full tier only")
    fitted_by = Named(required=False, allow_null=True, help_text="full tier only")


class _Station(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    region_code = serializers.CharField()


class _Swap(serializers.Serializer):
    at = serializers.DateTimeField()
    direction = serializers.ChoiceField(choices=["in", "out"], help_text="put into the cabinet, or taken out")
    station = _Station()
    operator = Named()
    temperature_c = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    voltage_v = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    alarm = serializers.CharField()


class _Swaps(serializers.Serializer):
    count = serializers.IntegerField()
    last_on = serializers.DateField(allow_null=True)
    history = _Swap(many=True, required=False, help_text=f"full tier only: the newest {passport.SWAPS_LISTED}")


class _Recycling(serializers.Serializer):
    disposal = serializers.CharField()
    manifest_no = serializers.CharField(allow_blank=True)
    organization = Named()
    handed_to = Named(allow_null=True)
    recorded_at = serializers.DateTimeField()


class _AlertBrief(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class _FittedIn(serializers.Serializer):
    frame_no = serializers.CharField()
    code = serializers.CharField()


class PassportOut(serializers.Serializer):
    tier = serializers.ChoiceField(choices=[passport.PUBLIC, passport.FULL])
    identity = _Identity()
    model = _Model()
    maker = _Maker()
    certificate = _Certificate()
    status = serializers.CharField()
    fitments = _Fitment(many=True, help_text="the bikes it was fitted in, oldest first")
    swaps = _Swaps()
    holder = Named(required=False, allow_null=True, help_text="full tier only")
    region_code = serializers.CharField(required=False, help_text="full tier only")
    fitted_in = _FittedIn(required=False, allow_null=True, help_text="full tier only")
    recycling = _Recycling(many=True, required=False, help_text="full tier only")
    alerts = _AlertBrief(many=True, required=False, help_text="full tier only")


class PassportView(APIView):
    """A battery's passport: the public tier to anyone; the full record to the regulator of its jurisdiction, the
    platform and its maker."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: PassportOut, 404: OpenApiResponse(description="no battery with this serial")},
    )
    def get(self, request, serial):
        with reading_from_replica():
            battery = passport.battery_for_passport(serial)
            tier = passport.passport_tier(request.user, battery)
            body = passport.battery_passport(battery, tier=tier, build_absolute_uri=request.build_absolute_uri)
        return Response(body)

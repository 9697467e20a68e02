"""Catalog endpoints: everyone logged in reads; manufacturers and battery makers file and renew their own.

Thin: parse the input, authorize by organization kind, call one service or selector, serialize.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api import filters
from catalog.api import serializers as s
from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.models import OrganizationKind as K

IsManufacturer = organization_kind_in(K.MANUFACTURER)
IsBatteryMaker = organization_kind_in(K.BATTERY_MAKER)
IsChargerMaker = organization_kind_in(K.MANUFACTURER, K.BATTERY_MAKER)


class _MakersWrite:
    # GET for every logged-in user; writes only for the organization kinds in `write_permission`.

    write_permission = None

    def get_permissions(self):
        if self.request.method in ("POST", "PATCH"):
            return [IsAuthenticated(), self.write_permission()]
        return [IsAuthenticated()]


class StandardListView(generics.ListAPIView):
    """The standards' limits, each with its source (editable by the platform administrator)."""

    serializer_class = s.StandardOut
    filterset_class = filters.StandardFilter

    def get_queryset(self):
        return selectors.standards()


class StandardDetailView(generics.RetrieveAPIView):
    """One standard's limits, with their source."""

    serializer_class = s.StandardOut
    lookup_field = "code"

    def get_queryset(self):
        return selectors.standards()


class VehicleModelListView(_MakersWrite, generics.ListAPIView):
    """Certified vehicle models of every maker; a manufacturer files its own."""

    serializer_class = s.VehicleModelOut
    filterset_class = filters.VehicleModelFilter
    write_permission = IsManufacturer

    def get_queryset(self):
        return selectors.vehicle_models()

    @extend_schema(
        request=s.VehicleModelIn,
        responses={201: s.VehicleModelOut},
        description="Manufacturers only. 400 unknown standard or battery model codes; 409 model_code_taken; "
        "422 exceeds_standard (every offending field), battery_incompatible, standard_withdrawn, uncertified, "
        "certificate_expired.",
    )
    @idempotent
    def post(self, request):
        data = s.VehicleModelIn(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.vehicle_model_create(actor=request.user, **data.validated_data)
        return Response(s.VehicleModelOut(model).data, status=status.HTTP_201_CREATED)


class VehicleModelDetailView(_MakersWrite, generics.RetrieveAPIView):
    """One vehicle model; its manufacturer may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.VehicleModelOut
    lookup_field = "code"
    write_permission = IsManufacturer

    def get_queryset(self):
        return selectors.vehicle_models()

    @extend_schema(request=s.CertificateUpdate, responses={200: s.VehicleModelOut})
    @idempotent
    def patch(self, request, code):
        data = s.CertificateUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.vehicle_model_certificate_update(actor=request.user, code=code, **data.validated_data)
        return Response(s.VehicleModelOut(model).data)


class BatteryModelListView(_MakersWrite, generics.ListAPIView):
    """Certified battery models of every maker; a battery maker files its own."""

    serializer_class = s.BatteryModelOut
    filterset_class = filters.BatteryModelFilter
    write_permission = IsBatteryMaker

    def get_queryset(self):
        return selectors.battery_models()

    @extend_schema(
        request=s.BatteryModelIn,
        responses={201: s.BatteryModelOut},
        description="Battery makers only. CCC compulsory for lithium-ion. 409 model_code_taken; 422 "
        "exceeds_standard (nominal voltage), uncertified, certificate_expired.",
    )
    @idempotent
    def post(self, request):
        data = s.BatteryModelIn(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.battery_model_create(actor=request.user, **data.validated_data)
        return Response(s.BatteryModelOut(model).data, status=status.HTTP_201_CREATED)


class BatteryModelDetailView(_MakersWrite, generics.RetrieveAPIView):
    """One battery model; its maker may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.BatteryModelOut
    lookup_field = "code"
    write_permission = IsBatteryMaker

    def get_queryset(self):
        return selectors.battery_models()

    @extend_schema(request=s.CertificateUpdate, responses={200: s.BatteryModelOut})
    @idempotent
    def patch(self, request, code):
        data = s.CertificateUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.battery_model_certificate_update(actor=request.user, code=code, **data.validated_data)
        return Response(s.BatteryModelOut(model).data)


class ChargerModelListView(_MakersWrite, generics.ListAPIView):
    """Certified charger models; a battery maker or a manufacturer files its own."""

    serializer_class = s.ChargerModelOut
    filterset_class = filters.ChargerModelFilter
    write_permission = IsChargerMaker

    def get_queryset(self):
        return selectors.charger_models()

    @extend_schema(
        request=s.ChargerModelIn,
        responses={201: s.ChargerModelOut},
        description="Battery makers and manufacturers. CCC compulsory. 409 model_code_taken; 422 uncertified, "
        "certificate_expired.",
    )
    @idempotent
    def post(self, request):
        data = s.ChargerModelIn(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.charger_model_create(actor=request.user, **data.validated_data)
        return Response(s.ChargerModelOut(model).data, status=status.HTTP_201_CREATED)


class ChargerModelDetailView(_MakersWrite, generics.RetrieveAPIView):
    """One charger model; its maker may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.ChargerModelOut
    lookup_field = "code"
    write_permission = IsChargerMaker

    def get_queryset(self):
        return selectors.charger_models()

    @extend_schema(request=s.CertificateUpdate, responses={200: s.ChargerModelOut})
    @idempotent
    def patch(self, request, code):
        data = s.CertificateUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.charger_model_certificate_update(actor=request.user, code=code, **data.validated_data)
        return Response(s.ChargerModelOut(model).data)

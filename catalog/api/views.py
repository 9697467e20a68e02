"""Catalog endpoints: everyone logged in reads; manufacturers and battery makers file and renew their own.

Thin: parse the input, authorize by organization kind, call one service or selector, serialize.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
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


class _ModelListView(_MakersWrite, generics.ListAPIView):
    """A kind of certified model: every logged-in user reads them; its makers file theirs (`create`)."""

    input_serializer = None
    create = None  # the service filing a model of this kind

    @idempotent
    def post(self, request):
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = type(self).create(actor=request.user, **data.validated_data)
        return Response(self.serializer_class(model).data, status=status.HTTP_201_CREATED)


class _ModelDetailView(_MakersWrite, generics.RetrieveAPIView):
    """One model of a kind; its maker may renew the CCC certificate (`renew`); other makers get 404."""

    lookup_field = "code"
    renew = None  # the service renewing a certificate of this kind

    @idempotent
    def patch(self, request, code):
        data = s.CertificateUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        model = type(self).renew(actor=request.user, code=code, **data.validated_data)
        return Response(self.serializer_class(model).data)


def _documented(out, model_in, description: str):
    """The schema of a kind's list (POST) and detail (PATCH) views."""
    return (
        extend_schema_view(post=extend_schema(request=model_in, responses={201: out}, description=description)),
        extend_schema_view(patch=extend_schema(request=s.CertificateUpdate, responses={200: out})),
    )


_vehicle_list_doc, _vehicle_detail_doc = _documented(
    s.VehicleModelOut,
    s.VehicleModelIn,
    "Manufacturers only. 400 unknown standard or battery model codes; 409 model_code_taken; 422 exceeds_standard "
    "(every offending field), battery_incompatible, standard_withdrawn, uncertified, certificate_expired.",
)
_battery_list_doc, _battery_detail_doc = _documented(
    s.BatteryModelOut,
    s.BatteryModelIn,
    "Battery makers only. CCC compulsory for lithium-ion. 409 model_code_taken; 422 exceeds_standard (nominal "
    "voltage), uncertified, certificate_expired.",
)
_charger_list_doc, _charger_detail_doc = _documented(
    s.ChargerModelOut,
    s.ChargerModelIn,
    "Battery makers and manufacturers. CCC compulsory. 409 model_code_taken; 422 uncertified, certificate_expired.",
)


@_vehicle_list_doc
class VehicleModelListView(_ModelListView):
    """Certified vehicle models of every maker; a manufacturer files its own."""

    serializer_class, input_serializer = s.VehicleModelOut, s.VehicleModelIn
    filterset_class = filters.VehicleModelFilter
    write_permission = IsManufacturer
    create = staticmethod(services.vehicle_model_create)

    def get_queryset(self):
        return selectors.vehicle_models()


@_vehicle_detail_doc
class VehicleModelDetailView(_ModelDetailView):
    """One vehicle model; its manufacturer may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.VehicleModelOut
    write_permission = IsManufacturer
    renew = staticmethod(services.vehicle_model_certificate_update)

    def get_queryset(self):
        return selectors.vehicle_models()


@_battery_list_doc
class BatteryModelListView(_ModelListView):
    """Certified battery models of every maker; a battery maker files its own."""

    serializer_class, input_serializer = s.BatteryModelOut, s.BatteryModelIn
    filterset_class = filters.BatteryModelFilter
    write_permission = IsBatteryMaker
    create = staticmethod(services.battery_model_create)

    def get_queryset(self):
        return selectors.battery_models()


@_battery_detail_doc
class BatteryModelDetailView(_ModelDetailView):
    """One battery model; its maker may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.BatteryModelOut
    write_permission = IsBatteryMaker
    renew = staticmethod(services.battery_model_certificate_update)

    def get_queryset(self):
        return selectors.battery_models()


@_charger_list_doc
class ChargerModelListView(_ModelListView):
    """Certified charger models; a battery maker or a manufacturer files its own."""

    serializer_class, input_serializer = s.ChargerModelOut, s.ChargerModelIn
    filterset_class = filters.ChargerModelFilter
    write_permission = IsChargerMaker
    create = staticmethod(services.charger_model_create)

    def get_queryset(self):
        return selectors.charger_models()


@_charger_detail_doc
class ChargerModelDetailView(_ModelDetailView):
    """One charger model; its maker may renew the CCC certificate (other makers get 404)."""

    serializer_class = s.ChargerModelOut
    write_permission = IsChargerMaker
    renew = staticmethod(services.charger_model_certificate_update)

    def get_queryset(self):
        return selectors.charger_models()

"""The public lookup of a QR code (API.md "Public"): no login, no personal data, the same data as the page."""

from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client_ip import client_ip
from core.errors import NotFound
from vehicles import public
from vehicles.models import PublicScan

# The projection is already JSON-shaped (and cached as such); these serializers describe it for the schema.


class _ModelOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    standard = serializers.CharField(allow_null=True, help_text="GB17761-2024 or GB17761-2018; null for a battery")


class _MakerOut(serializers.Serializer):
    name = serializers.CharField()


class _CccOut(serializers.Serializer):
    cert_no = serializers.CharField(allow_blank=True)
    valid_until = serializers.DateField(allow_null=True)
    valid = serializers.BooleanField(help_text="valid today")


class _ComplianceOut(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=[public.COMPLIANT, public.ISSUES])
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="uncertified, certificate_expired, old_standard_past_cutoff, scrapped, recycled, "
        "registration_cancelled, battery_incompatible, battery_uncertified, battery_certificate_expired, recalled, "
        "battery_recalled",
    )


class _BatteryOut(serializers.Serializer):
    model = serializers.CharField(help_text="battery model code")
    name = serializers.CharField()
    ccc_valid = serializers.BooleanField()
    compatible = serializers.BooleanField(help_text="in the vehicle model's certified configuration (标配)")


class _RepairOut(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.CharField()
    shop = serializers.CharField()


class _StepOut(serializers.Serializer):
    date = serializers.DateField()
    type = serializers.CharField()


class _RecallOut(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["vehicle", "battery"], help_text="what is recalled: the item, or a battery in it"
    )
    model = serializers.CharField(help_text="the recalled model's code")
    reason = serializers.CharField()
    since = serializers.DateField(help_text="the day the recall started")


class _FittedInOut(serializers.Serializer):
    code = serializers.CharField()
    public_url = serializers.URLField()


class PublicRecordOut(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.ChoiceField(choices=["vehicle", "battery"])
    model = _ModelOut()
    maker = _MakerOut()
    ccc = _CccOut()
    compliance = _ComplianceOut()
    status = serializers.CharField()
    recall = _RecallOut(allow_null=True, help_text="召回中 / recalled: an open recall not yet remedied, else null")
    stolen = serializers.BooleanField(
        help_text="已报失窃 / reported stolen: the police reported this bike stolen and it is not found yet (always "
        "false for a battery); nothing more about the theft is public"
    )
    registered_on = serializers.DateField(allow_null=True)
    batteries = _BatteryOut(many=True)
    repairs = _RepairOut(many=True)
    events = _StepOut(many=True, help_text="lifecycle steps, oldest first")
    vehicle = _FittedInOut(allow_null=True, help_text="for a battery: the bike it is fitted in")
    public_url = serializers.URLField()
    qr_url = serializers.URLField(help_text="SVG")
    qr_png_url = serializers.URLField()


class PublicRecordView(APIView):
    """What a QR code says about a bike or a battery: model, maker, certificate, verdict, status, repairs."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PublicRecordOut}, auth=[])
    def get(self, request, code):
        record = public.public_record(code)
        if record is None:
            public.scan_log_unknown(
                raw_code=code,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                ip=client_ip(request),
                source=PublicScan.Source.API,
            )
            raise NotFound(_("This code is not registered. The product may be counterfeit."))
        response = Response(public.absolute_urls(record, request.build_absolute_uri))
        patch_cache_control(response, public=True, max_age=public.RECORD_CACHE_SECONDS)
        return response

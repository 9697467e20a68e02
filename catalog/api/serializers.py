"""Input and output shapes of the catalog endpoints (API.md "Catalog")."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from catalog.models import BatteryModel, ChargerModel, Chemistry, Standard, VehicleModel
from core.models import Organization

# Model codes appear in URLs (/catalog/vehicle-models/{code}/) and on nameplates: letters, digits, . _ -
MODEL_CODE = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$"
MAX_CODES = 100  # compatible models per vehicle model
MAX_INT = 2**31 - 1  # PostgreSQL integer


def _code_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        MODEL_CODE,
        max_length=64,
        error_messages={"invalid": _("A model code is 1 to 64 letters, digits, dots, dashes or underscores.")},
        **kwargs,
    )


def _quantity(**kwargs) -> serializers.DecimalField:
    """A positive physical quantity with one decimal, as stored (max 9999.9)."""
    return serializers.DecimalField(max_digits=5, decimal_places=1, min_value=Decimal("0.1"), **kwargs)


class _CertificateIn(serializers.Serializer):
    ccc_cert_no = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True, default="")
    ccc_valid_until = serializers.DateField(required=False, allow_null=True, default=None)


class BatteryModelIn(_CertificateIn):
    code = _code_field()
    name = serializers.CharField(max_length=200)
    chemistry = serializers.ChoiceField(choices=Chemistry.choices)
    nominal_voltage_v = _quantity()
    capacity_ah = serializers.DecimalField(max_digits=6, decimal_places=1, min_value=Decimal("0.1"))


class ChargerModelIn(_CertificateIn):
    code = _code_field()
    name = serializers.CharField(max_length=200)
    output_voltage_v = _quantity()


class VehicleModelIn(_CertificateIn):
    code = _code_field()
    name = serializers.CharField(max_length=200)
    standard = serializers.CharField(max_length=32, help_text="Code of a vehicle standard, e.g. GB17761-2024.")
    max_speed_kmh = _quantity()
    mass_kg = _quantity()
    nominal_voltage_v = _quantity()
    motor_power_w = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    compatible_battery_models = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=MAX_CODES, help_text="Battery model codes (标配)."
    )
    compatible_charger_models = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=MAX_CODES, required=False, default=list
    )


class CertificateUpdate(serializers.Serializer):
    """PATCH body: only the CCC certificate of a filed model changes; a new spec is a new model."""

    ccc_cert_no = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    ccc_valid_until = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        others = sorted(str(key) for key in self.initial_data if key not in self.fields)
        if others:
            message = _("Only the CCC certificate can be changed; file a new model for a new spec.")
            raise serializers.ValidationError({key: [message] for key in others})
        if not attrs:
            raise serializers.ValidationError(_("Send ccc_cert_no and/or ccc_valid_until."))
        return attrs


class MakerBrief(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name"]


class _CertifiedOut(serializers.ModelSerializer):
    maker = MakerBrief()
    ccc_valid = serializers.SerializerMethodField(help_text="The CCC certificate is valid today.")

    def get_ccc_valid(self, obj) -> bool:
        return obj.ccc_valid_on(timezone.localdate())


class BatteryModelOut(_CertifiedOut):
    # Numbers, not strings: what integrators sent; one decimal is exact enough in a float.
    nominal_voltage_v = serializers.FloatField()
    capacity_ah = serializers.FloatField()

    class Meta:
        model = BatteryModel
        fields = [
            "id",
            "code",
            "name",
            "maker",
            "chemistry",
            "nominal_voltage_v",
            "capacity_ah",
            "ccc_cert_no",
            "ccc_valid_until",
            "ccc_valid",
            "created_at",
        ]


class ChargerModelOut(_CertifiedOut):
    output_voltage_v = serializers.FloatField()

    class Meta:
        model = ChargerModel
        fields = [
            "id",
            "code",
            "name",
            "maker",
            "output_voltage_v",
            "ccc_cert_no",
            "ccc_valid_until",
            "ccc_valid",
            "created_at",
        ]


class VehicleModelOut(_CertifiedOut):
    standard = serializers.CharField(source="standard.code")
    max_speed_kmh = serializers.FloatField()
    mass_kg = serializers.FloatField()
    nominal_voltage_v = serializers.FloatField()
    compatible_battery_models = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    compatible_charger_models = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    sellable = serializers.SerializerMethodField(
        help_text="CCC valid today and the standard edition not past its sale cut-off."
    )

    class Meta:
        model = VehicleModel
        fields = [
            "id",
            "code",
            "name",
            "maker",
            "standard",
            "ccc_cert_no",
            "ccc_valid_until",
            "ccc_valid",
            "sellable",
            "max_speed_kmh",
            "mass_kg",
            "nominal_voltage_v",
            "motor_power_w",
            "compatible_battery_models",
            "compatible_charger_models",
            "created_at",
        ]

    def get_sellable(self, obj) -> bool:
        return obj.sellable_on(timezone.localdate())


class StandardOut(serializers.ModelSerializer):
    max_design_speed_kmh = serializers.FloatField(allow_null=True)
    max_nominal_voltage_v = serializers.FloatField(allow_null=True)
    max_output_voltage_v = serializers.FloatField(allow_null=True)
    max_mass_kg = serializers.FloatField(allow_null=True)
    max_mass_lead_acid_kg = serializers.FloatField(allow_null=True)

    class Meta:
        model = Standard
        fields = [
            "code",
            "title",
            "kind",
            "in_force_from",
            "sale_cutoff",
            "max_design_speed_kmh",
            "max_nominal_voltage_v",
            "max_output_voltage_v",
            "max_motor_power_w",
            "max_mass_kg",
            "max_mass_lead_acid_kg",
            "source",
            "updated_at",
        ]

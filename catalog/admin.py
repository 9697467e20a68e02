"""Admin of the catalog: the standards' limits are edited here; product models are filed by makers via the API.

Product models are filed through catalog/services.py, which checks them against the standards, so the admin
neither adds them nor changes their spec: it may correct a name or a certificate.
"""

from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from catalog.models import BatteryModel, ChargerModel, Standard, VehicleModel


@admin.register(Standard)
class StandardAdmin(admin.ModelAdmin):
    list_display = [
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
        "source_excerpt",
        "updated_at",
    ]
    list_filter = ["kind"]
    search_fields = ["code", "title", "source"]
    readonly_fields = ["updated_at"]
    fieldsets = (
        (None, {"fields": ("code", "title", "kind", "in_force_from", "sale_cutoff")}),
        (
            _("Limits"),
            {
                "fields": (
                    "max_design_speed_kmh",
                    "max_nominal_voltage_v",
                    "max_output_voltage_v",
                    "max_motor_power_w",
                    "max_mass_kg",
                    "max_mass_lead_acid_kg",
                ),
                "description": _("Empty means this standard sets no such limit. Changes apply to the next filing."),
            },
        ),
        (_("Source"), {"fields": ("source", "updated_at")}),
    )

    @admin.display(description=_("source"))
    def source_excerpt(self, obj):
        return Truncator(obj.source).chars(80)

    def has_delete_permission(self, request, obj=None):
        # Filing checks read these rows; a missing one would leave products unchecked.
        return False


class _CertifiedModelAdmin(admin.ModelAdmin):
    search_fields = ["code", "name", "maker__name", "ccc_cert_no"]
    list_filter = ["maker__kind"]
    date_hierarchy = "created_at"
    list_select_related = ["maker"]
    editable = ("name", "ccc_cert_no", "ccc_valid_until")

    def get_readonly_fields(self, request, obj=None):
        fields = [*self.model._meta.concrete_fields, *self.model._meta.many_to_many]
        return [f.name for f in fields if f.name not in self.editable]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Vehicles and batteries point at their model; their records must keep it.
        return False


@admin.register(BatteryModel)
class BatteryModelAdmin(_CertifiedModelAdmin):
    list_display = [
        "code",
        "name",
        "maker",
        "chemistry",
        "nominal_voltage_v",
        "capacity_ah",
        "ccc_cert_no",
        "ccc_valid_until",
    ]
    list_filter = ["chemistry"]


@admin.register(ChargerModel)
class ChargerModelAdmin(_CertifiedModelAdmin):
    list_display = ["code", "name", "maker", "output_voltage_v", "ccc_cert_no", "ccc_valid_until"]


@admin.register(VehicleModel)
class VehicleModelAdmin(_CertifiedModelAdmin):
    list_display = [
        "code",
        "name",
        "maker",
        "standard",
        "max_speed_kmh",
        "nominal_voltage_v",
        "motor_power_w",
        "mass_kg",
        "ccc_cert_no",
        "ccc_valid_until",
    ]
    list_filter = ["standard"]
    list_select_related = ["maker", "standard"]

"""Query filters of the catalog lists."""

import django_filters
from django import forms

from catalog.models import BatteryModel, ChargerModel, Chemistry, Standard, VehicleModel


class IdFilter(django_filters.Filter):
    """An id: a whole number within PostgreSQL's bigint, so an odd value is a 400, not a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StandardFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Standard.Kind.choices)

    class Meta:
        model = Standard
        fields = ["kind"]


class VehicleModelFilter(django_filters.FilterSet):
    maker = IdFilter(field_name="maker_id", help_text="id of the manufacturer")
    standard = django_filters.CharFilter(field_name="standard__code")
    code = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="contains")
    battery_model = django_filters.CharFilter(
        field_name="compatible_battery_models__code", help_text="vehicle models certified with this battery model"
    )

    class Meta:
        model = VehicleModel
        fields = ["maker", "standard", "code", "name", "battery_model"]


class BatteryModelFilter(django_filters.FilterSet):
    maker = IdFilter(field_name="maker_id", help_text="id of the battery maker")
    chemistry = django_filters.ChoiceFilter(choices=Chemistry.choices)
    code = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="contains")
    vehicle_model = django_filters.CharFilter(
        field_name="vehicle_models__code", help_text="battery models certified for this vehicle model (标配)"
    )

    class Meta:
        model = BatteryModel
        fields = ["maker", "chemistry", "code", "name", "vehicle_model"]


class ChargerModelFilter(django_filters.FilterSet):
    maker = IdFilter(field_name="maker_id")
    code = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="contains")

    class Meta:
        model = ChargerModel
        fields = ["maker", "code", "name"]

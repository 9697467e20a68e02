"""Query filters of the provisioning lists."""

import django_filters

from core.models import Organization, OrganizationKind


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices)
    status = django_filters.ChoiceFilter(choices=Organization.Status.choices)
    region_code = django_filters.CharFilter(field_name="region__code")
    region_prefix = django_filters.CharFilter(field_name="region__code", lookup_expr="startswith")
    name = django_filters.CharFilter(lookup_expr="contains")

    class Meta:
        model = Organization
        fields = ["kind", "status", "region_code", "region_prefix", "name"]

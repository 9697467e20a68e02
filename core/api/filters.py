"""Query filters of the provisioning lists."""

import django_filters

from core.models import AuditEntry, Organization, OrganizationKind


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices)
    status = django_filters.ChoiceFilter(choices=Organization.Status.choices)
    region_code = django_filters.CharFilter(field_name="region__code")
    region_prefix = django_filters.CharFilter(field_name="region__code", lookup_expr="startswith")
    name = django_filters.CharFilter(lookup_expr="contains")

    class Meta:
        model = Organization
        fields = ["kind", "status", "region_code", "region_prefix", "name"]


class AuditEntryFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    target_type = django_filters.CharFilter()
    target_id = django_filters.CharFilter()
    at_after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    at_before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["action", "target_type", "target_id", "at_after", "at_before"]

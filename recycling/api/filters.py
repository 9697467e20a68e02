"""Query filters of the recycling records list."""

import django_filters

from recycling.models import RecyclingRecord


class RecyclingRecordFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=RecyclingRecord.Kind.choices)
    disposal = django_filters.ChoiceFilter(choices=RecyclingRecord.Disposal.choices)
    ref = django_filters.CharFilter(method="filter_ref")
    manifest_no = django_filters.CharFilter(method="filter_manifest_no")
    organization = django_filters.NumberFilter(field_name="organization_id", min_value=1, max_value=2**63 - 1)
    handed_to = django_filters.NumberFilter(field_name="handed_to_id", min_value=1, max_value=2**63 - 1)
    recorded_after = django_filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="gte")
    recorded_before = django_filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="lt")

    class Meta:
        model = RecyclingRecord
        fields = ["kind", "disposal", "ref", "manifest_no", "organization", "handed_to"]

    def filter_ref(self, queryset, name, value):
        return queryset.filter(ref=value.strip().upper())

    def filter_manifest_no(self, queryset, name, value):
        return queryset.filter(manifest_no=value.strip().upper())

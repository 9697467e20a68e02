"""Django admin of the charging app: the cabinets (editable by the platform), the swaps (read-only: they are the
operators' reports, and each is on the batteries' ledgers)."""

from django.contrib import admin

from charging.models import SwapEvent, SwapStation


@admin.register(SwapStation)
class SwapStationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "operator", "region", "address", "created_at"]
    list_select_related = ["operator", "region"]
    search_fields = ["code", "name", "address", "operator__name"]
    raw_id_fields = ["operator", "region"]


@admin.register(SwapEvent)
class SwapEventAdmin(admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "station",
        "operator",
        "region_code",
        "battery_in_serial",
        "battery_out_serial",
        "temperature_c",
        "voltage_v",
        "alarm",
        "received_at",
    ]
    list_filter = ["alarm"]
    list_select_related = ["station", "operator"]
    search_fields = ["=battery_in_serial", "=battery_out_serial", "=region_code"]
    raw_id_fields = ["station", "operator", "battery_in", "battery_out"]
    show_full_result_count = False  # millions of swaps: no second count on every page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

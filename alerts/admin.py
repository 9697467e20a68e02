from django.contrib import admin

from alerts.models import AlertRequest


@admin.register(AlertRequest)
class AlertRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "rule", "region_code", "organization", "frame_no", "battery_serial", "processed_at"]
    list_filter = ["rule"]
    search_fields = ["frame_no", "battery_serial", "region_code"]
    raw_id_fields = ["organization"]

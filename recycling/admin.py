"""Recycling records in the admin: read-only; they are written only with their ledger events (services.py)."""

from django.contrib import admin

from recycling.models import RecyclingRecord


@admin.register(RecyclingRecord)
class RecyclingRecordAdmin(admin.ModelAdmin):
    list_display = ["recorded_at", "kind", "ref", "disposal", "manifest_no", "organization", "handed_to", "status"]
    list_filter = ["kind", "disposal"]
    search_fields = ["ref", "manifest_no"]
    raw_id_fields = ["vehicle", "battery", "organization", "handed_to", "created_by"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

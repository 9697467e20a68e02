from django.contrib import admin

from vehicles.models import Battery, Fitment, LifecycleEvent, OutboxMessage, Owner, PublicScan, Registration, Vehicle


class ReadOnlyAdmin(admin.ModelAdmin):
    """Chain records change only through the services that also write the ledger; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vehicle)
class VehicleAdmin(ReadOnlyAdmin):
    list_display = ["frame_no", "code", "model", "status", "holder", "dealer", "region", "registered_at"]
    list_filter = ["status"]
    search_fields = ["frame_no", "code", "motor_no"]
    raw_id_fields = ["model", "manufacturer", "holder", "dealer", "region"]


@admin.register(Battery)
class BatteryAdmin(ReadOnlyAdmin):
    list_display = ["serial", "code", "model", "status", "holder", "vehicle", "region"]
    list_filter = ["status"]
    search_fields = ["serial", "code"]
    raw_id_fields = ["model", "maker", "holder", "vehicle", "region"]


@admin.register(Owner)
class OwnerAdmin(ReadOnlyAdmin):
    """Owners show masked; unmasking goes through the audited record pages and API."""

    list_display = ["__str__", "region", "created_at"]
    fields = ["region", "created_at"]
    readonly_fields = fields


@admin.register(Fitment)
class FitmentAdmin(ReadOnlyAdmin):
    list_display = ["battery", "vehicle", "fitted_at", "removed_at", "fitted_by"]
    raw_id_fields = ["battery", "vehicle", "fitted_by"]


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ["plate_no", "vehicle", "status", "region", "registered_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["plate_no", "vehicle__frame_no"]
    raw_id_fields = ["vehicle", "owner", "dealer", "region"]


@admin.register(LifecycleEvent)
class LifecycleEventAdmin(ReadOnlyAdmin):
    list_display = ["recorded_at", "type", "vehicle", "battery", "seq", "organization", "region_code"]
    list_filter = ["type"]
    search_fields = ["vehicle__frame_no", "battery__serial"]
    raw_id_fields = ["vehicle", "battery", "organization"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "topic", "event_id", "created_at", "published_at"]


@admin.register(PublicScan)
class PublicScanAdmin(ReadOnlyAdmin):
    """Scans of codes the platform does not know: possible counterfeit labels."""

    list_display = ["scanned_at", "code", "reason", "source", "ip_address", "user_agent"]
    list_filter = ["reason", "source"]
    date_hierarchy = "scanned_at"

from django.contrib import admin

from repairs.models import Repair, RepairPhoto


class RepairPhotoInline(admin.TabularInline):
    model = RepairPhoto
    fields = ["file", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Repair)
class RepairAdmin(admin.ModelAdmin):
    """Repairs change only through the service that also writes the ledger; the admin shows them."""

    list_display = ["performed_at", "vehicle", "kind", "shop", "shop_qualified", "flags"]
    list_filter = ["kind", "shop_qualified"]
    search_fields = ["vehicle__frame_no"]
    raw_id_fields = ["shop", "vehicle", "created_by"]
    inlines = [RepairPhotoInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

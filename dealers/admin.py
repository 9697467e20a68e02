from django.contrib import admin

from dealers.models import Receipt, ReceiptItem, Sale


class ReceiptItemInline(admin.TabularInline):
    model = ReceiptItem
    fields = ["kind", "ref", "verdict", "reasons"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    list_display = ["received_at", "dealer", "supplier", "created_by"]
    raw_id_fields = ["dealer", "supplier", "created_by"]
    inlines = [ReceiptItemInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = ["sold_at", "vehicle", "dealer", "battery_serials"]
    raw_id_fields = ["dealer", "vehicle", "registration", "created_by"]
    search_fields = ["vehicle__frame_no"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

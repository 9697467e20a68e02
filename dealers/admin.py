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


# Trade-in (以旧换新): the subsidy of each locality is data its administrator keeps; trade-ins are read only.
from dealers.models import SubsidyPolicy, TradeIn  # noqa: E402  (kept with its admin, in this block)


@admin.register(SubsidyPolicy)
class SubsidyPolicyAdmin(admin.ModelAdmin):
    list_display = ["region_code", "old_kind", "amount_yuan", "valid_from", "valid_to", "note"]
    list_filter = ["old_kind"]
    search_fields = ["region_code", "note"]


@admin.register(TradeIn)
class TradeInAdmin(admin.ModelAdmin):
    list_display = ["traded_at", "old_vehicle", "old_kind", "subsidy_yuan", "dealer", "region_code", "handed_over_at"]
    list_filter = ["old_kind"]
    raw_id_fields = ["dealer", "old_vehicle", "old_registration", "sale", "created_by"]
    search_fields = ["old_vehicle__frame_no", "region_code"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

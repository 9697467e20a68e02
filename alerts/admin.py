from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from alerts.models import (
    Alert,
    AlertAttachment,
    AlertDelivery,
    AlertRequest,
    AlertTransition,
    Complaint,
    ComplaintPhoto,
    DepartmentSubscription,
    WebhookDelivery,
)


@admin.register(AlertRequest)
class AlertRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "rule", "region_code", "organization", "frame_no", "battery_serial", "processed_at"]
    list_filter = ["rule"]
    search_fields = ["frame_no", "battery_serial", "region_code"]
    raw_id_fields = ["organization"]


# ── Consumer complaints ──────────────────────────────────────────────────────────────────────────────────────


class ComplaintPhotoInline(admin.TabularInline):
    model = ComplaintPhoto
    fields = ["file", "content_type", "size", "uploaded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    """Complaints are filed by consumers and handled through their alert; the admin shows them, phone masked."""

    list_display = ["ticket", "created_at", "category", "subject", "code", "region", "contact_phone_masked"]
    list_filter = ["category", "subject"]
    list_select_related = ["region"]
    search_fields = ["ticket", "code"]
    fields = [
        "ticket",
        "created_at",
        "category",
        "subject",
        "code",
        "vehicle",
        "battery",
        "region",
        "description",
        "contact_phone_masked",
    ]
    readonly_fields = fields
    inlines = [ComplaintPhotoInline]

    @admin.display(description=_("contact phone"))
    def contact_phone_masked(self, complaint):
        return complaint.contact_phone_masked

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ComplaintPhoto)
class ComplaintPhotoAdmin(admin.ModelAdmin):
    list_display = ["complaint", "content_type", "size", "uploaded_at"]
    raw_id_fields = ["complaint"]
    readonly_fields = ["complaint", "file", "content_type", "size", "uploaded_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts change through the closed loop, which records every step."""

    list_display = ["id", "rule", "severity", "status", "region_code", "regulator", "organization", "created_at"]
    list_filter = ["rule", "severity", "status"]
    search_fields = ["frame_no", "battery_serial", "dedup_key"]
    raw_id_fields = ["regulator", "organization", "vehicle", "battery"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(AlertTransition)
class AlertTransitionAdmin(admin.ModelAdmin):
    list_display = ["alert", "action", "from_status", "to_status", "actor", "at"]
    list_filter = ["action"]
    raw_id_fields = ["alert", "actor", "actor_organization"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["alert", "organization", "reason", "delivered_at", "acknowledged_at"]
    list_filter = ["reason"]
    raw_id_fields = ["alert", "organization"]


@admin.register(DepartmentSubscription)
class DepartmentSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["organization", "categories", "webhook_url", "active"]
    raw_id_fields = ["organization"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["alert", "subscription", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status"]
    raw_id_fields = ["alert", "subscription"]


@admin.register(AlertAttachment)
class AlertAttachmentAdmin(admin.ModelAdmin):
    list_display = ["transition", "file", "content_type", "uploaded_at"]
    raw_id_fields = ["transition"]

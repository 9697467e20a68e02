from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from core.models import ApiToken, AuditEntry, IdempotencyKey, Organization, Region, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "uscc",
        "region",
        "qualification_no",
        "qualification_valid_until",
        "status",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["name", "uscc", "region__code"]
    raw_id_fields = ["region"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "organization", "role", "is_active", "is_superuser"]
    list_filter = ["role", "is_active", "is_superuser", "organization__kind"]
    raw_id_fields = ["organization"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Organization"), {"fields": ("organization", "role")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Organization"), {"fields": ("organization", "role")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "last_used_at"]
    readonly_fields = ["user", "key_hash", "created_at", "last_used_at"]
    raw_id_fields = ["user"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is evidence."""

    list_display = ["at", "actor", "actor_organization", "action", "target_type", "target_id", "reason"]
    list_filter = ["action"]
    search_fields = ["target_id", "actor__username", "reason"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["principal", "key", "status_code", "created_at"]
    search_fields = ["key", "principal"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

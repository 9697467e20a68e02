"""Django admin for the platform administrator: regions, organizations, users (with lifting a lock-out), API
tokens, and the read-only audit log."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from core import services
from core.client_ip import client_ip
from core.login import AdminLoginForm
from core.models import ApiToken, AuditEntry, IdempotencyKey, Organization, Region, User
from core.tokens import tokens_revoke_all

# The admin's login counts wrong passwords and honours the lock-out like every other way in (core.login).
admin.site.login_form = AdminLoginForm


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data and not obj.is_active:
            tokens_revoke_all(actor=request.user, organization=obj, reason="organization suspended")


class LockedFilter(admin.SimpleListFilter):
    title = _("locked")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", _("locked")), ("no", _("not locked"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(locked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(locked_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "organization", "role", "is_active", "is_superuser", "locked"]
    list_filter = ["role", "is_active", "is_superuser", LockedFilter, "organization__kind"]
    raw_id_fields = ["organization"]
    readonly_fields = ["failed_logins", "locked_at"]
    actions = ["unlock_accounts", "deactivate_accounts"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Organization"), {"fields": ("organization", "role")}),
        (_("Login lock-out"), {"fields": ("failed_logins", "locked_at")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Organization"), {"fields": ("organization", "role")}),
    )

    @admin.display(boolean=True, description=_("locked"), ordering="locked_at")
    def locked(self, user):
        return user.is_locked

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock_accounts(self, request, queryset):
        ip_address = client_ip(request)
        for user in queryset.filter(locked_at__isnull=False):
            services.user_unlock(actor=request.user, user_id=user.pk, ip_address=ip_address)
        self.message_user(request, _("The selected accounts are unlocked."), messages.SUCCESS)

    @admin.action(description=_("Deactivate the selected accounts and end their API tokens"))
    def deactivate_accounts(self, request, queryset):
        for user in queryset.filter(is_active=True):
            user.is_active = False
            user.save(update_fields=["is_active"])
            tokens_revoke_all(actor=request.user, user=user, reason="user deactivated")
        self.message_user(request, _("The selected accounts are deactivated."), messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            tokens_revoke_all(actor=request.user, user=obj, reason="user deactivated")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Only revocation (delete) is meant here: tokens are issued at login, and their secret is never stored."""

    list_display = ["user", "created_at", "expires_at", "last_used_at"]
    readonly_fields = ["user", "key_hash", "password_stamp", "created_at", "last_used_at"]
    raw_id_fields = ["user"]
    search_fields = ["user__username"]

    def has_add_permission(self, request):
        return False


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

"""Who may call what, by organization kind and role."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from core.models import User


class IsPlatformAdmin(BasePermission):
    message = _("Only the platform administrator may do this.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)


class IsOrganizationAdmin(BasePermission):
    """The platform administrator, or an administrator of an organization."""

    message = _("Only an administrator may do this.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.role == User.Role.ADMIN))


def organization_kind_in(*kinds: str) -> type[BasePermission]:
    """Permission class: the caller's organization is one of `kinds`."""

    class OrganizationKindIn(BasePermission):
        message = _("Your organization may not do this.")

        def has_permission(self, request, view):
            org = getattr(request.user, "organization", None)
            return bool(request.user.is_authenticated and org is not None and org.kind in kinds)

    return OrganizationKindIn

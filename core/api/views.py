"""Auth, provisioning and region endpoints. Thin: parse, authorize, call a service or selector, serialize."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core import selectors, services
from core.api import serializers as s
from core.api.filters import AuditEntryFilter, OrganizationFilter
from core.api.idempotency import idempotent
from core.api.permissions import IsOrganizationAdmin, IsPlatformAdmin
from core.audit import audit_record
from core.client_ip import client_ip
from core.tokens import token_issue


class TokenView(APIView):
    """Exchange a username and password for a bearer token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a failed login is 401, which needs a challenge header

    @extend_schema(request=s.TokenRequest, responses={200: s.TokenResponse}, auth=[])
    @idempotent
    def post(self, request):
        data = s.TokenRequest(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Wrong username or password."), code="invalid_credentials")
        org = user.organization
        if org is not None and not org.is_active:
            raise exceptions.AuthenticationFailed(_("Your organization is suspended."), code="organization_suspended")
        token = token_issue(user=user)
        audit_record(actor=user, action="auth.token_issued", target=user, ip_address=client_ip(request))
        body = {
            "token": token,
            "role": "platform_admin" if user.is_superuser and org is None else user.role,
            "organization": s.OrganizationBrief(org).data if org else None,
        }
        return Response(body)


class MeView(APIView):
    @extend_schema(responses={200: s.TokenResponse})
    def get(self, request):
        user = request.user
        org = user.organization
        return Response(
            {
                "username": user.username,
                "role": "platform_admin" if user.is_superuser and org is None else user.role,
                "organization": s.OrganizationBrief(org).data if org else None,
            }
        )


class OrganizationListView(generics.ListAPIView):
    serializer_class = s.OrganizationOut
    filterset_class = OrganizationFilter

    def get_queryset(self):
        return selectors.organizations_visible_to(self.request.user)

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsPlatformAdmin()]
        return super().get_permissions()

    @extend_schema(request=s.OrganizationIn, responses={201: s.OrganizationOut})
    @idempotent
    def post(self, request):
        data = s.OrganizationIn(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_create(actor=request.user, **data.validated_data)
        return Response(s.OrganizationOut(org).data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(generics.RetrieveAPIView):
    serializer_class = s.OrganizationOut

    def get_queryset(self):
        return selectors.organizations_visible_to(self.request.user)

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsPlatformAdmin()]
        return super().get_permissions()

    @extend_schema(request=s.OrganizationUpdate, responses={200: s.OrganizationOut})
    @idempotent
    def patch(self, request, pk):
        org = self.get_object()
        data = s.OrganizationUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_update(actor=request.user, organization=org, **data.validated_data)
        return Response(s.OrganizationOut(org).data)


class UserListView(generics.ListAPIView):
    serializer_class = s.UserOut
    filterset_fields = ["organization", "role"]

    def get_queryset(self):
        return selectors.users_visible_to(self.request.user)

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsOrganizationAdmin()]
        return super().get_permissions()

    @extend_schema(request=s.UserIn, responses={201: s.UserOut})
    @idempotent
    def post(self, request):
        data = s.UserIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        user = services.user_create(actor=request.user, organization_id=values.pop("organization"), **values)
        return Response(s.UserOut(user).data, status=status.HTTP_201_CREATED)


class UserDetailView(generics.RetrieveAPIView):
    serializer_class = s.UserOut

    def get_queryset(self):
        return selectors.users_visible_to(self.request.user)


@extend_schema(
    parameters=[
        OpenApiParameter("parent", str, description="children of this region code"),
        OpenApiParameter("level", int, description="1 province, 2 prefecture, 3 county"),
        OpenApiParameter("name", str, description="name contains"),
    ]
)
class RegionListView(generics.ListAPIView):
    """GB/T 2260 regions: public reference data."""

    serializer_class = s.RegionOut
    permission_classes = [AllowAny]
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        level = params.get("level")
        if level is not None and not level.isdigit():
            raise exceptions.ValidationError({"level": [_("A level is 1, 2, 3 or 4.")]})
        return selectors.regions(
            parent=params.get("parent"), level=int(level) if level else None, name=params.get("name")
        )


class RegionDetailView(generics.RetrieveAPIView):
    serializer_class = s.RegionOut
    permission_classes = [AllowAny]
    lookup_field = "code"

    def get_queryset(self):
        return selectors.regions()


class AuditLogView(generics.ListAPIView):
    """Who did what, when, to which record, and why: newest first."""

    serializer_class = s.AuditEntryOut
    filterset_class = AuditEntryFilter

    def get_queryset(self):
        return selectors.audit_entries_visible_to(self.request.user)

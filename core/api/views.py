"""Auth (login, logout, tokens, unlock), provisioning and region endpoints. Thin: parse, authorize, call a service
or selector, serialize."""

from django.contrib.auth import logout
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors, services
from core.api import serializers as s
from core.api.authentication import BearerTokenAuthentication
from core.api.errors import envelope
from core.api.filters import AuditEntryFilter, OrganizationFilter
from core.api.idempotency import idempotent
from core.api.permissions import IsOrganizationAdmin, IsPlatformAdmin
from core.audit import audit_record
from core.client_ip import client_ip
from core.errors import NotFound
from core.login import LoginRefused, login_authenticate
from core.throttling import LoginRateThrottle
from core.tokens import token_issue, token_revoke, tokens_of

_CHALLENGE = 'Bearer realm="api"'


class TokenView(APIView):
    """Exchange a username and password for a bearer token. LOGIN_FAILURE_LIMIT wrong passwords in a row lock the
    account until an administrator unlocks it (core.login); the answers never tell whether a username exists."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    def get_authenticate_header(self, request):
        return _CHALLENGE  # a failed login is 401, which needs a challenge header

    @extend_schema(
        request=s.TokenRequest,
        responses={
            200: s.TokenResponse,
            400: OpenApiResponse(description="invalid, malformed_request"),
            401: OpenApiResponse(
                description="invalid_credentials (also for an unknown username), organization_suspended"
            ),
            403: OpenApiResponse(
                description="account_locked: too many wrong passwords in a row; an administrator "
                "unlocks it (POST /api/v1/users/{id}/unlock/). Also answered for an unknown username."
            ),
            429: OpenApiResponse(description="rate_limited: too many attempts from this address (Retry-After)"),
        },
        auth=[],
    )
    @idempotent(secret_answer=True)
    def post(self, request):
        data = s.TokenRequest(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = login_authenticate(request=request, **data.validated_data)
        except LoginRefused as refusal:
            # Answered, not raised: raising would roll back the count of wrong passwords this attempt just wrote.
            headers = {"WWW-Authenticate": _CHALLENGE} if refusal.status == 401 else {}
            return Response(envelope(refusal.code, refusal.message), status=refusal.status, headers=headers)
        org = user.organization
        token = token_issue(user=user)
        audit_record(actor=user, action="auth.token_issued", target=user, ip_address=client_ip(request))
        body = {
            "token": token,
            "role": "platform_admin" if user.is_superuser and org is None else user.role,
            "organization": s.OrganizationBrief(org).data if org else None,
        }
        return Response(body)


class LogoutView(APIView):
    """Revoke the token this request is sent with (or, from a page, end the session)."""

    @extend_schema(request=None, responses={204: None, 401: OpenApiResponse(description="not_authenticated")})
    @idempotent
    def post(self, request):
        if isinstance(request.successful_authenticator, BearerTokenAuthentication):
            token_revoke(user=request.user, raw=request.auth, ip_address=client_ip(request))
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenListView(generics.ListAPIView):
    """The caller's own live tokens (never the secrets); `current` marks the one this request uses."""

    serializer_class = s.ApiTokenOut
    filter_backends = []

    def get_queryset(self):
        return tokens_of(self.request.user)

    def get_serializer_context(self):
        raw = self.request.auth if isinstance(self.request.auth, str) else None
        return {**super().get_serializer_context(), "raw_token": raw}


class ApiTokenDetailView(APIView):
    """Revoke one of one's own tokens by id (a lost phone, a retired integration). Another person's token is 404."""

    @extend_schema(
        responses={
            204: None,
            401: OpenApiResponse(description="not_authenticated"),
            404: OpenApiResponse(description="not_found: no token of yours has this id"),
        },
    )
    def delete(self, request, pk):
        if not token_revoke(user=request.user, token_id=pk, ip_address=client_ip(request)):
            raise NotFound(_("No token of yours has this id."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: s.MeOut})
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


class UserUnlockView(APIView):
    """Lift a user's lock-out and reset the count of wrong passwords: the platform administrator, or an
    administrator of the user's own organization."""

    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        request=None,
        responses={
            200: s.UserOut,
            401: OpenApiResponse(description="not_authenticated"),
            403: OpenApiResponse(description="permission_denied: not an administrator"),
            404: OpenApiResponse(description="not_found: no user of your organization has this id"),
        },
    )
    @idempotent
    def post(self, request, pk):
        user = services.user_unlock(actor=request.user, user_id=pk, ip_address=client_ip(request))
        return Response(s.UserOut(user).data)


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

"""`Authorization: Bearer <token>` (or `Token <token>`) for integrations."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.tokens import token_user


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        try:
            header = authentication.get_authorization_header(request).split()
        except UnicodeEncodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token."), code="invalid_token") from None
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."), code="invalid_token")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token."), code="invalid_token") from None
        user = token_user(raw)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."), code="invalid_token")
        if user.organization is not None and not user.organization.is_active:
            raise exceptions.AuthenticationFailed(_("Your organization is suspended."), code="organization_suspended")
        return user, raw

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token/ issues the token."}

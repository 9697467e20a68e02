"""The error envelope: `{"error": {"code", "message", "fields"}}` for every failure, never a 500 page."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


def envelope(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict | list | str:
    """DRF's ErrorDetail trees as plain JSON: {"field": ["message", ...]}."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def query_invalid(serializer, message: str | None = None) -> InvalidInput:
    """The 400 `invalid` for a query string that did not validate: one message for the query (`message`, or "A
    filter is invalid.") and each parameter's own messages in `fields`. A request body that does not validate
    goes through `is_valid(raise_exception=True)` and exception_handler instead."""
    return InvalidInput(message or _("A filter is invalid."), fields=_flatten(serializer.errors))


def _first_message(fields) -> str | None:
    if isinstance(fields, dict):
        for key, value in fields.items():
            message = _first_message(value)
            if message:
                return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(fields, list):
        for value in fields:
            message = _first_message(value)
            if message:
                return message
    if isinstance(fields, str):
        return fields
    return None


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(envelope(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            envelope("request_too_large", _("The request body is too large; send fewer items per request.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django logs it and handler500 answers with the envelope

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
        message = _first_message(fields) or _("The request is invalid.")
        return Response(envelope("invalid", message, fields), status=exc.status_code, headers=headers)
    detail_code = exc.get_codes() if isinstance(exc.get_codes(), str) else None
    if detail_code and detail_code != exc.default_code:
        code = detail_code  # raised with a specific code, e.g. "invalid_credentials"
    return Response(envelope(code, str(exc.detail)), status=exc.status_code, headers=headers)


def json_404(request, exception=None):
    return JsonResponse(envelope("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)


def json_500(request):
    return JsonResponse(
        envelope("server_error", _("Something went wrong on our side; it has been logged.")),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )

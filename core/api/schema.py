"""The OpenAPI schema states every answer: each operation lists the error answers it can give, with the error
envelope, beside its 2xx answer, so that an integrator (or a schema-driven tester) knows them all."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine code, e.g. `not_in_stock`, `reason_required`.")
    message = serializers.CharField(help_text="Words for people, in the caller's language (Accept-Language).")
    fields = serializers.DictField(
        help_text="Per input field (or `non_field_errors`), the list of what is wrong with it; empty when the "
        "error is not about one field. Lists of items are keyed by index."
    )


class ErrorEnvelope(serializers.Serializer):
    error = ErrorDetail()


ERRORS = {
    "400": _("Malformed or invalid input (`invalid`, `malformed_request`, or an operation's own code)."),
    "401": _("Not logged in, or the token is invalid or expired."),
    "403": _("The caller may not do this (`permission_denied`, or an operation's own code)."),
    "404": _("Not found, or not visible to the caller: no existence leaks across jurisdictions or enterprises."),
    "409": _("A state conflict (already sold, not in stock…) or `idempotency_key_reused`."),
    "413": _("The request body is too large (`request_too_large`)."),
    "415": _("The body is not JSON (`unsupported_media_type`)."),
    "422": _("A compliance refusal: uncertified, incompatible, beyond the standard."),
    "429": _("Too many requests (`rate_limited`); wait for the seconds in `Retry-After`."),
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["400", "404"]  # any input can be malformed; any path or page can be unknown
        if self.view.get_authenticators():
            codes += ["401", "403"]  # a bad token; a role that may not (or a failed CSRF check of a session)
        if self.method in WRITES:
            codes += ["409", "413", "415", "422"]
        if self.view.get_throttles():
            codes.append("429")
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        envelope = self.resolve_serializer(ErrorEnvelope, direction).ref
        for code in self._error_codes():
            declared = responses.get(code)
            if declared is None or "content" not in declared:
                responses[code] = {
                    "description": (declared or {}).get("description") or str(ERRORS[code]),
                    "content": {"application/json": {"schema": envelope}},
                }
        return responses

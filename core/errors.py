"""Domain errors raised by services; the API layer turns them into the error envelope."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal a user can act on. `code` is stable (API.md); `message` is for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class PermissionRefused(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The record is in a state that forbids this: already sold, fitted elsewhere, not in stock."""

    status = 409
    code = "conflict"


class ComplianceRefusal(DomainError):
    """The law forbids it: uncertified product, incompatible battery, spec beyond the standard."""

    status = 422
    code = "compliance_refused"

"""Domain errors carry a stable code and structured details; the API and the web layer
turn them into 4xx answers with a translated message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "domain_error"
    status: int = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """Raised alike for "does not exist" and "not yours", so ids cannot be probed."""

    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422


class Conflict(DomainError):
    code = "conflict"
    status = 409


def error_body(error: DomainError) -> dict[str, Any]:
    """A DomainError as the API answers it: {"code", "detail", "errors": [...]}; what a
    queue keeps of an entry it refused."""
    body: dict[str, Any] = {"code": error.code, "detail": error.message, "errors": []}
    field = error.details.get("field")
    if field:
        body["errors"] = [{"field": str(field), "message": error.message}]
    return body

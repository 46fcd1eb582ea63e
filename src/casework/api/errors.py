"""One place that turns domain errors and malformed requests into JSON error answers:
`{"code": "...", "detail": "...", "errors": [{"field": ..., "message": ...}]}`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from casework.kernel.errors import DomainError


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
        body: dict[str, object] = {"code": error.code, "detail": error.message}
        field = error.details.get("field")
        if field:
            body["errors"] = [{"field": field, "message": error.message}]
        return api.create_response(request, body, status=error.status)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
        errors = []
        for item in error.errors:
            location = [str(part) for part in item.get("loc", ())]
            # ninja prefixes the parameter source ("body", "payload"); keep the field path.
            if location and location[0] in {"body", "query", "path"}:
                location = location[2:] if len(location) > 2 else location[1:]
            errors.append({"field": ".".join(location), "message": item.get("msg", "")})
        return api.create_response(
            request,
            {
                "code": "invalid_input",
                "detail": _("the request has invalid fields"),
                "errors": errors,
            },
            status=422,
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request,
            {"code": "unauthenticated", "detail": _("a valid bearer token is required")},
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        code = "malformed_request" if error.status_code == 400 else "http_error"
        return api.create_response(
            request, {"code": code, "detail": str(error)}, status=error.status_code
        )

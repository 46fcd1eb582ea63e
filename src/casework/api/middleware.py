"""Refuse oversized request bodies before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

# Where the mail room uploads scans (many pages at 300 dpi): CASEWORK_MAX_SCAN_BYTES there.
SCAN_UPLOAD_PATHS = ("/retention/scans/", "/api/v1/retention/scans")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.CASEWORK_MAX_REQUEST_BYTES
        if request.path.startswith(SCAN_UPLOAD_PATHS):
            limit = max(limit, settings.CASEWORK_MAX_SCAN_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return JsonResponse(
                {
                    "code": "payload_too_large",
                    "detail": _("The request body has %(size)s bytes; the limit is %(limit)s.")
                    % {"size": length, "limit": limit},
                },
                status=413,
            )
        return self.get_response(request)

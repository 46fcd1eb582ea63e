"""The express lane of queued intake: `POST /api/v1/inbound` with `Prefer: respond-async`.

Integrations push messages with this one request, many per second. Accepting one is a
check and an INSERT, yet the full request path around it — resolving the URL, django-ninja
running the operation, the locale middleware — cost more than the work itself. The lane
answers such a request directly when it goes through: a bearer token that signs in an
agent, a body within the size limit that the operation's schema accepts, a message that
`intake.queue.enqueue()` stores. Anything else — a missing token, an invalid field, an
unknown customer, a failure — steps aside before anything is written, and the request
takes the full path, which gives the documented answer (401, 413, 422, 404 …) in the
client's language. The lane and the operation share the token check, the schema, the
message and the answer (`api.inbound`); the tests compare their answers.

What the lane's answer has not: `Content-Language` and `Vary: Accept-Language` (it says
nothing in a language). The security middleware's headers it has, from that middleware.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from ninja.responses import NinjaJSONEncoder

from casework.api.auth import signed_in_by_token
from casework.api.inbound import accepted_status, prefers_async, queued_answer, queued_headers
from casework.api.schemas import InboundIn
from casework.intake.queue import enqueue
from casework.kernel.errors import DomainError

INBOUND_PATH = "/api/v1/inbound"

logger = logging.getLogger(__name__)


def _never_called(request: WSGIRequest) -> HttpResponse:
    raise AssertionError("the express lane answers itself")


class ExpressLane:
    def __init__(self) -> None:
        self.security = SecurityMiddleware(_never_called)

    def may_take(self, environ: dict[str, Any]) -> bool:
        """A cheap look at the request line and headers: could the lane answer it?"""
        return (
            environ.get("PATH_INFO") == INBOUND_PATH
            and environ.get("REQUEST_METHOD") == "POST"
            and prefers_async(environ.get("HTTP_PREFER", ""))
        )

    def answer(self, environ: dict[str, Any]) -> HttpResponse | None:
        """The answer to a request `may_take()` approved, or None when it takes the full
        path (nothing was written then; the body is left for the full path to read)."""
        token = _bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        length = _content_length(environ)
        if token is None or length is None:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        request = WSGIRequest(environ)
        if self.security.process_request(request) is not None:
            return None  # a redirect to HTTPS
        if signed_in_by_token(token) is None:
            return None
        try:
            message = InboundIn.model_validate(json.loads(body)).message()
            accepted = enqueue(message)
            response = HttpResponse(
                json.dumps(queued_answer(accepted), cls=NinjaJSONEncoder),
                content_type="application/json; charset=utf-8",
                status=accepted_status(accepted),
                headers=queued_headers(accepted),
            )
        except (ValueError, DomainError):
            # Not JSON, a field the schema refuses (pydantic's ValidationError is a
            # ValueError), a message that cannot be ingested: nothing was stored.
            return None
        except DatabaseError:
            # A connection lost since the last request, say: the full path starts with a
            # checked one. Had the INSERT committed after all, it finds the entry (200).
            return None
        except Exception:
            # A fault of the lane must not cost the client its request.
            logger.exception("the express lane failed; the full path answers")
            return None
        return self.security.process_response(request, response)


def _bearer_token(authorization: str) -> str | None:
    # As django-ninja's HttpBearer reads the header.
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _content_length(environ: dict[str, Any]) -> int | None:
    """The body's length when the request says it and it is within the limit (the full
    path answers 413 above it)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    limit = settings.CASEWORK_MAX_REQUEST_BYTES
    if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None:
        limit = min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if not 0 < length <= limit:
        return None
    return length

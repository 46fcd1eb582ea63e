"""The WSGI application: the REST API's requests take a shorter middleware chain.

API clients authenticate with a bearer token on every request. Sessions, the signed-in
user, CSRF tokens, messages, frame options and static files do nothing for them, yet each
costs every request something — together about a tenth of a small POST's time in the
server. So a request under `/api/` goes through `CASEWORK_API_MIDDLEWARE`, every other
through `MIDDLEWARE`. The tests' client takes the same two chains (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import django
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler

API_PATH_PREFIX = "/api/"


def is_api_request(environ: dict[str, Any]) -> bool:
    return environ.get("PATH_INFO", "").startswith(API_PATH_PREFIX)


class ApiMiddlewareMixin:
    """A Django handler whose middleware chain is `CASEWORK_API_MIDDLEWARE`."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE: a handler builds it once, before
        # its first request, so the API's list stands in for that moment.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.CASEWORK_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)  # type: ignore[misc]
        finally:
            settings.MIDDLEWARE = site_middleware


class _ApiHandler(ApiMiddlewareMixin, WSGIHandler):
    pass


class CaseworkWSGIHandler:
    def __init__(self) -> None:
        self.site = WSGIHandler()
        self.api = _ApiHandler()
        from casework.api.express import ExpressLane  # imports models: after django.setup()

        self.express = ExpressLane()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not is_api_request(environ):
            return self.site(environ, start_response)
        if self.express.may_take(environ):
            answered = self._express(environ, start_response)
            if answered is not None:
                return answered
        response = self.api(environ, start_response)
        if response.streaming:
            return response
        # The body as one piece: the server sends it with its Content-Length (the site's
        # CommonMiddleware sets that header; the API's chain has none).
        try:
            return [response.content]
        finally:
            response.close()

    def _express(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes] | None:
        # The request signals as Django's handler sends them: the database connections
        # are checked before and after (a broken one is closed, an old one renewed). A
        # request the lane leaves to the full path gets that path's signals as well.
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            response = self.express.answer(environ)
        finally:
            signals.request_finished.send(sender=self.__class__)
        if response is None:
            return None
        headers = list(response.items())  # a list, as PEP 3333 says and servers check
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]


def get_wsgi_application() -> CaseworkWSGIHandler:
    django.setup(set_prefix=False)
    return CaseworkWSGIHandler()

"""Calling the WSGI application as a server does, in a test's transaction."""

from __future__ import annotations

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def call(application, environ):  # noqa: ANN001, ANN201
    answered: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:  # noqa: ANN001
        # PEP 3333: a list of (name, value) tuples; servers refuse anything else.
        assert type(headers) is list and all(type(pair) is tuple for pair in headers)
        answered["status"] = int(status.split()[0])
        answered["headers"] = {name.lower(): value for name, value in headers}

    # As Django's test client does: the request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answered["pieces"] = list(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answered["status"], answered["headers"], answered["pieces"]

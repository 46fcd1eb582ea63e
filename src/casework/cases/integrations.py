"""Calls to other systems from an `integration` step: HTTP with a JSON body built from
expressions, JSON back. A failure raises, and the job's retries and the engine's exception
handle it — never a crash in front of a customer.

Only http(s), and by default no addresses inside our own network (a case type must not be
a way to reach internal services); `CASEWORK_INTEGRATIONS_ALLOW_PRIVATE` lifts that for
installations whose back-end systems are internal. `CASEWORK_INTEGRATION_ENDPOINTS` maps
the addresses case types name to the installation's own."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from casework.cases.definitions.specs import IntegrationStep

MAX_RESPONSE_BYTES = 1024 * 1024


class IntegrationFailed(Exception):
    pass


def call(
    step: IntegrationStep, context: Mapping[str, Any], *, idempotency_key: str = ""
) -> dict[str, Any]:
    from casework.cases.process import _plain

    body = {name: _plain(expression.evaluate(context)) for name, expression in step.payload.items()}
    url = endpoint(step.url)
    _check_target(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if step.method != "GET" else None,
        method=step.method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            **({"Idempotency-Key": idempotency_key} if idempotency_key else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=step.timeout_seconds) as response:  # noqa: S310 - checked above
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise IntegrationFailed(f"HTTP {error.code} from {url}") from error
    except (urllib.error.URLError, OSError) as error:
        raise IntegrationFailed(f"{url}: {getattr(error, 'reason', error)}") from error
    if len(raw) > MAX_RESPONSE_BYTES:
        raise IntegrationFailed(f"the answer of {url} is larger than 1 MiB")
    if not raw.strip():
        return {}
    try:
        answer = json.loads(raw)
    except ValueError as error:
        raise IntegrationFailed(f"{url} did not answer JSON") from error
    return answer if isinstance(answer, dict) else {}


def endpoint(url: str) -> str:
    """The address to call: a case type names the production endpoint; an installation maps
    address prefixes to its own (`CASEWORK_INTEGRATION_ENDPOINTS`, e.g. a test system)."""
    for prefix, replacement in settings.CASEWORK_INTEGRATION_ENDPOINTS.items():
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url


def _check_target(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationFailed(f"not an http(s) address: {url}")
    if settings.CASEWORK_INTEGRATIONS_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError as error:
        raise IntegrationFailed(f"{parts.hostname}: {error}") from error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            raise IntegrationFailed(f"{parts.hostname} is an internal address ({ip})")

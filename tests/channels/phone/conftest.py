"""Phone fixtures: a telephone system connected in Casework's format (and the provider
formats), agents with lines, a customer with a number, and a client that posts signed
events the way a telephone system does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from django.test import Client

from casework.channels.phone.models import AgentLine, ConnectionKind, CtiConnection
from casework.events.webhooks import sign
from casework.kernel import secrets
from casework.routing.models import Agent
from tests.factories import CustomerFactory, IdentifierFactory, QueueFactory
from tests.routing.conftest import (  # noqa: F401  (fixtures)
    AgentMaker,
    TestClock,
    make_agent,
    router_process_down,
    run_jobs,
    test_clock,
)

SECRET = "s3cret-for-the-pbx"


@pytest.fixture
def phone_queue(db):  # noqa: ANN001, ANN201
    return QueueFactory(code="phone-service")


@pytest.fixture
def connection(phone_queue) -> CtiConnection:  # noqa: ANN001
    return CtiConnection.objects.create(
        code="pbx",
        name="PBX",
        kind=ConnectionKind.GENERIC,
        secret=secrets.encrypt(SECRET),
        default_queue=phone_queue,
    )


@pytest.fixture
def provider_connection(phone_queue) -> Callable[[str], CtiConnection]:  # noqa: ANN001
    def make(kind: str) -> CtiConnection:
        return CtiConnection.objects.create(
            code=kind,
            name=kind,
            kind=kind,
            secret=secrets.encrypt(f"token-{kind}"),
            default_queue=phone_queue,
        )

    return make


@pytest.fixture
def line_agent(make_agent: AgentMaker) -> Callable[..., Agent]:  # noqa: F811
    """An agent with a phone line (`extension`)."""

    def make(extension: str, **kwargs: Any) -> Agent:
        agent = make_agent(username=f"agent{extension}", **kwargs)
        AgentLine.objects.create(agent=agent, extension=extension)
        return agent

    return make


@pytest.fixture
def helmut(db):  # noqa: ANN001, ANN201
    customer = CustomerFactory(first_name="Helmut", last_name="Berger")
    IdentifierFactory(customer=customer, kind="phone", value="+493023456789")
    return customer


Poster = Callable[..., Any]


def signed_headers(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if at is None else at
    return {"HTTP_CASEWORK_SIGNATURE": f"t={timestamp},v1={sign(secret, timestamp, body)}"}


@pytest.fixture
def post_event(client: Client, connection: CtiConnection) -> Poster:
    """POST one generic event, signed; returns the response."""

    def post(event: str, call_id: str = "c1", **fields: Any):  # noqa: ANN202
        body = json.dumps({"event": event, "call_id": call_id, **fields}).encode()
        return client.post(
            f"/api/v1/cti/generic/{connection.code}/events",
            data=body,
            content_type="application/json",
            **signed_headers(body),
        )

    return post


@pytest.fixture
def poll_call(client: Client, connection: CtiConnection) -> Callable[[str], Any]:
    def poll(call_id: str) -> Any:
        return client.get(
            f"/api/v1/cti/generic/{connection.code}/calls/{call_id}", **signed_headers(b"")
        )

    return poll


def form(fields: Mapping[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(list(_pairs(fields)))


def _pairs(fields: Mapping[str, Any]):  # noqa: ANN202
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            yield name, one

from __future__ import annotations

import json

import pytest
from django.test import Client

from casework.api.tokens import create_token
from tests.factories import AgentFactory, QueueFactory, TeamFactory


class ApiClient:
    """The test client with a bearer token and JSON bodies."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params):  # noqa: ANN003, ANN201
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body=None, *, raw: str | None = None):  # noqa: ANN001, ANN201
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body):  # noqa: ANN001, ANN201
        return self.client.patch(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def api(agent) -> ApiClient:  # noqa: ANN001
    return ApiClient(create_token(agent.user.username))


@pytest.fixture
def other_team_api(db) -> ApiClient:  # noqa: ANN001
    outsider = AgentFactory(teams=[TeamFactory(code="billing")])
    QueueFactory(code="billing-queue", team=outsider.teams.first())
    return ApiClient(create_token(outsider.user.username))

from __future__ import annotations

from typing import Any

import django.test.client
import pytest
from django.core.handlers.wsgi import WSGIRequest
from hypothesis import HealthCheck, settings

from casework.api.auth import forget_cached_tokens
from casework.api.express import ExpressLane
from casework.cases.process import forget_loaded_definitions
from casework.classify.prediction import forget_cached_models
from casework.config.handlers import ApiMiddlewareMixin, is_api_request
from casework.intake.classification import forget_active_tasks
from casework.intake.services import forget_cached_defaults
from casework.kernel.actors import Actor
from casework.routing.config import forget_cached_config
from casework.routing.queries import actor_for_agent
from casework.routing.table import forget_routing_table
from tests.factories import AgentFactory, ChannelDefaultFactory, ResolutionCodeFactory

# The case engine's fixtures (`engine`: the shipped case types published) and real
# Chromium (`browser`, `page`).
pytest_plugins = ["tests.engine", "tests.browser"]

_SiteClientHandler = django.test.client.ClientHandler


class _ApiClientHandler(ApiMiddlewareMixin, _SiteClientHandler):
    pass


class _ClientHandler:
    """The test client's handler, taking the server's ways through: requests under /api/
    the API's middleware chain (config/handlers.py) or its express lane (api/express.py),
    the others the site's chain."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.site = _SiteClientHandler(*args, **kwargs)
        self.api = _ApiClientHandler(*args, **kwargs)
        self.express = ExpressLane()

    def __call__(self, environ: dict[str, Any]) -> object:
        if not is_api_request(environ):
            return self.site(environ)
        if self.express.may_take(environ):
            response = self.express.answer(environ)
            if response is not None:
                response.wsgi_request = WSGIRequest(environ)  # as the client expects
                return response
        return self.api(environ)


django.test.client.ClientHandler = _ClientHandler  # what `Client()` makes its handler of

# Property tests judge rules, not speed: on a busy two-core machine generating examples can
# take longer than Hypothesis's defaults allow, which says nothing about the rule.
settings.register_profile("casework", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("casework")


@pytest.fixture(autouse=True)
def _fresh_intake_defaults():  # noqa: ANN202
    """Each test configures its own channel defaults; none may leak from the test before."""
    forget_cached_defaults()
    forget_cached_tokens()
    forget_loaded_definitions()
    forget_cached_models()
    forget_active_tasks()
    forget_cached_config()
    forget_routing_table()
    yield
    forget_cached_defaults()
    forget_cached_tokens()
    forget_loaded_definitions()
    forget_cached_models()
    forget_active_tasks()
    forget_cached_config()
    forget_routing_table()


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test")


@pytest.fixture
def email_intake(db):  # noqa: ANN001, ANN201
    """An installation where new e-mails open a case of a default type."""
    ResolutionCodeFactory()
    return ChannelDefaultFactory(channel="email")


@pytest.fixture
def agent(db, email_intake):  # noqa: ANN001, ANN201
    return AgentFactory(teams=[email_intake.case_type.default_queue.team])


@pytest.fixture
def agent_actor(agent) -> Actor:  # noqa: ANN001
    return actor_for_agent(agent)

"""The WSGI application: API requests take the API's middleware chain, pages the site's."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from casework.api.tokens import create_token
from casework.config.handlers import CaseworkWSGIHandler
from tests.wsgi import call

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def application() -> CaseworkWSGIHandler:
    return CaseworkWSGIHandler()


def test_an_api_answer_is_one_piece_without_session_or_frame_headers(application, agent):
    token = create_token(agent.user.username)
    environ = (
        RequestFactory()
        .get(
            "/api/v1/customers/999999",
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        .environ
    )

    status, headers, pieces = call(application, environ)

    assert status == 404
    assert len(pieces) == 1  # one piece: the server sends it with its length
    assert json.loads(pieces[0])["detail"] == "customer 999999 not found"
    assert headers["content-language"] == "en"
    assert headers["x-content-type-options"] == "nosniff"  # the security headers stay
    assert "set-cookie" not in headers
    assert "x-frame-options" not in headers


def test_the_api_chain_still_refuses_oversized_bodies(application, settings):
    settings.CASEWORK_MAX_REQUEST_BYTES = 100
    environ = (
        RequestFactory()
        .post("/api/v1/inbound", data="x" * 500, content_type="application/json")
        .environ
    )

    status, _, pieces = call(application, environ)

    assert status == 413
    assert json.loads(pieces[0])["code"] == "payload_too_large"


def test_a_page_takes_the_site_chain(application, db):
    environ = RequestFactory().get("/login/").environ

    status, headers, _ = call(application, environ)

    assert status == 200
    assert headers["x-frame-options"] == "DENY"
    assert "csrftoken" in headers.get("set-cookie", "")

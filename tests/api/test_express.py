"""The express lane of `POST /api/v1/inbound` with `Prefer: respond-async` answers as the
full path does, and leaves everything it cannot answer to that path untouched."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import reverse

from casework.api import express
from casework.api.express import INBOUND_PATH
from casework.api.tokens import create_token
from casework.config.handlers import CaseworkWSGIHandler
from casework.intake.models import QueuedMessage
from tests.wsgi import call

# The queue has a database of its own on SQLite (`intake.dbrouter`).
pytestmark = pytest.mark.django_db(databases="__all__")

MESSAGE = {
    "channel": "email",
    "external_id": "<express@example.de>",
    "sender": [{"kind": "email", "value": "Helmut.Berger@Example.de"}],
    "subject": "Rechnung Oktober",
    "text": "Die Rechnung ist zu hoch.",
}
# The two headers the lane's answer leaves out: it says nothing in a language.
LANGUAGE_HEADERS = {"content-language", "vary"}


@pytest.fixture
def application() -> CaseworkWSGIHandler:
    return CaseworkWSGIHandler()


@pytest.fixture
def token(agent) -> str:  # noqa: ANN001
    return create_token(agent.user.username)


def inbound(body: object, *, token: str | None, language: str = "en", **headers: str) -> dict:
    sent = {"Prefer": "respond-async", "Accept-Language": language, **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, str) else json.dumps(body)
    factory = RequestFactory()
    return factory.post(INBOUND_PATH, raw, content_type="application/json", headers=sent).environ


def full_path_only(application: CaseworkWSGIHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(application.express, "may_take", lambda environ: False)


def test_the_lane_serves_the_operations_path():
    assert reverse("api:inbound") == INBOUND_PATH


def test_the_lane_answers_as_the_full_path_does(application, token, monkeypatch):
    status, headers, pieces = call(application, inbound(MESSAGE, token=token))
    full_path_only(application, monkeypatch)
    other = {**MESSAGE, "external_id": "<full@example.de>"}
    full_status, full_headers, full_pieces = call(application, inbound(other, token=token))

    first, second = QueuedMessage.objects.order_by("pk")
    assert (status, full_status) == (202, 202)
    assert json.loads(pieces[0]) == {
        "id": first.pk,
        "status": "queued",
        "status_url": f"/api/v1/inbound/{first.pk}",
    }
    assert pieces[0] == full_pieces[0].replace(str(second.pk).encode(), str(first.pk).encode())
    assert headers["location"] == f"/api/v1/inbound/{first.pk}"
    assert headers["preference-applied"] == full_headers["preference-applied"]
    assert headers["content-type"] == full_headers["content-type"]
    assert headers["x-content-type-options"] == "nosniff"  # the security middleware's
    assert set(headers) == set(full_headers) - LANGUAGE_HEADERS
    assert first.message["external_id"] == "<express@example.de>"


def test_a_repeated_message_answers_the_first_entry_with_200(application, token):
    _, _, first = call(application, inbound(MESSAGE, token=token))
    status, headers, again = call(application, inbound({**MESSAGE, "text": "Nochmal"}, token=token))

    assert status == 200
    assert json.loads(again[0]) == json.loads(first[0])
    assert QueuedMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "token_kind", "status", "detail"),
    [
        (MESSAGE, "none", 401, "a valid bearer token is required"),
        (MESSAGE, "wrong", 401, "a valid bearer token is required"),
        ({**MESSAGE, "channel": "pigeon"}, "valid", 422, "the request has invalid fields"),
        ({**MESSAGE, "customer_id": 999999}, "valid", 404, "customer 999999 does not exist"),
        ("{not json", "valid", 400, None),
        ([MESSAGE], "valid", 422, "the request has invalid fields"),
    ],
)
def test_what_the_lane_cannot_answer_takes_the_full_path(
    application, token, body, token_kind, status, detail
):
    sent_token = {"none": None, "wrong": "cw_wrong", "valid": token}[token_kind]

    answered, headers, pieces = call(application, inbound(body, token=sent_token))

    assert answered == status
    if detail is not None:
        assert json.loads(pieces[0])["detail"] == detail
    assert headers["content-language"] == "en"  # the full path's answer
    assert not QueuedMessage.objects.exists()


def test_the_full_path_answers_in_the_clients_language(application, token):
    body = {**MESSAGE, "customer_id": 999999}

    status, headers, pieces = call(application, inbound(body, token=token, language="de"))

    assert status == 404
    assert headers["content-language"] == "de"
    assert json.loads(pieces[0])["detail"] == "Kunde 999999 existiert nicht"


def test_an_oversized_body_is_refused_by_the_full_path(application, token, settings):
    settings.CASEWORK_MAX_REQUEST_BYTES = 100

    status, _, pieces = call(application, inbound(MESSAGE, token=token))

    assert status == 413
    assert json.loads(pieces[0])["code"] == "payload_too_large"
    assert not QueuedMessage.objects.exists()


def test_a_synchronous_request_takes_the_full_path(application, token):
    environ = inbound(MESSAGE, token=token, Prefer="return=minimal")

    status, _, pieces = call(application, environ)

    assert status == 201
    assert json.loads(pieces[0])["is_new_case"] is True
    assert not QueuedMessage.objects.exists()


def test_with_https_enforced_a_plain_request_is_redirected(token, settings):
    settings.SECURE_SSL_REDIRECT = True
    application = CaseworkWSGIHandler()  # the middleware reads its settings when made

    status, headers, _ = call(application, inbound(MESSAGE, token=token))

    assert status == 301
    assert headers["location"].startswith("https://")
    assert not QueuedMessage.objects.exists()


def test_a_lost_database_connection_leaves_the_request_to_the_full_path(
    application, token, monkeypatch
):
    def connection_lost(message: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(express, "enqueue", connection_lost)

    status, headers, pieces = call(application, inbound(MESSAGE, token=token))

    assert status == 202
    assert headers["content-language"] == "en"  # the full path's answer
    assert json.loads(pieces[0])["id"] == QueuedMessage.objects.get().pk


def test_a_fault_of_the_lane_is_logged_and_the_full_path_answers(
    application, token, monkeypatch, caplog
):
    def broken(accepted: object) -> dict:
        raise KeyError("status")

    monkeypatch.setattr(express, "queued_answer", broken)

    status, _, pieces = call(application, inbound(MESSAGE, token=token))

    # The lane had stored the message: the full path finds it, as a repeat.
    assert status == 200
    assert json.loads(pieces[0])["id"] == QueuedMessage.objects.get().pk
    assert "the express lane failed" in caplog.text

"""`casework serve` starts a real server that answers HTTP (the command the demo runs)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# An administrator's token and a case type for e-mail: enough for the intake API.
_INTAKE_SETUP = """
from django.contrib.auth import get_user_model
from casework.api.tokens import create_token
from casework.cases.models import CaseType
from casework.intake.models import ChannelDefault
from casework.routing.models import Queue, Team
team = Team.objects.create(code="service", name_de="Service", name_en="Service")
queue = Queue.objects.create(code="service", team=team, name_de="Service", name_en="Service")
case_type = CaseType.objects.create(
    code="request", name_de="Anliegen", name_en="Request", service_type="support",
    default_queue=queue,
)
ChannelDefault.objects.create(channel="email", case_type=case_type)
get_user_model().objects.create_superuser("root", "root@example.test", "unused-password")
print(create_token("root"))
"""


def _lowered(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@contextlib.contextmanager
def _serving(tmp_path, mode: list[str], *, setup: str = "") -> Iterator[tuple[int, str]]:
    """`casework serve` on a fresh database; yields its port and what `setup` printed."""
    environment = {
        **os.environ,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "casework.config.settings.demo",
    }
    environment.pop("CASEWORK_DATABASE_URL", None)
    command = [sys.executable, "-m", "casework.cli"]
    subprocess.run([*command, "migrate", "-v", "0"], env=environment, check=True, timeout=120)
    printed = ""
    if setup:
        printed = subprocess.run(
            [*command, "shell", "-v", "0", "-c", setup],
            env=environment,
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "1", *mode], env=environment
    )
    try:
        status = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as page:
                    status = page.status
                    break
            except OSError:
                time.sleep(0.2)
        assert status == 200
        yield port, printed
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


@pytest.mark.parametrize("mode", [[], ["--asgi"]], ids=["granian", "uvicorn"])
def test_serve_answers_on_loopback(tmp_path, mode):
    with (
        _serving(tmp_path, mode) as (port, _),
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json") as schema,
    ):
        body = schema.read()
        assert schema.headers["Content-Length"] == str(len(body))


def test_granian_accepts_queued_messages_and_refuses_bad_ones(tmp_path):
    with _serving(tmp_path, [], setup=_INTAKE_SETUP) as (port, token):

        def post(body: dict) -> tuple[int, dict[str, str], dict]:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/inbound",
                data=json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Prefer": "respond-async",
                    "Accept-Language": "en",
                },
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status, _lowered(answer.headers), json.loads(answer.read())
            except urllib.error.HTTPError as refused:
                return refused.code, _lowered(refused.headers), json.loads(refused.read())

        message = {
            "channel": "email",
            "external_id": "<served@example.de>",
            "sender": [{"kind": "email", "value": "helmut.berger@example.de"}],
            "text": "Die Rechnung ist zu hoch.",
        }
        status, headers, answer = post(message)
        again, _, first = post(message)
        invalid, invalid_headers, refusal = post({**message, "channel": "pigeon"})

    assert status == 202
    assert headers["location"] == answer["status_url"] == f"/api/v1/inbound/{answer['id']}"
    assert headers["content-length"] == str(len(json.dumps(answer)))
    assert (again, first) == (200, answer)
    assert invalid == 422 and refusal["errors"][0]["field"] == "channel"
    assert invalid_headers["content-language"] == "en"  # the full path's answer

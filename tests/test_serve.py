"""`casework serve` starts a real server that answers HTTP (the command the demo runs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("mode", [[], ["--asgi"]], ids=["granian", "uvicorn"])
def test_serve_answers_on_loopback(tmp_path, mode):
    environment = {
        **os.environ,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "casework.config.settings.demo",
    }
    environment.pop("CASEWORK_DATABASE_URL", None)
    command = [sys.executable, "-m", "casework.cli"]
    subprocess.run([*command, "migrate", "-v", "0"], env=environment, check=True, timeout=120)
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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json") as schema:
            body = schema.read()
            assert schema.headers["Content-Length"] == str(len(body))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

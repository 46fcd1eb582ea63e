from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _import_prod_settings(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import casework.config.settings.prod"],
        env={**os.environ, "CASEWORK_SECRET_KEY": "", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_the_demo_secret():
    environment = {k: v for k, v in os.environ.items() if k != "CASEWORK_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import casework.config.settings.prod"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "CASEWORK_SECRET_KEY" in result.stderr


def test_production_starts_with_a_private_secret():
    assert _import_prod_settings(CASEWORK_SECRET_KEY="x" * 50).returncode == 0


@pytest.mark.parametrize(
    ("url", "engine"),
    [("sqlite:///db.sqlite3", "sqlite3"), ("postgres://u:p@localhost:5433/cw", "postgresql")],
)
def test_database_urls(url, engine, tmp_path):
    from casework.config.database import database_from_url

    config = database_from_url(url, base_dir=tmp_path)

    assert config["ENGINE"].endswith(engine)


def test_unknown_database_scheme_is_a_clear_error(tmp_path):
    from casework.config.database import DatabaseUrlError, database_from_url

    with pytest.raises(DatabaseUrlError, match="unsupported"):
        database_from_url("mysql://x/y", base_dir=tmp_path)

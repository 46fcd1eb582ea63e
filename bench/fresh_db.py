"""A fresh database for one benchmark run: an SQLite file or a PostgreSQL database of its
own, migrated, with an empty data directory; dropped again at the end."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import report

CACHE_DIR = Path(os.environ.get("CASEWORK_BENCH_DIR", "/tmp/casework-bench"))


def setup_django(engine: str, name: str) -> None:
    """`name`: the SQLite file's stem and the PostgreSQL database's suffix."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        _remove_sqlite(name)
        url = f"sqlite:///{_sqlite_path(name)}"
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name(name)}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{pg_name(name)}"')
        url = f"{report.PG_SERVER_URL}/{pg_name(name)}"
    data_dir = CACHE_DIR / f"{name}-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    os.environ["CASEWORK_DATA_DIR"] = str(data_dir)
    os.environ["CASEWORK_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "casework.config.settings.demo"
    os.environ.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def drop_database(engine: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    if engine == "sqlite":
        _remove_sqlite(name)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name(name)}" WITH (FORCE)')


def _sqlite_path(name: str) -> Path:
    return CACHE_DIR / f"{name}.sqlite3"


def pg_name(name: str) -> str:
    return f"casework_bench_{name.replace('-', '_')}"


def _remove_sqlite(name: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{_sqlite_path(name)}{suffix}").unlink(missing_ok=True)


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{report.PG_SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(statement)

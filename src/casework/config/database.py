"""Turn `CASEWORK_DATABASE_URL` into a Django DATABASES entry.

Supported: `sqlite:///relative/or/absolute/path.sqlite3` (four slashes for an absolute
path) and `postgres://user:password@host:port/name` (also `postgresql://`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class DatabaseUrlError(ValueError):
    pass


def database_from_url(url: str, *, base_dir: Path) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if not raw_path or raw_path == "/":
            raise DatabaseUrlError(f"{url!r}: the SQLite URL names no file")
        # sqlite:///var/db.sqlite3 is relative, sqlite:////abs/db.sqlite3 absolute.
        path = Path(raw_path[1:]) if raw_path.startswith("/") else Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        # A fresh checkout has no data directory yet; SQLite would fail to open the file.
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            # Django's, with writers that say when they wait for the write lock.
            "ENGINE": "casework.kernel.db.sqlite3",
            "NAME": str(path),
            # Opening a connection and running the PRAGMAs costs about 0.5 ms per request.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
                # failing with "database is locked" when one upgrades from reading.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # A 64 MiB page cache (the default is 2 MiB): with millions of rows the
                # indexes' pages no longer fit, and every insert read them from the file.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; "
                    "PRAGMA cache_size=-65536;"
                ),
            },
        }
    if parts.scheme in {"postgres", "postgresql"}:
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise DatabaseUrlError(f"{url!r}: the PostgreSQL URL names no database")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise DatabaseUrlError(
        f"{url!r}: unsupported database URL scheme {parts.scheme!r} (use sqlite:// or postgres://)"
    )


def sqlite_sibling(database: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The same SQLite settings for a second file beside the first: `casework.sqlite3`
    gives `casework-<suffix>.sqlite3`."""
    path = Path(database["NAME"])
    return {**database, "NAME": str(path.with_name(f"{path.stem}-{suffix}{path.suffix}"))}

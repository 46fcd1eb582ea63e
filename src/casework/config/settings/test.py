"""Tests: fast hashing, a private database name per run, English by default."""

import uuid

from casework.config.settings.base import *  # noqa: F403
from casework.config.settings.base import DATABASES

CASEWORK_MODE = "test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "en"

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Two runs on one PostgreSQL server must not share a test database.
    DATABASES["default"]["TEST"] = {"NAME": f"casework_test_{uuid.uuid4().hex[:10]}"}

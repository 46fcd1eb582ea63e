"""Tests: fast hashing, a private database name per run, English by default."""

import tempfile
import uuid

from casework.config.database import sqlite_sibling
from casework.config.settings.base import *  # noqa: F403
from casework.config.settings.base import DATABASES

CASEWORK_MODE = "test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "en"

# Two runs must not share a test database. SQLite tests use a file, not memory: in-memory
# databases shared between threads lock whole tables instead of queueing writers like the
# product's WAL file does, so concurrency tests would test something else.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["TEST"] = {"NAME": f"casework_test_{uuid.uuid4().hex[:10]}"}
else:
    DATABASES["default"]["TEST"] = {
        "NAME": str(tempfile.gettempdir() + f"/casework_test_{uuid.uuid4().hex[:10]}.sqlite3")
    }
    # The intake queue's file beside it, named as the product names it (processes that the
    # tests start find it from the main file's name).
    DATABASES["intake_queue"]["TEST"] = {
        "NAME": sqlite_sibling(DATABASES["default"]["TEST"], "queue")["NAME"]
    }

# No worker runs beside the tests: the response page answers at once ("the confirmation
# follows"); a test that wants the outcome on the page runs a worker thread and waits.
CASEWORK_RETENTION_PAGE_WAIT_SECONDS = 0.0

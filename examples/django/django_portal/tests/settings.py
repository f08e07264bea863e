"""The project's settings for its tests: a SQLite file per run as `default`, and
`REGFLOW_TEST_POSTGRES_DSN`'s database as `postgres` when it is set.

The tests migrate both themselves (`conftest.prepared`) rather than through Django's test
runner, which would create a second PostgreSQL database (a role CI's server does not grant).
"""

import os
import tempfile
from pathlib import Path

from django_portal.settings import *  # noqa: F403 - the project's settings, amended below
from django_portal.settings import database

#: SQLite waits this long for another writer (the race tests start 50 at once).
SQLITE_TIMEOUT = 30

SQLITE_FILE = Path(tempfile.mkdtemp(prefix="regflow-django-")) / "db.sqlite3"
DATABASES = {
    "default": {
        **database(str(SQLITE_FILE)),
        "OPTIONS": {"timeout": SQLITE_TIMEOUT, "transaction_mode": "IMMEDIATE"},
    }
}
if POSTGRES_DSN := os.environ.get("REGFLOW_TEST_POSTGRES_DSN"):
    DATABASES["postgres"] = database(POSTGRES_DSN)

"""`regflow db migrate`: create or upgrade the stores' tables, safe to run on every deploy.

The stores' DDL (`regflow db schema`) is idempotent: every table and index is created if
missing, and the upgrades (the backfill of `regflow_id_numbers`) insert only what is missing.
Opening the stores runs it — SQLite when it opens the file, PostgreSQL under an advisory lock,
so servers deploying at once take turns. This command runs it once, before the app servers
start, and reports which of the tables it found and which it created.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Final

from regflow._bootstrap import _POSTGRES_SCHEMES, default_database, open_stores

if TYPE_CHECKING:
    from collections.abc import Iterator

#: The tables regflow's stores keep, in the order the schema creates them.
TABLES: Final = ("regflow_flows", "regflow_accounts", "regflow_id_numbers", "regflow_outbox")


def migrate(database: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """Bring `database` (a SQLite file or a PostgreSQL URL) to the current schema; yield one
    line per table: ``created <table>`` or ``up to date <table>``."""
    where = os.fspath(database if database is not None else default_database())
    found = _tables(where)
    with open_stores(where):
        pass
    for table in TABLES:
        yield f"{'up to date' if table in found else 'created'} {table}"


def _tables(where: str) -> frozenset[str]:
    """The regflow tables `where` holds already (none in a file that does not exist yet)."""
    if where.startswith(_POSTGRES_SCHEMES):
        import psycopg  # noqa: PLC0415 - an optional extra

        with psycopg.connect(where) as connection:
            rows = connection.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_name = ANY(%s)",
                (list(TABLES),),
            ).fetchall()
    else:
        if not os.path.exists(where):  # noqa: PTH110 - `where` may name SQLite's ":memory:"
            return frozenset()
        with closing(sqlite3.connect(where)) as connection:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'regflow_%'"
            ).fetchall()
    return frozenset(row[0] for row in rows)

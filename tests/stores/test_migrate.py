"""`regflow db migrate`: creates the tables, upgrades an older database, and changes nothing
the second time (docs/deployment.md runs it on every deploy)."""

from __future__ import annotations

import os
import secrets
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg
import pytest

from regflow import Account, open_stores
from regflow.testing import CITIZEN
from regflow.tools._cli import main

from .conftest import NO_POSTGRES, POSTGRES_DSN

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CREATED = (
    "created regflow_flows\ncreated regflow_accounts\ncreated regflow_id_numbers\n"
    "created regflow_outbox\n"
)
UP_TO_DATE = CREATED.replace("created", "up to date")
ACCOUNT = Account.for_citizen(
    CITIZEN, account_id="a-1", email=None, created_at=datetime(2026, 1, 1, tzinfo=UTC), flow_id="f"
)


def migrate(capsys: pytest.CaptureFixture[str], *where: str) -> str:
    assert main(["db", "migrate", *where]) == 0
    return capsys.readouterr().out


def test_a_new_sqlite_file_gets_every_table_and_a_second_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "regflow.sqlite3")

    assert migrate(capsys, "--database", database) == CREATED
    assert migrate(capsys, "--database", database) == UP_TO_DATE
    with open_stores(database) as stores:
        assert stores.users.find(CITIZEN.id_number, CITIZEN.bhxh_number) is None


def test_the_database_of_regflow_database_is_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGFLOW_DATABASE", str(tmp_path / "from-env.sqlite3"))

    assert migrate(capsys) == CREATED
    assert (tmp_path / "from-env.sqlite3").exists()


def test_a_database_made_before_the_id_numbers_table_is_upgraded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "old.sqlite3")
    with open_stores(database) as stores:
        stores.users.add(ACCOUNT, "hash")
    with closing(sqlite3.connect(database)) as connection:
        connection.execute("DROP TABLE regflow_id_numbers")

    out = migrate(capsys, "--database", database)

    assert out.splitlines() == [
        "up to date regflow_flows",
        "up to date regflow_accounts",
        "created regflow_id_numbers",
        "up to date regflow_outbox",
    ]
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT id_number, account_id FROM regflow_id_numbers")
        assert rows.fetchall() == [(CITIZEN.id_number, "a-1")]


@pytest.fixture
def empty_postgres_schema() -> Iterator[str]:
    """A DSN whose tables go to a new, empty schema of the test database."""
    if not POSTGRES_DSN:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs the PostgreSQL tests to run, but " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    schema = f"migrate_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_DSN else "?"
    yield f"{POSTGRES_DSN}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def test_a_new_postgres_database_gets_every_table_and_a_second_run_changes_nothing(
    empty_postgres_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = empty_postgres_schema

    assert migrate(capsys, "--postgres-dsn", dsn) == CREATED
    assert migrate(capsys, "--postgres-dsn", dsn) == UP_TO_DATE

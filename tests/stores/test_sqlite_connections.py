"""The SQLite file keeps one connection per thread, with the durability the host chose."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import Account, DuplicateAccountError
from regflow.adapters.sqlite import SqliteDatabase, SqliteUserStore
from regflow.testing import CITIZEN

if TYPE_CHECKING:
    import sqlite3


ACCOUNT = Account.for_citizen(
    CITIZEN, account_id="a1", email=None, created_at=datetime(2026, 1, 1, tzinfo=UTC), flow_id="f"
)


def connection_of(database: SqliteDatabase) -> sqlite3.Connection:
    with database.connect() as connection:
        return connection


def test_a_thread_reuses_its_connection_and_another_thread_gets_its_own(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "flows.sqlite3")
    mine = connection_of(database)
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(connection_of(database)))
    worker.start()
    worker.join()

    assert connection_of(database) is mine
    assert theirs[0] is not mine
    database.close()


def test_close_closes_every_connection_and_the_next_call_opens_a_new_one(
    tmp_path: Path,
) -> None:
    database = SqliteDatabase(tmp_path / "flows.sqlite3")
    first = connection_of(database)

    database.close()
    second = connection_of(database)

    assert second is not first
    assert second.execute("SELECT count(*) FROM regflow_flows").fetchone()[0] == 0
    database.close()


FULL, NORMAL = 2, 1  # SQLite's numbers for the two settings


def synchronous(database: SqliteDatabase) -> int:
    value: int = connection_of(database).execute("PRAGMA synchronous").fetchone()[0]
    return value


def test_flow_saves_are_not_synced_unless_the_host_asks(tmp_path: Path) -> None:
    default = SqliteDatabase(tmp_path / "a.sqlite3")
    synced = SqliteDatabase(tmp_path / "b.sqlite3", synchronous="FULL")

    assert synchronous(default) == NORMAL
    assert synchronous(synced) == FULL
    assert connection_of(default).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    default.close()
    synced.close()


def account_statements(database: SqliteDatabase, account: Account) -> list[str]:
    """What adding `account` runs, as SQLite's trace sees it."""
    statements: list[str] = []
    connection_of(database).set_trace_callback(statements.append)
    try:
        SqliteUserStore(database).add(account, "hash")
    finally:
        connection_of(database).set_trace_callback(None)
    return statements


def test_an_account_is_synced_to_disk_before_add_returns(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")

    statements = account_statements(database, ACCOUNT)

    assert statements[0] == "PRAGMA synchronous = FULL"
    assert statements[1].startswith("INSERT INTO regflow_accounts")
    assert statements[-1] == "PRAGMA synchronous = NORMAL"
    assert synchronous(database) == NORMAL
    database.close()


def test_a_refused_account_still_restores_the_setting(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")
    SqliteUserStore(database).add(ACCOUNT, "hash")

    with pytest.raises(DuplicateAccountError):
        account_statements(database, attrs.evolve(ACCOUNT, account_id="other"))
    assert synchronous(database) == NORMAL
    database.close()


def test_a_database_that_syncs_everything_has_nothing_to_switch(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3", synchronous="FULL")

    statements = account_statements(database, ACCOUNT)

    assert [s for s in statements if s.startswith("PRAGMA")] == []
    assert synchronous(database) == FULL
    database.close()


PROC_FDS = Path("/proc/self/fd")


def open_descriptors() -> int:
    return sum(1 for _ in PROC_FDS.iterdir())


@pytest.mark.skipif(not PROC_FDS.is_dir(), reason="counts descriptors in /proc")
def test_a_finished_threads_connection_is_closed(tmp_path: Path) -> None:
    """A server that starts a thread per request must not keep a connection per request."""
    database = SqliteDatabase(tmp_path / "flows.sqlite3")
    connection_of(database)
    before = open_descriptors()

    for _ in range(50):
        worker = threading.Thread(target=connection_of, args=(database,))
        worker.start()
        worker.join()
    gc.collect()

    assert open_descriptors() <= before + 3  # a WAL file or two, not 50 connections
    database.close()

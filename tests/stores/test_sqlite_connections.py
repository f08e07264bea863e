"""The SQLite file keeps one connection per thread, with the durability the host chose."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import Account, DuplicateAccountError, FlowSnapshot, State
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteUserStore
from regflow.flows.registration import RegistrationContext
from regflow.testing import CITIZEN

from .conftest import typed

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable


NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = Account.for_citizen(CITIZEN, account_id="a1", email=None, created_at=NOW, flow_id="f")


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


def traced(database: SqliteDatabase, action: Callable[[], object]) -> list[str]:
    """The statements `action` runs on this thread's connection, as SQLite's trace sees them."""
    statements: list[str] = []
    connection_of(database).set_trace_callback(statements.append)
    try:
        action()
    finally:
        connection_of(database).set_trace_callback(None)
    return statements


def synced_around(statements: list[str], prefix: str) -> bool:
    """Whether the statement starting with `prefix` ran between switching to FULL and back."""
    position = next(n for n, statement in enumerate(statements) if statement.startswith(prefix))
    before, after = statements[:position], statements[position + 1 :]
    return "PRAGMA synchronous = FULL" in before and "PRAGMA synchronous = 1" in after


def test_an_account_is_synced_to_disk_before_add_returns(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")

    statements = traced(database, lambda: SqliteUserStore(database).add(ACCOUNT, "hash"))

    assert synced_around(statements, "INSERT INTO regflow_accounts")
    assert synchronous(database) == NORMAL
    database.close()


def test_a_refused_account_still_restores_the_setting(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")
    users = SqliteUserStore(database)
    users.add(ACCOUNT, "hash")

    with pytest.raises(DuplicateAccountError):
        users.add(attrs.evolve(ACCOUNT, account_id="other"), "hash")
    assert synchronous(database) == NORMAL
    database.close()


def test_the_save_that_completes_a_flow_is_synced_and_the_others_are_not(
    tmp_path: Path,
) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")
    flows = SqliteFlowStore(database)
    started = FlowSnapshot(
        flow_id="f",
        flow="bhxh_registration",
        version=1,
        state=State.SETTING_PASSWORD,
        created_at=NOW,
        expires_at=NOW,
        context=RegistrationContext(),
    )
    completed = attrs.evolve(
        started,
        version=2,
        state=State.COMPLETED,
        finished=True,
        context=RegistrationContext(account_id=ACCOUNT.account_id, account_created_at=NOW),
    )

    in_progress = traced(database, lambda: flows.save(started))
    completing = traced(database, lambda: flows.save(completed))

    assert not any(s.startswith("PRAGMA synchronous =") for s in in_progress)
    assert synced_around(completing, "UPDATE regflow_flows")
    assert typed(flows.load("f")) == completed
    database.close()


def test_durable_blocks_nest_and_the_outer_one_stays_synced(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3")

    with database.durable():
        with database.durable():
            assert synchronous(database) == FULL
        assert synchronous(database) == FULL
    assert synchronous(database) == NORMAL
    database.close()


def test_a_database_that_syncs_everything_has_nothing_to_switch(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "a.sqlite3", synchronous="FULL")

    statements = traced(database, lambda: SqliteUserStore(database).add(ACCOUNT, "hash"))

    assert not any(s.startswith("PRAGMA synchronous =") for s in statements)
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

"""The SQLite file keeps one connection per thread, with the durability the host chose."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow.adapters.sqlite import SqliteDatabase

if TYPE_CHECKING:
    import sqlite3


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


def test_commits_are_fully_synced_unless_the_host_trades_that_for_speed(tmp_path: Path) -> None:
    durable = SqliteDatabase(tmp_path / "a.sqlite3")
    fast = SqliteDatabase(tmp_path / "b.sqlite3", synchronous="NORMAL")

    full, normal = 2, 1  # SQLite's numbers for the two settings
    assert connection_of(durable).execute("PRAGMA synchronous").fetchone()[0] == full
    assert connection_of(fast).execute("PRAGMA synchronous").fetchone()[0] == normal
    assert connection_of(durable).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    durable.close()
    fast.close()


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

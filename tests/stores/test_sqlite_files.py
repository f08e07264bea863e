"""The SQLite file holds citizens' records: it and its -wal and -shm are its owner's alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow import ChooseMethod, Stores, open_stores
from regflow.adapters.sqlite import SqliteDatabase
from regflow.testing import FakePorts

if TYPE_CHECKING:
    from collections.abc import Iterator

FILES = ("", "-wal", "-shm")


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The umask most systems give a service (022): new files readable by every user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(path: Path) -> dict[str, int]:
    return {suffix: stat.S_IMODE(Path(f"{path}{suffix}").stat().st_mode) for suffix in FILES}


def one_step_on(path: Path) -> Stores:
    """Start a flow and take one step in it; the stores stay open, and so do -wal and -shm
    (closing the last connection removes them)."""
    ports = FakePorts.seeded()
    stores = open_stores(path)
    ports.users, ports.flows = stores.users, stores.flows  # type: ignore[assignment]
    engine = ports.engine()
    assert engine.send(
        engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh")
    ).ok
    return stores


def test_a_new_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "regflow.sqlite3"

    with one_step_on(path):
        assert modes(path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_an_existing_database_keeps_the_operators_mode(tmp_path: Path) -> None:
    path = tmp_path / "regflow.sqlite3"
    SqliteDatabase(path).close()
    path.chmod(0o640)  # shared with a backup group on purpose

    with one_step_on(path):
        assert modes(path) == {"": 0o640, "-wal": 0o640, "-shm": 0o640}


def test_other_users_lose_their_access_to_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "regflow.sqlite3"
    with one_step_on(path):
        for suffix in FILES:  # as an older regflow left them under the umask
            Path(f"{path}{suffix}").chmod(0o644)

        SqliteDatabase(path).close()

        assert modes(path) == {"": 0o640, "-wal": 0o640, "-shm": 0o640}

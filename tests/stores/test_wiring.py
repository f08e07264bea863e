"""Where the stores live when a host configures nothing, and the `regflow db` commands."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from regflow import FlowSnapshot, State, bootstrap, open_stores
from regflow.adapters import postgres, sqlite
from regflow.adapters.postgres import PostgresFlowStore
from regflow.adapters.sqlite import SqliteFlowStore
from regflow.flows.registration import RegistrationContext
from regflow.testing import FakePorts

from .conftest import POSTGRES_DSN, engine_on

if TYPE_CHECKING:
    from pathlib import Path

    from psycopg_pool import ConnectionPool

    from regflow import Engine
    from regflow.ports import FlowStore


def bare_engine(database: str | None = None) -> Engine:
    """What a host app gets when it names only the portal's own services."""
    ports = FakePorts.seeded()
    return bootstrap(bhxh=ports.bhxh, sms=ports.sms, otp_secret=ports.otp_secret, database=database)


def regflow(*args: str, stdin: str = "") -> str:
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "regflow", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_host_that_names_no_database_gets_a_sqlite_file_in_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGFLOW_DATABASE", raising=False)

    flow = bare_engine().start("bhxh_registration")

    assert SqliteFlowStore(tmp_path / "regflow.sqlite3").load(flow.flow_id) is not None


def test_regflow_database_names_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGFLOW_DATABASE", str(tmp_path / "portal.sqlite3"))

    flow = bare_engine().start("bhxh_registration")

    assert SqliteFlowStore(tmp_path / "portal.sqlite3").load(flow.flow_id) is not None


def test_a_postgresql_url_opens_the_postgresql_stores(postgres_pool: ConnectionPool) -> None:
    assert POSTGRES_DSN is not None
    ports = FakePorts.seeded()

    with open_stores(POSTGRES_DSN) as stores:
        flow = engine_on(ports, stores.users, stores.flows).start("bhxh_registration")

    assert PostgresFlowStore(postgres_pool).load(flow.flow_id) is not None


@pytest.mark.parametrize(("flag", "ddl"), [([], sqlite.SCHEMA), (["--postgres"], postgres.SCHEMA)])
def test_db_schema_prints_the_ddl(flag: list[str], ddl: str) -> None:
    assert regflow("db", "schema", *flag) == ddl


def put_flows(flows: FlowStore) -> None:
    for flow_id, expiry in [("gone", datetime(2000, 1, 1, tzinfo=UTC)), ("kept", None)]:
        flows.save(
            FlowSnapshot(
                flow_id=flow_id,
                flow="bhxh_registration",
                version=1,
                state=State.FILLING_FORM,
                context=RegistrationContext(),
                created_at=datetime(2000, 1, 1, tzinfo=UTC),
                expires_at=expiry or datetime(2100, 1, 1, tzinfo=UTC),
            )
        )


def test_db_purge_expired_empties_a_sqlite_file_of_expired_flows(tmp_path: Path) -> None:
    path = tmp_path / "portal.sqlite3"
    flows = open_stores(path).flows
    put_flows(flows)

    assert regflow("db", "purge-expired", "--database", str(path)) == "1\n"
    assert flows.load("gone") is None
    assert flows.load("kept") is not None


def test_db_purge_expired_empties_postgresql_of_expired_flows(
    postgres_pool: ConnectionPool,
) -> None:
    assert POSTGRES_DSN is not None
    flows = PostgresFlowStore(postgres_pool)
    with postgres_pool.connection() as connection:
        connection.execute("DELETE FROM regflow_flows WHERE expires_at < now()")
    put_flows(flows)

    assert regflow("db", "purge-expired", "--postgres-dsn", POSTGRES_DSN) == "1\n"
    assert flows.load("gone") is None
    assert flows.load("kept") is not None
    with postgres_pool.connection() as connection:
        connection.execute("DELETE FROM regflow_flows WHERE flow_id = 'kept'")


def test_the_demo_on_sqlite_still_knows_its_existing_account() -> None:
    answers = "\n1\n1\n0100000003\nLê Minh Hoạ\n01/12/2000\n0358000003\n079200000003\n\n"

    shown = regflow("demo", "--lang", "en", stdin=answers)

    assert "The registration ended: Account already exists." in shown

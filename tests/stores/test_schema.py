"""Stored snapshots of an older shape load, and the schema can be printed and created."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import Account, ConfirmOtp, DuplicateAccountError, State
from regflow.engine import codec as json_codec
from regflow.adapters.postgres import SCHEMA as POSTGRES_SCHEMA
from regflow.adapters.postgres import PostgresFlowStore, PostgresUserStore, create_schema
from regflow.adapters.sqlite import SCHEMA as SQLITE_SCHEMA
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.testing import CITIZEN, FakePorts

from .conftest import engine_on

if TYPE_CHECKING:
    from pathlib import Path

    from psycopg_pool import ConnectionPool

#: The code sent to the old flow, and its hash as schemas 1 and 2 kept it: HMAC-SHA256 in hex.
CODE = "246810"
HEX_HASH = hmac.new(
    FakePorts().otp_secret, b"old-flow-of-schema-1-2:" + CODE.encode(), hashlib.sha256
)
#: The same hash as schema 3 keeps it: base64url without padding.
BASE64URL_HASH = "vmY3TUeqK4dAI20INBTGYlWEr87gS6eQISJKpAQvLb4"

#: A flow waiting for its OTP, exactly as regflow 0.1.0 (snapshot schema 1) stored it
#: (with an id of the shape `Engine.start` gives, as every stored flow has).
SCHEMA_1 = (
    '{"flow_id":"old-flow-of-schema-1-2","version":3,"state":"otp_pending",'
    '"created_at":"2026-01-01T08:00:00+00:00","expires_at":"2026-01-01T08:30:00+00:00",'
    '"subject":"citizen","method":"bhxh","citizen":{"bhxh_number":"0123456789",'
    '"full_name":"Nguyễn Văn An","date_of_birth":"1990-05-17","phone":"+84912345678",'
    '"id_number":"001090012345"},"otp":{"code_hash":"' + HEX_HASH.hexdigest() + '",'
    '"expires_at":"2026-01-01T08:05:00+00:00"},"otp_sends":1,'
    '"otp_last_sent_at":"2026-01-01T08:00:00+00:00","schema":1}'
)
#: The same flow as regflow stored it in schema 2: with `updated_at` and a `path`.
SCHEMA_2 = (
    '{"flow_id":"old-flow-of-schema-1-2","version":3,"state":"otp_pending",'
    '"created_at":"2026-01-01T08:00:00+00:00","expires_at":"2026-01-01T08:30:00+00:00",'
    '"subject":"citizen","method":"bhxh","citizen":{"bhxh_number":"0123456789",'
    '"full_name":"Nguyễn Văn An","date_of_birth":"1990-05-17","phone":"+84912345678",'
    '"id_number":"001090012345"},"otp":{"code_hash":"' + HEX_HASH.hexdigest() + '",'
    '"expires_at":"2026-01-01T08:05:00+00:00"},"otp_sends":1,'
    '"otp_last_sent_at":"2026-01-01T08:00:00+00:00","path":["filling_form","otp_pending"],'
    '"updated_at":"2026-01-01T08:00:00+00:00","schema":2}'
)
OLD_DOCUMENTS = pytest.mark.parametrize("old", [SCHEMA_1, SCHEMA_2], ids=["schema 1", "schema 2"])
CREATED = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


@OLD_DOCUMENTS
def test_an_old_snapshot_loads_as_the_current_schema(old: str) -> None:
    snapshot = json_codec.loads(old)

    assert (snapshot.schema, snapshot.state, snapshot.version) == (3, State.OTP_PENDING, 3)
    assert snapshot.updated_at == CREATED  # schema 1: the last change it can vouch for
    assert snapshot.citizen == CITIZEN
    assert snapshot.otp is not None
    assert (snapshot.otp.code_hash, snapshot.otp.expires_at) == (
        BASE64URL_HASH,
        CREATED + timedelta(minutes=5),
    )
    assert json_codec.loads(json_codec.dumps(snapshot)) == snapshot


def test_a_snapshot_is_stored_with_its_schema() -> None:
    snapshot = json_codec.loads(SCHEMA_2)

    assert json_codec.to_document(snapshot)["schema"] == json_codec.SCHEMA == 3


def _sqlite_with(path: Path, document: str) -> None:
    """A SQLite file holding `old-flow-of-schema-1-2` as an older regflow stored it."""
    SqliteFlowStore(path)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO regflow_flows (flow_id, version, state, expires_at, snapshot) "
            "VALUES ('old-flow-of-schema-1-2', 3, 'otp_pending', "
            "'2026-01-01T08:30:00.000000+00:00', ?)",
            (document,),
        )
    connection.close()


@OLD_DOCUMENTS
def test_sqlite_loads_an_old_row_and_saves_it_as_schema_3(tmp_path: Path, old: str) -> None:
    path = tmp_path / "old.sqlite3"
    _sqlite_with(path, old)
    flows = SqliteFlowStore(path)

    loaded = flows.load("old-flow-of-schema-1-2")
    assert loaded == json_codec.loads(old)
    flows.save(attrs.evolve(loaded, version=4))

    with sqlite3.connect(path) as connection:
        [(stored,)] = connection.execute("SELECT snapshot FROM regflow_flows").fetchall()
    connection.close()
    assert json.loads(stored)["schema"] == 3


@OLD_DOCUMENTS
def test_the_code_sent_before_the_upgrade_is_still_accepted(tmp_path: Path, old: str) -> None:
    path = tmp_path / "old.sqlite3"
    _sqlite_with(path, old)
    ports = FakePorts.seeded()
    ports.clock.set(CREATED + timedelta(minutes=1))
    engine = engine_on(ports, SqliteUserStore(path), SqliteFlowStore(path))

    wrong = engine.send("old-flow-of-schema-1-2", ConfirmOtp("135790"))
    right = engine.send("old-flow-of-schema-1-2", ConfirmOtp(CODE))

    assert [error.code for error in wrong.errors] == ["otp.invalid"]
    assert right.state is State.SETTING_PASSWORD, right.errors


@OLD_DOCUMENTS
def test_postgres_loads_an_old_row(postgres_pool: ConnectionPool, old: str) -> None:
    with postgres_pool.connection() as connection:
        connection.execute("DELETE FROM regflow_flows WHERE flow_id = 'old-flow-of-schema-1-2'")
        connection.execute(
            "INSERT INTO regflow_flows (flow_id, version, state, expires_at, snapshot) "
            "VALUES ('old-flow-of-schema-1-2', 3, 'otp_pending', %s, %s::jsonb)",
            (CREATED, old),
        )

    loaded = PostgresFlowStore(postgres_pool).load("old-flow-of-schema-1-2")

    assert loaded == json_codec.loads(old)


def test_the_sqlite_schema_has_both_unique_numbers_and_runs_twice() -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(SQLITE_SCHEMA)
    connection.executescript(SQLITE_SCHEMA)
    indexes = connection.execute(
        "SELECT name FROM pragma_index_list('regflow_accounts') WHERE \"unique\""
    ).fetchall()
    connection.close()

    assert len(indexes) == 3  # account_id, id_number, bhxh_number


def test_the_postgres_schema_runs_twice(postgres_pool: ConnectionPool) -> None:
    with postgres_pool.connection() as connection:
        connection.execute(POSTGRES_SCHEMA)
        connection.execute(POSTGRES_SCHEMA)
        unique = connection.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'regflow_accounts'"
            " AND indexdef LIKE 'CREATE UNIQUE INDEX%'"
        ).fetchone()

    assert unique == (3,)


def test_a_new_sqlite_file_runs_in_wal_mode(tmp_path: Path) -> None:
    SqliteFlowStore(tmp_path / "new.sqlite3")

    with sqlite3.connect(tmp_path / "new.sqlite3") as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()

    assert mode == ("wal",)


# --- a database made before accounts had a table of ID numbers ------------------------------

#: `regflow_accounts` as regflow created it before `regflow_id_numbers` existed.
OLD_ACCOUNTS_TABLE = """\
CREATE TABLE regflow_accounts (
    account_id          TEXT PRIMARY KEY,
    id_number           TEXT NOT NULL UNIQUE,
    bhxh_number         TEXT NOT NULL UNIQUE,
    full_name           TEXT NOT NULL,
    date_of_birth       TEXT NOT NULL,
    phone               TEXT NOT NULL,
    email               TEXT,
    verification_level  INTEGER NOT NULL,
    source              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    flow_id             TEXT NOT NULL,
    password_hash       TEXT NOT NULL
)"""
OLD_ACCOUNT = (
    "INSERT INTO regflow_accounts VALUES ('old', %(id)s, %(bhxh)s, 'Nguyễn Văn An', "
    "'1990-05-17', '+84912345678', NULL, 2, 'bhxh', '2025-01-01T08:00:00+00:00', "
    "'old-flow', 'old-hash')"
)
#: The citizen's CCCD record under a re-issued BHXH number, naming the account's old CMND.
CMND = "012345678"


def _old_sqlite(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(OLD_ACCOUNTS_TABLE)
        connection.execute(
            OLD_ACCOUNT.replace("%(id)s", ":id").replace("%(bhxh)s", ":bhxh"),
            {"id": CMND, "bhxh": CITIZEN.bhxh_number},
        )


def _rival(account: Account) -> Account:
    """A new account for the same citizen, naming the old account's number as a former one."""
    return attrs.evolve(
        account,
        account_id="new",
        flow_id="new-flow",
        id_number=CITIZEN.id_number,
        bhxh_number="0123456700",
        former_id_numbers=(CMND,),
    )


def test_opening_an_old_sqlite_file_backfills_every_account_s_number(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_sqlite(path)

    users = SqliteUserStore(path)
    SqliteUserStore(path)  # a second start finds the backfill done

    old = users.find(CMND, "0000000000")
    assert old is not None
    assert old.account_id == "old"
    assert users.find(CITIZEN.id_number, "0123456700", (CMND,)) == old
    with pytest.raises(DuplicateAccountError):
        users.add(_rival(old), "hash")
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT id_number, account_id FROM regflow_id_numbers")
        assert rows.fetchall() == [(CMND, "old")]


def test_creating_the_postgres_schema_over_an_old_one_backfills_it(
    postgres_pool: ConnectionPool,
) -> None:
    with postgres_pool.connection() as connection:
        connection.execute("DROP TABLE regflow_id_numbers")
        connection.execute("TRUNCATE regflow_accounts")
        connection.execute(OLD_ACCOUNT, {"id": CMND, "bhxh": CITIZEN.bhxh_number})

    create_schema(postgres_pool)
    create_schema(postgres_pool)

    users = PostgresUserStore(postgres_pool)
    old = users.find(CITIZEN.id_number, "0123456700", (CMND,))
    assert old is not None
    assert old.account_id == "old"
    with pytest.raises(DuplicateAccountError):
        users.add(_rival(old), "hash")
    with postgres_pool.connection() as connection:
        rows = connection.execute("SELECT id_number, account_id FROM regflow_id_numbers")
        assert rows.fetchall() == [(CMND, "old")]
        connection.execute("TRUNCATE regflow_id_numbers, regflow_accounts")

"""PostgreSQL stores, for many app servers sharing one database (``pip install regflow[postgres]``).

Both stores take a `psycopg_pool.ConnectionPool` (`open_pool` makes one); each call borrows a
connection for one statement, one round trip (an account and its ID numbers too). The version
check of a flow is the ``WHERE`` of its ``UPDATE`` and the unique numbers of an account are
the tables' constraints, so PostgreSQL itself decides every race. `SCHEMA` is the DDL a DBA
can review (``regflow db schema --postgres``); `create_schema` runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs
import psycopg
from psycopg import ClientCursor
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from regflow._domain import Account
from regflow._errors import DuplicateAccountError, StaleFlowError
from regflow.adapters import _sql
from regflow.engine import codec

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from regflow.declare import FlowSnapshot

#: The tables; every statement may run again harmlessly.
SCHEMA: Final = (
    """\
CREATE TABLE IF NOT EXISTS regflow_flows (
    flow_id     text PRIMARY KEY,
    version     integer NOT NULL,
    state       text NOT NULL,
    expires_at  timestamptz NOT NULL,
    updated_at  timestamptz,
    snapshot    jsonb NOT NULL  -- regflow.engine.codec, with its schema version
);
CREATE INDEX IF NOT EXISTS regflow_flows_expires_at ON regflow_flows (expires_at);
CREATE TABLE IF NOT EXISTS regflow_accounts (
    account_id          text PRIMARY KEY,
    id_number           text NOT NULL UNIQUE,  -- CMT/CCCD: one account per citizen
    bhxh_number         text NOT NULL UNIQUE,
    full_name           text NOT NULL,
    date_of_birth       date NOT NULL,
    phone               text NOT NULL,
    email               text,
    verification_level  smallint NOT NULL,
    source              text NOT NULL,
    created_at          timestamptz NOT NULL,
    flow_id             text NOT NULL,
    password_hash       text NOT NULL  -- '' for an account without a password
);
ALTER TABLE regflow_accounts ADD COLUMN IF NOT EXISTS vneid_verified_at timestamptz;
"""
    + _sql.ID_NUMBERS_SCHEMA
)

#: Serialises `create_schema` across app servers starting at once (any fixed 64-bit key).
_SCHEMA_LOCK: Final = 0x7265_6766_6C6F_77


def _as_is(moment: datetime | None) -> datetime | None:
    """psycopg sends an aware datetime as a timestamptz."""
    return moment


def open_pool(dsn: str, *, max_size: int = 10, min_size: int = 1) -> ConnectionPool:
    """A pool of autocommit connections to `dsn`: each statement is its own transaction."""
    return ConnectionPool(dsn, open=True, name="regflow", **pool_options(max_size, min_size))


def pool_options(max_size: int, min_size: int) -> dict[str, Any]:
    """The settings both pools (sync and async) take: sizes, autocommit connections."""
    return {"min_size": min_size, "max_size": max_size, "kwargs": {"autocommit": True}}


def create_schema(pool: ConnectionPool) -> None:
    """Create the tables if they are missing (safe when many servers start at once)."""
    with pool.connection() as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        connection.execute(SCHEMA)


def account_of(row: dict[str, Any]) -> Account:
    """The account of a row of `_sql.with_former_numbers`."""
    return Account(**{**row, "former_id_numbers": tuple(row["former_id_numbers"])})


class PostgresUserStore:
    """`UserStore` in PostgreSQL; its unique constraints decide who wins a race."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        statement, numbers = _sql.find_parameters(id_number, bhxh_number, former_id_numbers)
        return self._account(statement, numbers)

    def find_by_login(self, login: str) -> Account | None:
        return self._account(_sql.FIND_BY_LOGIN, {"login": login})

    def _account(self, statement: str, parameters: dict[str, str]) -> Account | None:
        """The account the statement finds, with its former ID numbers (one statement)."""
        with self._pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            row = cursor.execute(_sql.with_former_numbers(statement), parameters).fetchone()
        return None if row is None else account_of(row)

    def add(self, account: Account, password_hash: str | None) -> None:
        """Insert the account and its ID numbers in one statement (one round trip)."""
        values = _sql.account_row(account, password_hash)
        try:
            with self._pool.connection() as connection:
                connection.execute(_sql.INSERT_ACCOUNT_AND_NUMBERS, values)
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateAccountError(account.account_id) from exc

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        values = {**attrs.asdict(account), "password_hash": password_hash}
        with self._pool.connection() as connection:
            replaced = connection.execute(_sql.REPLACE_PASSWORD_HASH, values).rowcount
        if replaced != 1:
            raise LookupError(account.account_id)

    def password_hash(self, account_id: str) -> str | None:
        with self._pool.connection() as connection:
            row = connection.execute(_sql.PASSWORD_HASH, {"account_id": account_id}).fetchone()
        return None if row is None else _sql.read_hash(row[0])

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        values = {"account_id": account_id, "password_hash": password_hash}
        with self._pool.connection() as connection:
            replaced = connection.execute(_sql.SET_PASSWORD_HASH, values).rowcount
        if replaced != 1:
            raise LookupError(account_id)

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        values = {"account_id": account_id, "level": level, "verified_at": verified_at}
        with self._pool.connection() as connection:
            verified = connection.execute(_sql.VERIFY_IDENTITY, values).rowcount
        if verified != 1:
            raise LookupError(account_id)


class PostgresFlowStore:
    """`FlowStore` in PostgreSQL: a save is one statement that checks the version.

    `write_schema` is the snapshot schema saves write (`regflow.engine.codec`): an older one
    while servers that read only it share the database (docs/versioning.md).
    `synchronous_commit=False` lets the saves of flows in flight return before PostgreSQL has
    flushed them to its write-ahead log (``synchronous_commit = off`` for those saves alone):
    a crash of the database server may then lose the last fraction of a second of them (a
    flow goes back a step, or one just begun is gone), never an account and never the save
    that finishes a flow, as SQLite's default does (docs/performance.md)."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        write_schema: int = codec.SCHEMA,
        synchronous_commit: bool = True,
    ) -> None:
        self._pool = pool
        self._write_schema = write_schema
        self._synchronous_commit = synchronous_commit

    def load(self, flow_id: str) -> FlowSnapshot | None:
        with self._pool.connection() as connection:
            row = connection.execute(_sql.LOAD_FLOW, {"flow_id": flow_id}).fetchone()
        if row is None:
            return None
        document: dict[str, Any] = row[0]
        return codec.from_document(document)

    def save(self, snapshot: FlowSnapshot) -> None:
        document = codec.to_document(snapshot, schema=self._write_schema)
        values = _sql.flow_row(snapshot, _as_is, Jsonb(document))
        statement = _sql.save_flow(snapshot)
        with self._pool.connection() as connection:
            if self._synchronous_commit or snapshot.finished:
                saved = connection.execute(statement, values).rowcount
            else:  # one round trip still: both statements in one simple query
                cursor = ClientCursor(connection)
                cursor.execute(_sql.COMMIT_WITHOUT_WAITING + statement, values)
                cursor.nextset()
                saved = cursor.rowcount
        if saved != 1:
            raise StaleFlowError(snapshot.flow_id)

    def purge_expired(self, now: datetime) -> int:
        with self._pool.connection() as connection:
            return connection.execute(_sql.PURGE_FLOWS, {"now": now}).rowcount

    def snapshots(self) -> Iterator[FlowSnapshot]:
        """Every stored flow, as `load` gives it, read in batches: what `regflow db
        verify` reads."""
        with self._pool.connection() as connection, connection.cursor() as cursor:
            for (document,) in cursor.stream(_sql.ALL_FLOWS):
                yield codec.from_document(document)

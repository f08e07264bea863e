"""PostgreSQL stores, for many app servers sharing one database (``pip install regflow[postgres]``).

Both stores take a `psycopg_pool.ConnectionPool` (`open_pool` makes one); each call borrows a
connection for one statement, one round trip (an account and its ID numbers too). The version
check of a flow is the ``WHERE`` of its ``UPDATE`` and the unique numbers of an account are
the tables' constraints, so PostgreSQL itself decides every race. `SCHEMA` is the DDL a DBA
can review (``regflow db schema --postgres``); `create_schema` runs it.
"""

from __future__ import annotations

import secrets
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
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import datetime, timedelta

    from regflow.declare import FlowSnapshot
    from regflow.ports.outbox import ClaimedMessage, OutboxMessage

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
    + """\
CREATE TABLE IF NOT EXISTS regflow_outbox (
    idempotency_key  text PRIMARY KEY,  -- flow_id:version:n
    kind             text NOT NULL,     -- 'sms', or a host's
    payload          jsonb NOT NULL,    -- a text's holds its OTP: never log it
    status           text NOT NULL,     -- 'pending' or 'dead'; a delivered row is deleted
    attempts         integer NOT NULL,
    created_at       timestamptz NOT NULL,
    available_at     timestamptz,       -- after a failed attempt: due again from then
    leased_until     timestamptz,       -- a worker holds it until then
    lease            text
);
CREATE INDEX IF NOT EXISTS regflow_outbox_due ON regflow_outbox (status, created_at);
"""
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
        with self._pool.connection() as connection:
            _save_flow(connection, snapshot, self._write_schema, self._synchronous_commit)

    def purge_expired(self, now: datetime) -> int:
        with self._pool.connection() as connection:
            return connection.execute(_sql.PURGE_FLOWS, {"now": now}).rowcount

    def snapshots(self) -> Iterator[FlowSnapshot]:
        """Every stored flow, as `load` gives it, read in batches: what `regflow db
        verify` reads."""
        with self._pool.connection() as connection, connection.cursor() as cursor:
            for (document,) in cursor.stream(_sql.ALL_FLOWS):
                yield codec.from_document(document)


def _save_flow(
    connection: psycopg.Connection[Any],
    snapshot: FlowSnapshot,
    schema: int,
    synchronous_commit: bool = True,
) -> None:
    """Write `snapshot` if its version follows the stored one, else raise `StaleFlowError`.

    Without `synchronous_commit` a flow in flight commits without waiting for the disk (the
    save that finishes a flow always waits), in one round trip still."""
    statement, values = _sql.save_flow(snapshot), flow_values(snapshot, schema)
    if synchronous_commit or snapshot.finished:
        saved = connection.execute(statement, values).rowcount
    else:  # both statements in one simple query
        cursor = ClientCursor(connection)
        cursor.execute(_sql.COMMIT_WITHOUT_WAITING + statement, values)
        cursor.nextset()
        saved = cursor.rowcount
    if saved != 1:
        raise StaleFlowError(snapshot.flow_id)


def flow_values(snapshot: FlowSnapshot, schema: int) -> dict[str, object]:
    """The parameters of `_sql.save_flow` for `snapshot`, its document in `schema`."""
    return _sql.flow_row(snapshot, _as_is, Jsonb(codec.to_document(snapshot, schema=schema)))


def outbox_values(
    snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]
) -> list[dict[str, object]]:
    """The parameters of `_sql.INSERT_OUTBOX` for the messages of `snapshot`'s save."""
    return _sql.outbox_rows(messages, snapshot.updated_at, _jsonb)


class PostgresOutbox:
    """`Outbox` in the PostgreSQL database of the flows: a flow's save and its messages are
    one transaction; a claim locks the rows it leases ``FOR UPDATE SKIP LOCKED``, so two
    workers never lease one message at once and neither waits for the other.

    `write_schema` is the snapshot schema `save_with` writes, as `PostgresFlowStore`'s.
    """

    def __init__(self, pool: ConnectionPool, *, write_schema: int = codec.SCHEMA) -> None:
        self._pool = pool
        self._write_schema = write_schema

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        with self._pool.connection() as connection, connection.transaction():
            _save_flow(connection, snapshot, self._write_schema)
            connection.cursor().executemany(_sql.INSERT_OUTBOX, outbox_values(snapshot, messages))

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        values = {
            "now": now,
            "until": now + lease,
            "lease": secrets.token_urlsafe(12),
            "limit": limit,
        }
        with self._pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            rows = cursor.execute(_sql.CLAIM_OUTBOX_SKIP_LOCKED, values).fetchall()
        return [_sql.claimed(row, row["payload"]) for row in rows]

    def mark_delivered(self, claimed: ClaimedMessage) -> None:
        self._run(_sql.DELETE_DELIVERED, claimed)

    def mark_failed(self, claimed: ClaimedMessage, *, retry_at: datetime) -> None:
        self._run(_sql.RETRY_LATER, claimed, retry_at=retry_at)

    def mark_dead(self, claimed: ClaimedMessage) -> None:
        self._run(_sql.MARK_DEAD, claimed)

    def _run(self, statement: str, claimed: ClaimedMessage, **values: object) -> None:
        key = {"idempotency_key": claimed.message.idempotency_key, "lease": claimed.lease}
        with self._pool.connection() as connection:
            connection.execute(statement, {**key, **values})


def _jsonb(payload: Mapping[str, object]) -> Jsonb:
    return Jsonb(dict(payload))

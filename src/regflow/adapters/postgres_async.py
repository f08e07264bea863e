"""The PostgreSQL stores for `AsyncEngine`, on psycopg's async pool (``regflow[postgres]``).

The same tables, statements and race rules as `regflow.adapters.postgres` (the SQL lives in
`regflow.adapters._sql`, the row shaping there too); only the waiting is the event loop's.
Open the pool in the loop that runs the engine (``await open_async_pool(dsn)``) and close
it on shutdown (``await pool.close()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import psycopg
from psycopg import AsyncClientCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from regflow._errors import DuplicateAccountError, StaleFlowError
from regflow.adapters import _sql
from regflow.adapters.postgres import account_of, flow_values, outbox_values, pool_options
from regflow.engine import codec

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from regflow._domain import Account
    from regflow.declare import FlowSnapshot
    from regflow.ports.outbox import OutboxMessage


async def open_async_pool(
    dsn: str, *, max_size: int = 10, min_size: int = 1
) -> AsyncConnectionPool:
    """A pool of autocommit connections to `dsn`, opened: as `postgres.open_pool`, async."""
    options = pool_options(max_size, min_size)
    pool = AsyncConnectionPool(dsn, open=False, name="regflow-async", **options)
    await pool.open()
    return pool


class AsyncPostgresUserStore:
    """`AsyncUserStore` in PostgreSQL; its unique constraints decide who wins a race."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        statement, numbers = _sql.find_parameters(id_number, bhxh_number, former_id_numbers)
        return await self._account(statement, numbers)

    async def find_by_login(self, login: str) -> Account | None:
        return await self._account(_sql.FIND_BY_LOGIN, {"login": login})

    async def _account(self, statement: str, parameters: dict[str, str]) -> Account | None:
        async with self._pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            found = await cursor.execute(_sql.with_former_numbers(statement), parameters)
            row = await found.fetchone()
        return None if row is None else account_of(row)

    async def add(self, account: Account, password_hash: str | None) -> None:
        """Insert the account and its ID numbers in one statement (one round trip)."""
        values = _sql.account_row(account, password_hash)
        try:
            async with self._pool.connection() as connection:
                await connection.execute(_sql.INSERT_ACCOUNT_AND_NUMBERS, values)
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateAccountError(account.account_id) from exc

    async def replace_password_hash(self, account: Account, password_hash: str) -> None:
        values = {**attrs.asdict(account), "password_hash": password_hash}
        await self._change_one(_sql.REPLACE_PASSWORD_HASH, values, account.account_id)

    async def password_hash(self, account_id: str) -> str | None:
        async with self._pool.connection() as connection:
            found = await connection.execute(_sql.PASSWORD_HASH, {"account_id": account_id})
            row = await found.fetchone()
        return None if row is None else _sql.read_hash(row[0])

    async def set_password_hash(self, account_id: str, password_hash: str) -> None:
        values = {"account_id": account_id, "password_hash": password_hash}
        await self._change_one(_sql.SET_PASSWORD_HASH, values, account_id)

    async def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        values = {"account_id": account_id, "level": level, "verified_at": verified_at}
        await self._change_one(_sql.VERIFY_IDENTITY, values, account_id)

    async def _change_one(self, statement: str, values: dict[str, Any], account_id: str) -> None:
        """Run an UPDATE of one account; `LookupError` when there is no such account."""
        async with self._pool.connection() as connection:
            changed = (await connection.execute(statement, values)).rowcount
        if changed != 1:
            raise LookupError(account_id)


class AsyncPostgresFlowStore:
    """`AsyncFlowStore` in PostgreSQL: a save is one statement that checks the version;
    `synchronous_commit` as `PostgresFlowStore`'s."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        write_schema: int = codec.SCHEMA,
        synchronous_commit: bool = True,
    ) -> None:
        self._pool = pool
        self._write_schema = write_schema
        self._synchronous_commit = synchronous_commit

    async def load(self, flow_id: str) -> FlowSnapshot | None:
        async with self._pool.connection() as connection:
            found = await connection.execute(_sql.LOAD_FLOW, {"flow_id": flow_id})
            row = await found.fetchone()
        return None if row is None else codec.from_document(row[0])

    async def save(self, snapshot: FlowSnapshot) -> None:
        async with self._pool.connection() as connection:
            await _save_flow(connection, snapshot, self._write_schema, self._synchronous_commit)

    async def purge_expired(self, now: datetime) -> int:
        async with self._pool.connection() as connection:
            return (await connection.execute(_sql.PURGE_FLOWS, {"now": now})).rowcount


async def _save_flow(
    connection: psycopg.AsyncConnection[Any],
    snapshot: FlowSnapshot,
    schema: int,
    synchronous_commit: bool = True,
) -> None:
    """As the sync store's `_save_flow`, awaited."""
    statement, values = _sql.save_flow(snapshot), flow_values(snapshot, schema)
    if synchronous_commit or snapshot.finished:
        saved = (await connection.execute(statement, values)).rowcount
    else:  # both statements in one simple query
        cursor = AsyncClientCursor(connection)
        await cursor.execute(_sql.COMMIT_WITHOUT_WAITING + statement, values)
        cursor.nextset()
        saved = cursor.rowcount
    if saved != 1:
        raise StaleFlowError(snapshot.flow_id)


class AsyncPostgresOutbox:
    """`AsyncOutboxStore` in PostgreSQL, for `AsyncEngine`: a flow's save and its messages in
    one transaction, as `PostgresOutbox.save_with`. The worker's side is sync
    (`PostgresOutbox`, which `regflow outbox run` opens): it runs in a process of its own."""

    def __init__(self, pool: AsyncConnectionPool, *, write_schema: int = codec.SCHEMA) -> None:
        self._pool = pool
        self._write_schema = write_schema

    async def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        async with self._pool.connection() as connection, connection.transaction():
            await _save_flow(connection, snapshot, self._write_schema)
            rows = outbox_values(snapshot, messages)
            await connection.cursor().executemany(_sql.INSERT_OUTBOX, rows)

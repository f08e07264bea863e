"""The host's port for the phones of its accounts, and its adapters: memory, SQLite and
PostgreSQL (the portal's own table, beside regflow's)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    import os

    from psycopg_pool import ConnectionPool


class AccountPhones(Protocol):
    """Where the portal keeps the phone each account is reached on (its own table, not
    regflow's: the account's registered phone stays as BHXH gave it)."""

    def phone(self, account_id: str) -> str | None:
        """The account's phone, if the portal changed it since registration."""
        ...

    def change_phone(self, account_id: str, phone: str) -> None:
        """Reach the account on `phone` from now on."""
        ...


class InMemoryAccountPhones:
    """`AccountPhones` in a dict: for tests, and to try the flow out."""

    def __init__(self) -> None:
        self.phones: dict[str, str] = {}

    def phone(self, account_id: str) -> str | None:
        return self.phones.get(account_id)

    def change_phone(self, account_id: str, phone: str) -> None:
        self.phones[account_id] = phone


_SCHEMA: Final = """\
CREATE TABLE IF NOT EXISTS portal_account_phones (
    account_id  TEXT PRIMARY KEY,
    phone       TEXT NOT NULL
)"""
_PHONE: Final = "SELECT phone FROM portal_account_phones WHERE account_id = ?"
_CHANGE: Final = (
    "INSERT INTO portal_account_phones (account_id, phone) VALUES (?, ?) "
    "ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone"
)


class SqliteAccountPhones:
    """`AccountPhones` in the portal's own table of a SQLite file (it may be regflow's)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self._path, isolation_level=None))

    def phone(self, account_id: str) -> str | None:
        with self._connect() as connection:
            row = connection.execute(_PHONE, (account_id,)).fetchone()
        return None if row is None else str(row[0])

    def change_phone(self, account_id: str, phone: str) -> None:
        with self._connect() as connection:
            connection.execute(_CHANGE, (account_id, phone))


_POSTGRES_SCHEMA: Final = _SCHEMA.replace("TEXT", "text")
_POSTGRES_PHONE: Final = _PHONE.replace("?", "%s")
_POSTGRES_CHANGE: Final = _CHANGE.replace("?", "%s")


class PostgresAccountPhones:
    """`AccountPhones` in the portal's own table of a PostgreSQL database, over the pool
    regflow's PostgreSQL stores use (`regflow.adapters.postgres.open_pool`)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as connection:
            connection.execute(_POSTGRES_SCHEMA)

    def phone(self, account_id: str) -> str | None:
        with self._pool.connection() as connection:
            row = connection.execute(_POSTGRES_PHONE, (account_id,)).fetchone()
        return None if row is None else str(row[0])

    def change_phone(self, account_id: str, phone: str) -> None:
        with self._pool.connection() as connection:
            connection.execute(_POSTGRES_CHANGE, (account_id, phone))

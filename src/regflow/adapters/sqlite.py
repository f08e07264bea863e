"""SQLite stores: the embedded default, one file that every process on one machine shares.

The file runs in WAL mode (readers never wait for the writer) and its tables are created on
first use. Each thread keeps one connection in autocommit mode, so a store can be shared by
threads and each write is one atomic statement: the version check of a flow and the unique
numbers of an account are enforced by SQLite itself, across threads and processes alike.
Keeping the connection open matters: closing the last one checkpoints and deletes the WAL,
several fsyncs that would otherwise cost every request more than the work itself.

The file holds personal data, so it is private to its owner: see `SqliteDatabase`.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
import stat
import threading
import weakref
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import attrs
from cattrs.preconf.json import make_converter

from regflow._domain import Account
from regflow._errors import DuplicateAccountError, StaleFlowError
from regflow.adapters import _sql
from regflow.engine import codec

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from contextlib import AbstractContextManager
    from datetime import timedelta

    from regflow.declare import FlowSnapshot
    from regflow.ports.outbox import ClaimedMessage, OutboxMessage

#: The tables, as `regflow db schema` prints them; every statement may run again harmlessly.
SCHEMA: Final = (
    """\
CREATE TABLE IF NOT EXISTS regflow_flows (
    flow_id     TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    expires_at  TEXT NOT NULL,  -- ISO 8601 in UTC, so text order is time order
    updated_at  TEXT,
    snapshot    TEXT NOT NULL   -- regflow.engine.codec, with its schema version
);
CREATE INDEX IF NOT EXISTS regflow_flows_expires_at ON regflow_flows (expires_at);
CREATE TABLE IF NOT EXISTS regflow_accounts (
    account_id          TEXT PRIMARY KEY,
    id_number           TEXT NOT NULL UNIQUE,  -- CMT/CCCD: one account per citizen
    bhxh_number         TEXT NOT NULL UNIQUE,
    full_name           TEXT NOT NULL,
    date_of_birth       TEXT NOT NULL,
    phone               TEXT NOT NULL,
    email               TEXT,
    verification_level  INTEGER NOT NULL,
    source              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    flow_id             TEXT NOT NULL,
    password_hash       TEXT NOT NULL,  -- '' for an account without a password
    vneid_verified_at   TEXT            -- added by `_add_missing_columns` to older files
);
"""
    + _sql.ID_NUMBERS_SCHEMA
    + """\
CREATE TABLE IF NOT EXISTS regflow_outbox (
    idempotency_key  TEXT PRIMARY KEY,  -- flow_id:version:n
    kind             TEXT NOT NULL,     -- 'sms', or a host's
    payload          TEXT NOT NULL,     -- JSON; a text's holds its OTP: never log it
    status           TEXT NOT NULL,     -- 'pending' or 'dead'; a delivered row is deleted
    attempts         INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    available_at     TEXT,              -- after a failed attempt: due again from then
    leased_until     TEXT,              -- a worker holds it until then
    lease            TEXT
);
CREATE INDEX IF NOT EXISTS regflow_outbox_due ON regflow_outbox (status, created_at);
"""
)

_INSERT_ACCOUNT: Final = _sql.sqlite_style(_sql.INSERT_ACCOUNT)
_INSERT_ID_NUMBER: Final = _sql.sqlite_style(_sql.INSERT_ID_NUMBER)
_FORMER_ID_NUMBERS: Final = _sql.sqlite_style(_sql.FORMER_ID_NUMBERS)
_REPLACE_PASSWORD_HASH: Final = _sql.sqlite_style(_sql.REPLACE_PASSWORD_HASH)
_FIND_BY_LOGIN: Final = _sql.sqlite_style(_sql.FIND_BY_LOGIN)
_PASSWORD_HASH: Final = _sql.sqlite_style(_sql.PASSWORD_HASH)
_SET_PASSWORD_HASH: Final = _sql.sqlite_style(_sql.SET_PASSWORD_HASH)
_VERIFY_IDENTITY: Final = _sql.sqlite_style(_sql.VERIFY_IDENTITY)
#: `find_account`'s statements, one per count of ID numbers, in SQLite's style.
_sqlite_style: Final = functools.cache(_sql.sqlite_style)
_LOAD_FLOW: Final = _sql.sqlite_style(_sql.LOAD_FLOW)
_PURGE_FLOWS: Final = _sql.sqlite_style(_sql.PURGE_FLOWS)
_INSERT_OUTBOX: Final = _sql.sqlite_style(_sql.INSERT_OUTBOX)
_CLAIM_OUTBOX: Final = _sql.sqlite_style(_sql.CLAIM_OUTBOX)
_DELETE_DELIVERED: Final = _sql.sqlite_style(_sql.DELETE_DELIVERED)
_RETRY_LATER: Final = _sql.sqlite_style(_sql.RETRY_LATER)
_MARK_DEAD: Final = _sql.sqlite_style(_sql.MARK_DEAD)

#: The constraint failures that mean "this account's number is taken".
_TAKEN: Final = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
#: SQLite's number for `PRAGMA synchronous = FULL` (EXTRA is 3).
_FULL: Final = 2
#: The mode of a database file regflow creates: its owner's alone, whatever the umask.
_PRIVATE: Final = 0o600
#: The permission bits of other users, taken off a file that exists.
_OTHERS: Final = 0o007
#: The files of one database: SQLite creates the last two beside the first.
_SUFFIXES: Final = ("", "-wal", "-shm")
#: The names SQLite takes for a database in memory (or a temporary file): no file to guard.
_IN_MEMORY: Final = frozenset({"", ":memory:"})

_converter = make_converter()


def _utc_text(moment: datetime | None) -> str | None:
    """A fixed-width UTC timestamp: comparing two of them as text compares the times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _make_private(path: Path) -> None:
    """Create the database file for its owner alone, or take other users' access off it.

    SQLite creates a new file with the umask's mode (usually 0644: every local user could
    read the citizens' records) and gives its ``-wal`` and ``-shm`` files the main file's
    mode, so creating the empty file ``0600`` before SQLite opens it makes all three
    private. A file that exists keeps the owner's and group's permissions the operator gave
    it; only other users' are taken off (a file of an older version was 0644), where this
    process may change its mode.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _PRIVATE))
    except FileExistsError:
        for file in (Path(f"{path}{suffix}") for suffix in _SUFFIXES):
            with suppress(FileNotFoundError, PermissionError):
                mode = stat.S_IMODE(file.stat().st_mode)
                if mode & _OTHERS:
                    file.chmod(mode & ~_OTHERS)
    except OSError:
        return  # no folder, no right to write in it: SQLite says so as it always did


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Give a file made by an older regflow the account columns it lacks (SQLite has no
    ``ADD COLUMN IF NOT EXISTS``); a column added with no default leaves old rows NULL."""
    found = {row["name"] for row in connection.execute("PRAGMA table_info(regflow_accounts)")}
    if _sql.VNEID_COLUMN not in found:
        with suppress(sqlite3.OperationalError):  # another process added it meanwhile
            connection.execute(f"ALTER TABLE regflow_accounts ADD COLUMN {_sql.VNEID_COLUMN} TEXT")


class _Held:
    """A thread's connection: closed when the thread (and so its `threading.local`) is gone."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()
        weakref.finalize(self, connection.close)


class SqliteDatabase:
    """One SQLite file: creates its tables on first use, one connection per thread.

    `synchronous` is SQLite's pragma for the saves of flows. ``"NORMAL"`` (the default) does
    not sync them to disk: a crash of the process loses nothing, a power cut may roll back the
    last steps of flows in progress, which their citizens then repeat. An account, and the
    save that completes its flow, are always committed with ``"FULL"`` (see `durable`), so a
    registration is on disk when it is reported. ``"FULL"`` syncs every save as well, at
    several times the cost of a save.

    A new file is created ``0600``, and so are its ``-wal`` and ``-shm``; a file that exists
    loses only other users' permissions (`_make_private`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "NORMAL",
    ) -> None:
        """`timeout` is how long a write waits for another writer before it fails."""
        self.path = Path(path)
        self._timeout = timeout
        self._synchronous = synchronous
        self._local = threading.local()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        if os.fspath(path) not in _IN_MEMORY:
            _make_private(self.path)
        with closing(self._open()) as connection:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(SCHEMA)
            _add_missing_columns(connection)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA synchronous = {self._synchronous}")
        return connection

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in autocommit mode: every statement commits alone.

        A forked worker opens its own: a connection never crosses a process boundary.
        """
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():
            held = _Held(self._open())
            self._local.held = held
            self._held.add(held)
        yield held.connection

    @contextmanager
    def durable(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, syncing every commit made through it to disk.

        In WAL mode that sync also carries every commit written to this file before it, by
        any connection. The setting it found is put back afterwards (unless the body left a
        transaction open, when SQLite refuses the change and the stricter setting stays).
        """
        with self.connect() as connection:
            found = connection.execute("PRAGMA synchronous").fetchone()[0]
            if found >= _FULL:
                yield connection
                return
            connection.execute("PRAGMA synchronous = FULL")
            try:
                yield connection
            finally:
                if not connection.in_transaction:
                    connection.execute(f"PRAGMA synchronous = {found}")

    def close(self) -> None:
        """Close every thread's connection (at shutdown, when no request is running)."""
        for held in list(self._held):
            held.connection.close()
        self._local = threading.local()


class SqliteUserStore:
    """`UserStore` in a SQLite file; its unique constraints decide who wins a race.

    An account is a row of `regflow_accounts` and a row of `regflow_id_numbers` for each
    CMT/CCCD number it is known by; that table's primary key keeps each number to one account.
    """

    def __init__(self, database: SqliteDatabase | str | os.PathLike[str]) -> None:
        self._db = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        statement, numbers = _sql.find_parameters(id_number, bhxh_number, former_id_numbers)
        return self._account(_sqlite_style(statement), numbers)

    def find_by_login(self, login: str) -> Account | None:
        return self._account(_FIND_BY_LOGIN, {"login": login})

    def _account(self, statement: str, parameters: dict[str, str]) -> Account | None:
        """The account the statement finds, with its former ID numbers."""
        with self._db.connect() as connection:
            row = connection.execute(statement, parameters).fetchone()
            if row is None:
                return None
            account = _converter.structure(dict(row), Account)
            former = connection.execute(_FORMER_ID_NUMBERS, dict(row)).fetchall()
        return attrs.evolve(account, former_id_numbers=tuple(number for (number,) in former))

    def add(self, account: Account, password_hash: str | None) -> None:
        """Insert the account and its ID numbers in one transaction, synced to disk."""
        values = {
            **_converter.unstructure(account),
            "password_hash": _sql.stored_hash(password_hash),
        }
        try:
            with self._db.durable() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    connection.execute(_INSERT_ACCOUNT, values)
                    connection.executemany(_INSERT_ID_NUMBER, _sql.id_number_rows(account))
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname not in _TAKEN:
                raise
            raise DuplicateAccountError(account.account_id) from exc

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        values = {**_converter.unstructure(account), "password_hash": password_hash}
        with self._db.durable() as connection:
            replaced = connection.execute(_REPLACE_PASSWORD_HASH, values).rowcount
        if replaced != 1:
            raise LookupError(account.account_id)

    def password_hash(self, account_id: str) -> str | None:
        with self._db.connect() as connection:
            row = connection.execute(_PASSWORD_HASH, {"account_id": account_id}).fetchone()
        return None if row is None else _sql.read_hash(row["password_hash"])

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        """Replace the hash, synced to disk: the recovery is reported only once it is."""
        values = {"account_id": account_id, "password_hash": password_hash}
        with self._db.durable() as connection:
            replaced = connection.execute(_SET_PASSWORD_HASH, values).rowcount
        if replaced != 1:
            raise LookupError(account_id)

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        values = {"account_id": account_id, "level": level, "verified_at": _utc_text(verified_at)}
        with self._db.durable() as connection:
            verified = connection.execute(_VERIFY_IDENTITY, values).rowcount
        if verified != 1:
            raise LookupError(account_id)


class SqliteFlowStore:
    """`FlowStore` in a SQLite file: a save is one statement that checks the version.

    `write_schema` is the snapshot schema saves write (`regflow.engine.codec`): an older one
    while servers that read only it share the file (docs/versioning.md)."""

    def __init__(
        self, database: SqliteDatabase | str | os.PathLike[str], *, write_schema: int = codec.SCHEMA
    ) -> None:
        self._db = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self._write_schema = write_schema

    def load(self, flow_id: str) -> FlowSnapshot | None:
        with self._db.connect() as connection:
            row = connection.execute(_LOAD_FLOW, {"flow_id": flow_id}).fetchone()
        return None if row is None else codec.loads(row["snapshot"])

    def save(self, snapshot: FlowSnapshot) -> None:
        """Save the next version; the save that ends a flow is synced to disk like the
        account it made, so a power cut cannot take a finished flow back a step."""
        with _connect_for(self._db, snapshot) as connection:
            _save_flow(connection, snapshot, self._write_schema)

    def purge_expired(self, now: datetime) -> int:
        with self._db.connect() as connection:
            return connection.execute(_PURGE_FLOWS, {"now": _utc_text(now)}).rowcount

    def snapshots(self) -> Iterator[FlowSnapshot]:
        """Every stored flow, as `load` gives it: what `regflow db verify` reads."""
        with self._db.connect() as connection:
            for row in connection.execute(_sql.ALL_FLOWS):
                yield codec.loads(row["snapshot"])


def _connect_for(
    database: SqliteDatabase, snapshot: FlowSnapshot
) -> AbstractContextManager[sqlite3.Connection]:
    """The connection a save of `snapshot` goes through: synced to disk if it ends a flow."""
    return database.durable() if snapshot.finished else database.connect()


def _save_flow(connection: sqlite3.Connection, snapshot: FlowSnapshot, schema: int) -> None:
    """Write `snapshot` if its version follows the stored one, else raise `StaleFlowError`."""
    statement = _sql.sqlite_style(_sql.save_flow(snapshot))
    values = _sql.flow_row(snapshot, _utc_text, codec.dumps(snapshot, schema=schema))
    if connection.execute(statement, values).rowcount != 1:
        raise StaleFlowError(snapshot.flow_id)


class SqliteOutbox:
    """`Outbox` in the SQLite file of the flows: a flow's save and its messages are one
    transaction; a claim is one ``UPDATE … RETURNING`` statement, which SQLite's write lock
    runs alone, so two workers (threads or processes) never lease one message at once.

    `write_schema` is the snapshot schema `save_with` writes, as `SqliteFlowStore`'s.
    """

    def __init__(
        self, database: SqliteDatabase | str | os.PathLike[str], *, write_schema: int = codec.SCHEMA
    ) -> None:
        self._db = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self._write_schema = write_schema

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        rows = _sql.outbox_rows(messages, _utc_text(snapshot.updated_at), _json)
        with _connect_for(self._db, snapshot) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                _save_flow(connection, snapshot, self._write_schema)
                connection.executemany(_INSERT_OUTBOX, rows)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        values = {
            "now": _utc_text(now),
            "until": _utc_text(now + lease),
            "lease": secrets.token_urlsafe(12),
            "limit": limit,
        }
        with self._db.connect() as connection:
            rows = connection.execute(_CLAIM_OUTBOX, values).fetchall()
        return [_sql.claimed(row, json.loads(row["payload"])) for row in rows]

    def mark_delivered(self, claimed: ClaimedMessage) -> None:
        self._run(_DELETE_DELIVERED, claimed)

    def mark_failed(self, claimed: ClaimedMessage, *, retry_at: datetime) -> None:
        self._run(_RETRY_LATER, claimed, retry_at=_utc_text(retry_at))

    def mark_dead(self, claimed: ClaimedMessage) -> None:
        self._run(_MARK_DEAD, claimed)

    def _run(self, statement: str, claimed: ClaimedMessage, **values: object) -> None:
        key = {"idempotency_key": claimed.message.idempotency_key, "lease": claimed.lease}
        with self._db.connect() as connection:
            connection.execute(statement, {**key, **values})


def _json(payload: Mapping[str, object]) -> str:
    return json.dumps(dict(payload), ensure_ascii=False, separators=(",", ":"))

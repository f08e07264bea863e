"""Every store backend as a fixture, so one suite runs against memory, SQLite and PostgreSQL.

PostgreSQL comes from `$REGFLOW_TEST_POSTGRES_DSN`, which `scripts/test.sh` sets after
starting a throw-away server with `scripts/postgres.sh`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import (
    BHXH_REGISTRATION,
    SHIPPED_FLOWS,
    SHIPPED_OLDER_VERSIONS,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSnapshot,
    FlowView,
    Policy,
    State,
)
from regflow.adapters.memory import InMemoryFlowStore, InMemoryUserStore
from regflow.adapters.postgres import (
    PostgresFlowStore,
    PostgresUserStore,
    create_schema,
    open_pool,
)
from regflow.adapters.postgres_async import (
    AsyncPostgresFlowStore,
    AsyncPostgresUserStore,
    open_async_pool,
)
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.adapters.threads import InThreads
from regflow.engine import codec
from regflow.ports import FlowStore, RateLimiter, UserStore
from regflow.testing import BlockingPort, FakePorts, form_for, run_blocking

if TYPE_CHECKING:
    from pathlib import Path

    from psycopg_pool import AsyncConnectionPool, ConnectionPool

POSTGRES_DSN = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
NO_POSTGRES = (
    "no PostgreSQL for the store tests: start one and point the tests at it with "
    '`export REGFLOW_TEST_POSTGRES_DSN="$(sudo bash scripts/postgres.sh)"` '
    "(or run `bash scripts/test.sh` as root, which does both)"
)
STRONG_PASSWORD = "Mật-khẩu-1A"


@attrs.frozen
class Backend:
    """A store technology: `open()` gives its two stores, as a freshly started process would."""

    name: str
    open: Callable[[], tuple[UserStore, FlowStore]]
    #: Where another process finds the same stores: a file or a DSN ("" for memory).
    location: str = ""
    #: The password hash stored for an account, read around the port (so a test of the
    #: port's own `password_hash` does not rely on it).
    password_hash: Callable[[str], str] = lambda _: ""


@pytest.fixture(scope="session")
def postgres_pool() -> Iterator[ConnectionPool]:
    if not POSTGRES_DSN:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs the PostgreSQL tests to run, but " + NO_POSTGRES)
        pytest.skip(NO_POSTGRES)
    # 50 connections open before any race, so 50 racing threads each hold their own at once.
    pool = open_pool(POSTGRES_DSN, min_size=50, max_size=60)
    pool.wait()
    create_schema(pool)
    yield pool
    pool.close()


_PASSWORD_HASH = "SELECT password_hash FROM regflow_accounts WHERE account_id = %s"


def _memory() -> Backend:
    users, flows = InMemoryUserStore(), InMemoryFlowStore()
    hashes = users.password_hashes
    return Backend("memory", lambda: (users, flows), password_hash=hashes.__getitem__)


def _sqlite(folder: Path) -> Backend:
    path = folder / "regflow.sqlite3"

    def password_hash(account_id: str) -> str:
        with closing(sqlite3.connect(path)) as connection:
            query = _PASSWORD_HASH.replace("%s", "?")
            [(stored,)] = connection.execute(query, (account_id,)).fetchall()
        return str(stored)

    return Backend(
        "sqlite",
        lambda: (SqliteUserStore(path), SqliteFlowStore(path)),
        location=str(path),
        password_hash=password_hash,
    )


def _sqlite_in_threads(folder: Path) -> Backend:
    """SQLite as `AsyncEngine` takes it (`InThreads`), behind the sync protocol again."""
    sqlite = _sqlite(folder)

    def open_async() -> tuple[UserStore, FlowStore]:
        users, flows = sqlite.open()
        return BlockingPort(InThreads(users)), BlockingPort(InThreads(flows))

    return attrs.evolve(sqlite, name="sqlite-in-threads", open=open_async)


@pytest.fixture(scope="session")
def async_postgres_pool(
    postgres_pool: ConnectionPool,  # noqa: ARG001 - skips without PostgreSQL, makes the schema
) -> Iterator[AsyncConnectionPool]:
    """The async pool, opened on the loop `BlockingPort` runs its calls on."""
    assert POSTGRES_DSN is not None
    pool = run_blocking(open_async_pool(POSTGRES_DSN, max_size=20))
    yield pool
    run_blocking(pool.close())


def _postgres_async(request: pytest.FixtureRequest) -> Backend:
    """PostgreSQL as `AsyncEngine` takes it (psycopg's async pool), behind the sync protocol."""
    sync = _postgres(request)
    pool: AsyncConnectionPool = request.getfixturevalue("async_postgres_pool")

    def open_async() -> tuple[UserStore, FlowStore]:
        users, flows = AsyncPostgresUserStore(pool), AsyncPostgresFlowStore(pool, **options)
        return BlockingPort(users), BlockingPort(flows)

    options = _flow_options(request.param)
    return attrs.evolve(sync, name=request.param, open=open_async)


def _flow_options(name: str) -> dict[str, bool]:
    """The flow store's settings a backend's name asks for: "…-commit-later", the saves of
    flows in flight committed without waiting for the disk."""
    return {"synchronous_commit": not name.endswith("-commit-later")}


def _postgres(request: pytest.FixtureRequest) -> Backend:
    pool: ConnectionPool = request.getfixturevalue("postgres_pool")
    with pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")

    def password_hash(account_id: str) -> str:
        with pool.connection() as connection:
            [(stored,)] = connection.execute(_PASSWORD_HASH, (account_id,)).fetchall()
        return str(stored)

    options = _flow_options(request.param)
    return Backend(
        request.param,
        lambda: (PostgresUserStore(pool), PostgresFlowStore(pool, **options)),
        location=POSTGRES_DSN or "",
        password_hash=password_hash,
    )


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name = request.param
    if name == "memory":
        return _memory()
    if name == "sqlite":
        return _sqlite(tmp_path)
    if name == "sqlite-in-threads":
        return _sqlite_in_threads(tmp_path)
    if name.startswith("postgres-async"):
        return _postgres_async(request)
    return _postgres(request)


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        "sqlite-in-threads",
        "postgres",
        "postgres-commit-later",
        "postgres-async",
        "postgres-async-commit-later",
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Every backend: what the contract suite runs against."""
    return _backend(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres", "postgres-commit-later", "postgres-async"])
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The backends that many processes share and that outlive a process."""
    return _backend(request, tmp_path)


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


def typed(snapshot: FlowSnapshot | None) -> FlowSnapshot:
    """A snapshot a text store gave back, typed by the registration's declaration."""
    assert snapshot is not None
    return codec.typed(snapshot, BHXH_REGISTRATION)


def engine_on(
    ports: FakePorts,
    users: UserStore,
    flows: FlowStore,
    policy: Policy | None = None,
    limiter: RateLimiter | None = None,
) -> Engine:
    """An engine on the fakes of `ports` but the given stores (and limiter, if given)."""
    return Engine(
        *SHIPPED_FLOWS,
        *SHIPPED_OLDER_VERSIONS,
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=users,
        flows=flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        policy=policy,
        limiter=limiter,
        ports={"identity": ports.identity},
    )


def at_otp(engine: Engine) -> FlowView:
    view = engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))
    view = engine.send(view.flow_id, form_for())
    assert view.state is State.OTP_PENDING, view.errors
    return view


def at_password(engine: Engine, ports: FakePorts) -> FlowView:
    view = engine.send(at_otp(engine).flow_id, ConfirmOtp(ports.sms.last_code()))
    assert view.state is State.SETTING_PASSWORD, view.errors
    return view

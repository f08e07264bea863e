"""Every store backend as a fixture, so one suite runs against memory, SQLite and PostgreSQL.

PostgreSQL comes from `$REGFLOW_TEST_POSTGRES_DSN`, which `scripts/test.sh` sets after
starting a throw-away server with `scripts/postgres.sh`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import ChooseMethod, ConfirmOtp, Engine, FlowView, Policy, State
from regflow.adapters.memory import InMemoryFlowStore, InMemoryUserStore
from regflow.adapters.postgres import (
    PostgresFlowStore,
    PostgresUserStore,
    create_schema,
    open_pool,
)
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.ports import FlowStore, RateLimiter, UserStore
from regflow.testing import FakePorts, form_for

if TYPE_CHECKING:
    from pathlib import Path

    from psycopg_pool import ConnectionPool

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


def _memory() -> Backend:
    users, flows = InMemoryUserStore(), InMemoryFlowStore()
    return Backend("memory", lambda: (users, flows))


def _sqlite(folder: Path) -> Backend:
    path = folder / "regflow.sqlite3"
    return Backend("sqlite", lambda: (SqliteUserStore(path), SqliteFlowStore(path)))


def _postgres(request: pytest.FixtureRequest) -> Backend:
    pool: ConnectionPool = request.getfixturevalue("postgres_pool")
    with pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_accounts")
    return Backend("postgres", lambda: (PostgresUserStore(pool), PostgresFlowStore(pool)))


def _backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name = request.param
    if name == "memory":
        return _memory()
    if name == "sqlite":
        return _sqlite(tmp_path)
    return _postgres(request)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Every backend: what the contract suite runs against."""
    return _backend(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The backends that many processes share and that outlive a process."""
    return _backend(request, tmp_path)


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


def engine_on(
    ports: FakePorts,
    users: UserStore,
    flows: FlowStore,
    policy: Policy | None = None,
    limiter: RateLimiter | None = None,
) -> Engine:
    """An engine on the fakes of `ports` but the given stores (and limiter, if given)."""
    return Engine(
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=users,
        flows=flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        policy=policy,
        limiter=limiter,
    )


def at_otp(engine: Engine) -> FlowView:
    view = engine.send(engine.start().flow_id, ChooseMethod("citizen", "bhxh"))
    view = engine.send(view.flow_id, form_for())
    assert view.state is State.OTP_PENDING, view.errors
    return view


def at_password(engine: Engine, ports: FakePorts) -> FlowView:
    view = engine.send(at_otp(engine).flow_id, ConfirmOtp(ports.sms.last_code()))
    assert view.state is State.SETTING_PASSWORD, view.errors
    return view

"""The phone change's engine on each store technology, with one citizen's account in it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs
import pytest

from phone_change import (
    PHONE_CHANGE,
    AccountPhones,
    InMemoryAccountPhones,
    PostgresAccountPhones,
    SqliteAccountPhones,
)
from regflow import Account, Engine
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteUserStore
from regflow.testing import CITIZEN, FakeClock, FakePorts, FastHasher, SmsInbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from regflow.ports import FlowStore, UserStore

PASSWORD = "Mật-khẩu-1A"
#: The citizen's login: the CCCD number of regflow's test citizen.
LOGIN = CITIZEN.id_number
#: A mobile number other than the account's, as a citizen types it.
NEW_PHONE = "0987 654 321"
NEW_PHONE_E164 = "+84987654321"


@attrs.frozen
class Portal:
    """One engine running the phone change, and the fakes a test reads."""

    engine: Engine
    sms: SmsInbox
    clock: FakeClock
    phones: AccountPhones
    account: Account


def seed(users: UserStore, hasher: FastHasher, clock: FakeClock) -> Account:
    account = Account.for_citizen(
        CITIZEN, account_id="account-1", email=None, created_at=clock.now(), flow_id="seed"
    )
    users.add(account, hasher.hash(PASSWORD))
    return account


@pytest.fixture
def portal() -> Portal:
    """On regflow's fakes (`regflow.testing`) and the in-memory phones."""
    ports, phones = FakePorts.seeded(), InMemoryAccountPhones()
    account = seed(ports.users, ports.hasher, ports.clock)
    engine = ports.engine(PHONE_CHANGE, ports={"phones": phones})
    return Portal(engine, ports.sms, ports.clock, phones, account)


def _engine(users: UserStore, flows: FlowStore, phones: AccountPhones) -> Portal:
    sms, clock, hasher = SmsInbox(), FakeClock(), FastHasher()
    engine = Engine(
        PHONE_CHANGE,
        flows=flows,
        users=users,
        hasher=hasher,
        sms=sms,
        clock=clock,
        otp_secret=b"phone-change-tutorial-secret-0123456789",
        ports={"phones": phones},
    )
    return Portal(engine, sms, clock, phones, seed(users, hasher, clock))


def _sqlite(folder: Path) -> Iterator[Portal]:
    """regflow's SQLite stores and the portal's table, in one file."""
    path = folder / "portal.sqlite3"
    database = SqliteDatabase(path)
    users, flows = SqliteUserStore(database), SqliteFlowStore(database)
    yield _engine(users, flows, SqliteAccountPhones(path))
    database.close()


def _postgres() -> Iterator[Portal]:
    """regflow's PostgreSQL stores and the portal's table, over one pool."""
    dsn = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true needs REGFLOW_TEST_POSTGRES_DSN")
        pytest.skip("no PostgreSQL: set REGFLOW_TEST_POSTGRES_DSN")
    from regflow.adapters.postgres import (  # noqa: PLC0415 - the optional extra
        PostgresFlowStore,
        PostgresUserStore,
        create_schema,
        open_pool,
    )

    pool = open_pool(dsn)
    create_schema(pool)
    with pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")
    phones = PostgresAccountPhones(pool)
    with pool.connection() as connection:
        connection.execute("TRUNCATE portal_account_phones")
    yield _engine(PostgresUserStore(pool), PostgresFlowStore(pool), phones)
    pool.close()


@pytest.fixture(params=["sqlite", "postgres"])
def stored_portal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Portal]:
    """The flow on a real store: every snapshot goes through regflow's JSON codec."""
    yield from _sqlite(tmp_path) if request.param == "sqlite" else _postgres()

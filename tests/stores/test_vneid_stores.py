"""The user store's VNeID contract on every backend (accounts without a password, the
VNeID verification), files and databases of before it, and the registration by VNeID end
to end on each store through the OpenID Connect adapter and a provider on loopback."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import httpx
import pytest

from regflow import (
    VNEID_REGISTRATION,
    Account,
    BeginVneid,
    ConfirmOtp,
    DuplicateAccountError,
    Engine,
    LinkByOtp,
    SkipPassword,
    VneidCallback,
    VneidState,
)
from regflow.adapters.oidc import OidcIdentityProvider
from regflow.adapters.sqlite import SCHEMA as SQLITE_SCHEMA
from regflow.adapters.sqlite import SqliteUserStore
from regflow.testing import CITIZEN, VNEID_CITIZEN, FakePorts
from regflow.testing.oidc import LoopbackProvider

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from psycopg_pool import ConnectionPool

    from regflow.ports import FlowStore, UserStore

    from .conftest import Backend

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
REDIRECT_URI = "http://127.0.0.1:5000/register/vneid/callback"


def vneid_account(**changes: Any) -> Account:
    account = Account.for_identity(
        VNEID_CITIZEN, account_id="vneid-1", created_at=NOW, flow_id="flow-v"
    )
    return attrs.evolve(account, **changes)


def bhxh_account(level: int = 1) -> Account:
    account = Account.for_citizen(
        CITIZEN, account_id="bhxh-1", email=None, created_at=NOW, flow_id="flow-b"
    )
    return attrs.evolve(account, verification_level=level)


class VneidUserStoreContract:
    """The user store's part of the VNeID registration, as a class a host's own `UserStore`
    adapter runs too (``class TestMine(VneidUserStoreContract)`` with its `backend`)."""

    def test_an_account_without_a_password_has_no_hash(self, backend: Backend) -> None:
        users, _ = backend.open()
        users.add(vneid_account(), None)

        assert users.password_hash("vneid-1") is None
        assert users.find_by_login(VNEID_CITIZEN.id_number) == vneid_account()

    def test_a_vneid_account_and_a_bhxh_account_of_one_citizen_cannot_both_exist(
        self, backend: Backend
    ) -> None:
        users, _ = backend.open()
        users.add(bhxh_account(), "hash")

        with pytest.raises(DuplicateAccountError):
            users.add(vneid_account(), None)

    def test_verifying_an_identity_raises_the_level_and_keeps_the_time(
        self, backend: Backend
    ) -> None:
        users, _ = backend.open()
        users.add(bhxh_account(level=1), "hash")
        later = NOW + timedelta(days=2)

        users.verify_identity("bhxh-1", 2, later)

        found = users.find_by_login(CITIZEN.id_number)
        assert found == attrs.evolve(bhxh_account(), verification_level=2, vneid_verified_at=later)
        assert users.password_hash("bhxh-1") == "hash"

    def test_verifying_an_identity_never_lowers_the_level(self, backend: Backend) -> None:
        users, _ = backend.open()
        users.add(bhxh_account(level=2), "hash")

        users.verify_identity("bhxh-1", 1, NOW)

        found = users.find_by_login(CITIZEN.id_number)
        assert found is not None
        assert found.verification_level == 2
        assert found.vneid_verified_at == NOW

    def test_verifying_an_unknown_account_raises_lookup_error(self, backend: Backend) -> None:
        users, _ = backend.open()

        with pytest.raises(LookupError):
            users.verify_identity("nobody", 2, NOW)


class TestVneidUserStore(VneidUserStoreContract):
    """The contract on every backend of tests/stores."""


# --- stores made before the VNeID column -------------------------------------------------------


def test_a_sqlite_file_of_before_the_vneid_column_opens_and_takes_vneid_accounts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    kept = [line for line in SQLITE_SCHEMA.splitlines() if "vneid_verified_at" not in line]
    old_schema = "\n".join(kept).replace("NOT NULL,  -- '' for", "NOT NULL  -- '' for")
    assert old_schema != SQLITE_SCHEMA
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(old_schema)

    users = SqliteUserStore(path)
    users.add(vneid_account(), None)
    SqliteUserStore(path)  # and opens again

    assert users.find_by_login(VNEID_CITIZEN.id_number) == vneid_account()


def test_a_postgres_database_of_before_the_vneid_column_gets_it(
    postgres_pool: ConnectionPool,
) -> None:
    from regflow.adapters.postgres import PostgresUserStore, create_schema  # noqa: PLC0415

    with postgres_pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")
        connection.execute("ALTER TABLE regflow_accounts DROP COLUMN vneid_verified_at")
    create_schema(postgres_pool)
    users = PostgresUserStore(postgres_pool)
    users.add(vneid_account(), None)

    assert users.find_by_login(VNEID_CITIZEN.id_number) == vneid_account()


# --- the flow end to end, on every store ---------------------------------------------------------


@pytest.fixture(scope="module")
def platform() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as running:
        yield running


def engine_on_store(
    platform: LoopbackProvider, users: UserStore, flows: FlowStore, ports: FakePorts
) -> Engine:
    platform.reset()
    identity = OidcIdentityProvider(platform.settings(redirect_uri=REDIRECT_URI))
    return Engine(
        VNEID_REGISTRATION,
        users=users,
        flows=flows,
        sms=ports.sms,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": identity},
    )


def signed_in(engine: Engine) -> str:
    flow_id = engine.start("vneid_registration").flow_id
    url = engine.send(flow_id, BeginVneid()).details.authorization_url
    answer = httpx.get(f"{url}&{urlencode({'decision': 'approve'})}")
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    engine.send(flow_id, VneidCallback(code=back["code"][0], state=back["state"][0]))
    return flow_id


def test_a_new_account_by_vneid_completes_on_every_store(
    backend: Backend, platform: LoopbackProvider
) -> None:
    users, flows = backend.open()
    engine = engine_on_store(platform, users, flows, FakePorts())
    flow_id = signed_in(engine)

    done = engine.send(flow_id, SkipPassword())

    assert done.state is VneidState.COMPLETED
    assert done.account is not None
    assert users.find_by_login(VNEID_CITIZEN.id_number) == done.account
    assert users.password_hash(done.account.account_id) is None
    assert engine.view(flow_id).account == done.account  # read back from the store


def test_an_existing_account_is_linked_by_otp_on_every_store(
    backend: Backend, platform: LoopbackProvider
) -> None:
    users, flows = backend.open()
    users.add(bhxh_account(level=1), "hash")
    ports = FakePorts()
    engine = engine_on_store(platform, users, flows, ports)
    flow_id = signed_in(engine)
    assert engine.view(flow_id).state is VneidState.LINKING

    engine.send(flow_id, LinkByOtp())
    done = engine.send(flow_id, ConfirmOtp(ports.sms.last_code(CITIZEN.phone)))

    assert done.state is VneidState.COMPLETED
    linked = users.find_by_login(CITIZEN.id_number)
    assert linked is not None
    assert (linked.verification_level, linked.vneid_verified_at) == (2, ports.clock.now())

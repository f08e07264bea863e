"""`DjangoUserStore` passes regflow's own `UserStore` contract (tests/stores), and its
races: on SQLite and PostgreSQL, through the ORM."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

import pytest
from django.db import connections
from tests.stores import test_races
from tests.stores.conftest import Backend
from tests.stores.test_contract import UserStoreContract
from tests.stores.test_vneid_stores import VneidUserStoreContract

from django_portal.models import PortalAccount
from django_portal.users import DjangoUserStore
from django_portal.wiring import flow_store
from regflow.adapters.demo import DEMO_PASSWORD_HASH, demo_accounts, seed_demo_accounts
from regflow.testing import FakePorts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from regflow.ports import UserStore


@pytest.fixture
def backend(database: str) -> Iterator[Backend]:
    """The ORM's accounts beside regflow's flow store on the same database."""
    users, (flows, close) = DjangoUserStore(database), flow_store(database)

    def password_hash(account_id: str) -> str:
        return PortalAccount.objects.using(database).get(account_id=account_id).password_hash or ""

    yield Backend(f"django-{database}", lambda: (users, flows), password_hash=password_hash)
    close()


class ClosingConnections:
    """A store whose every call on a thread other than the main one closes that thread's
    Django connections after it, as Django does at the end of a request: the racing threads
    are no requests, and would leave their connections open."""

    def __init__(self, users: UserStore) -> None:
        self._users = users

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._users, name)

        def call(*args: object, **kwargs: object) -> object:
            try:
                return method(*args, **kwargs)
            finally:
                if threading.current_thread() is not threading.main_thread():
                    connections.close_all()

        return call


@pytest.fixture
def shared_backend(backend: Backend) -> Backend:
    """`backend` for the races, whose threads close their connections."""
    users, flows = backend.open()
    closing = cast("UserStore", ClosingConnections(users))
    return Backend(backend.name, lambda: (closing, flows), password_hash=backend.password_hash)


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


class TestDjangoUserStore(UserStoreContract):
    """Every test of the contract, on `backend` above."""


class TestDjangoVneidUserStore(VneidUserStoreContract):
    """The VNeID part of the contract (accounts without a password, verification)."""


#: 50 registrations of one citizen racing to the last step make one account (50 threads,
#: each with its own Django connection).
test_racing_registrations_make_one_account = (
    test_races.test_fifty_racing_registrations_of_one_citizen_make_exactly_one_account
)


def test_the_demo_accounts_are_seeded_once_however_often_the_portal_starts(database: str) -> None:
    users = DjangoUserStore(database)

    seed_demo_accounts(users)
    seed_demo_accounts(users)

    [account] = demo_accounts()
    assert users.find_by_login(account.id_number) == account
    assert users.password_hash(account.account_id) == DEMO_PASSWORD_HASH
    assert PortalAccount.objects.using(database).count() == 1

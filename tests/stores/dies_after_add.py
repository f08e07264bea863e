"""A process that dies the moment its account is committed, before its flow is saved.

``python -m tests.stores.dies_after_add sqlite|postgres LOCATION PASSWORD`` runs one
registration to the password step on the stores at LOCATION (a file, a DSN), prints the
flow's id after `FLOW_ID`, sets PASSWORD, and ends with `os._exit` as soon as
`UserStore.add` has returned: the account is committed, the completing save of the flow
never happens. Nothing is cleaned up, nothing is flushed but what the store itself
committed, as after a SIGKILL.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Final

from regflow import SetPassword
from regflow.adapters.postgres import PostgresFlowStore, PostgresUserStore, open_pool
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.testing import FakePorts

from .conftest import at_password, engine_on

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from regflow import Account
    from regflow.ports import FlowStore, UserStore

#: The exit status that says "died where it was meant to".
DIED_AFTER_ADD: Final = 17
#: What the line with the flow's id starts with, among the log lines on stdout.
FLOW_ID: Final = "flow to retry: "


class DiesAfterAdd:
    """A `UserStore` whose process ends (`die`) right after an account is committed."""

    def __init__(self, users: UserStore, die: Callable[[Account], None]) -> None:
        self.users = users
        self.die = die

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        return self.users.find(id_number, bhxh_number, former_id_numbers)

    def add(self, account: Account, password_hash: str | None) -> None:
        self.users.add(account, password_hash)
        self.die(account)

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        self.users.replace_password_hash(account, password_hash)

    def find_by_login(self, login: str) -> Account | None:
        return self.users.find_by_login(login)

    def password_hash(self, account_id: str) -> str | None:
        return self.users.password_hash(account_id)

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        self.users.set_password_hash(account_id, password_hash)

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        self.users.verify_identity(account_id, level, verified_at)


def _exit(_: Account) -> None:
    os._exit(DIED_AFTER_ADD)


def _stores(backend: str, location: str) -> tuple[UserStore, FlowStore]:
    if backend == "sqlite":
        return SqliteUserStore(location), SqliteFlowStore(location)
    pool = open_pool(location, max_size=2)
    return PostgresUserStore(pool), PostgresFlowStore(pool)


def main(backend: str, location: str, password: str) -> None:
    users, flows = _stores(backend, location)
    ports = FakePorts.seeded()
    flow_id = at_password(engine_on(ports, users, flows), ports).flow_id
    print(f"{FLOW_ID}{flow_id}", flush=True)  # noqa: T201 - the parent reads it
    doomed = engine_on(ports, DiesAfterAdd(users, _exit), flows)
    doomed.send(flow_id, SetPassword(password, password))
    sys.exit("the process outlived its account's commit")


if __name__ == "__main__":
    main(*sys.argv[1:])

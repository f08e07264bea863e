"""The composition root: one regflow engine per process, on the database of the accounts.

`services()` builds it on first use from `settings.REGFLOW_PORTAL` (never at import or in
`AppConfig.ready`, which `manage.py migrate` runs before the tables exist); a change of that
setting (`override_settings` in the tests) closes it (`forget_services`, called by the app)
and the next request builds it anew.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
from django.conf import settings
from django.db import connections

import regflow
from django_portal.users import DjangoUserStore
from regflow import BHXH_REGISTRATION
from regflow.adapters.demo import demo_citizens, seed_demo_accounts
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore
from regflow.adapters.system import SystemClock
from regflow.ports import Clock, FlowStore, UserStore

if TYPE_CHECKING:
    from django_portal.config import PortalSettings


@attrs.frozen
class Services:
    """The engine the views drive, the stores and clock behind it; `close` releases the
    flows' connections."""

    engine: regflow.Engine
    users: UserStore
    flows: FlowStore
    clock: Clock
    close: Callable[[], None]


def build_services(portal: PortalSettings) -> Services:
    """Wire regflow: the accounts in the ORM, the flows in regflow's store on that database."""
    users = DjangoUserStore(portal.database)
    flows, close = flow_store(portal.database)
    if portal.seed_demo_accounts:
        seed_demo_accounts(users)
    clock = portal.clock or SystemClock()
    engine = regflow.bootstrap(
        BHXH_REGISTRATION,
        bhxh=portal.bhxh or InMemoryBhxhRegistry(demo_citizens()),
        sms=portal.sms,
        otp_secret=portal.otp_secret,
        users=users,
        flows=flows,
        hasher=portal.hasher,
        clock=clock,
    )
    return Services(engine, users, flows, clock, close)


def flow_store(alias: str) -> tuple[FlowStore, Callable[[], None]]:
    """regflow's flow store on the database of `settings.DATABASES[alias]`, and its closer.

    regflow creates its own tables there (idempotently, as on every start); its account
    tables stay empty, the accounts being the ORM's.
    """
    connection = connections[alias]
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        database = SqliteDatabase(params["NAME"])
        return SqliteFlowStore(database), database.close
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415 - the postgres extra

    from regflow.adapters import postgres  # noqa: PLC0415

    keys = {"dbname": "NAME", "user": "USER", "password": "PASSWORD", "host": "HOST"}
    given = {key: params[name] for key, name in keys.items() if params.get(name)}
    pool = postgres.open_pool(make_conninfo(**given, port=params.get("PORT") or None))
    postgres.create_schema(pool)
    return postgres.PostgresFlowStore(pool), pool.close


_built: dict[str, Services] = {}
_lock = threading.Lock()


def services() -> Services:
    """This process's services, built on the first request."""
    with _lock:
        if "services" not in _built:
            _built["services"] = build_services(settings.REGFLOW_PORTAL)
        return _built["services"]


def forget_services() -> None:
    """Close this process's services; the next request builds them from the settings."""
    with _lock:
        old = _built.pop("services", None)
    if old is not None:
        old.close()

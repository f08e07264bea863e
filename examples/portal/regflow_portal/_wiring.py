"""The example's composition root: settings in, a wired regflow engine out.

`build_services` is the one function that decides which adapter serves which port; a portal
team copying this example replaces the demo BHXH registry and the SMS gateway here.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import attrs

import regflow
from regflow import DuplicateAccountError
from regflow.adapters.console import ConsoleSmsGateway
from regflow.adapters.demo import DEMO_PASSWORD_HASH, demo_accounts, demo_citizens
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryFlowStore, InMemoryUserStore
from regflow.adapters.system import SystemClock
from regflow.ports import Clock, PasswordHasher, UserStore
from regflow_portal._dev import AdjustableClock, DevSmsInbox

if TYPE_CHECKING:
    from regflow.ports import FlowStore, SmsGateway


@attrs.frozen(kw_only=True)
class Settings:
    """How one portal process runs.

    `dev_mode` exposes the development SMS inbox and clock pages; `secure_cookies` must stay
    on wherever the portal is served over HTTPS (everywhere but a developer's machine).
    `database` is the SQLite file of accounts and flows (None: in memory, gone on restart).
    """

    secret_key: bytes = attrs.field(repr=False)
    otp_secret: bytes = attrs.field(repr=False)
    dev_mode: bool = False
    secure_cookies: bool = True
    database: str | None = None
    policy: regflow.Policy | None = None
    hasher: PasswordHasher | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Read `REGFLOW_PORTAL_*`; in development, missing secrets are made up per process."""
        dev_mode = os.environ.get("REGFLOW_PORTAL_DEV", "0") == "1"
        return cls(
            secret_key=_secret("REGFLOW_PORTAL_SECRET_KEY", dev_mode=dev_mode),
            otp_secret=_secret("REGFLOW_PORTAL_OTP_SECRET", dev_mode=dev_mode),
            dev_mode=dev_mode,
            secure_cookies=not dev_mode,
            database=os.environ.get("REGFLOW_PORTAL_DATABASE") or None,
        )


def _secret(name: str, *, dev_mode: bool) -> bytes:
    value = os.environ.get(name)
    if value:
        return value.encode()
    if not dev_mode:
        raise RuntimeError(f"{name} must be set outside development mode")
    return secrets.token_bytes(32)


@attrs.frozen(kw_only=True)
class Services:
    """What the web layer uses: the engine, and in development mode the inbox and clock."""

    engine: regflow.Engine
    clock: Clock
    users: UserStore
    inbox: DevSmsInbox | None = None
    dev_clock: AdjustableClock | None = None


def build_services(settings: Settings) -> Services:
    """Wire regflow for the portal: demo BHXH data, stores, SMS and clock by mode."""
    users, flows = _stores(settings.database)
    _seed_demo_accounts(users)
    dev_clock = AdjustableClock() if settings.dev_mode else None
    clock: Clock = dev_clock or SystemClock()
    inbox = DevSmsInbox(dev_clock) if dev_clock else None
    sms: SmsGateway = inbox or ConsoleSmsGateway()
    engine = regflow.bootstrap(
        bhxh=InMemoryBhxhRegistry(demo_citizens()),
        sms=sms,
        otp_secret=settings.otp_secret,
        users=users,
        flows=flows,
        hasher=settings.hasher,
        clock=clock,
        policy=settings.policy,
    )
    return Services(engine=engine, clock=clock, users=users, inbox=inbox, dev_clock=dev_clock)


def _stores(database: str | None) -> tuple[UserStore, FlowStore]:
    """Where accounts and flows live: a SQLite file or a ``postgresql://`` URL, memory if unset."""
    if database is None:
        return InMemoryUserStore(), InMemoryFlowStore()
    stores = regflow.open_stores(database)
    return stores.users, stores.flows


def _seed_demo_accounts(users: UserStore) -> None:
    """Give the demo its existing accounts, so "account exists" can be tried; idempotent."""
    for account in demo_accounts():
        try:
            users.add(account, DEMO_PASSWORD_HASH)
        except DuplicateAccountError:
            continue

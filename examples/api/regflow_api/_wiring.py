"""The composition root: settings in, an `AsyncEngine` on its adapters out.

`open_engine` is the one place that picks the adapters: SQLite (its calls in a thread of its
own) or PostgreSQL on psycopg's async pool; the demo BHXH citizens and an SMS inbox in
development (the OTP texts printed on the console), regflow's async HTTP adapters in
production.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final, cast

from regflow import (
    SHIPPED_FLOWS,
    SHIPPED_OLDER_VERSIONS,
    VNEID_REGISTRATION,
    AsyncEngine,
)
from regflow.adapters.argon2 import Argon2Hasher
from regflow.adapters.console import ConsoleSmsGateway
from regflow.adapters.demo import demo_citizens
from regflow.adapters.http import AsyncHttpBhxhRegistry, AsyncHttpSmsGateway, HttpSettings
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryRateLimiter
from regflow.adapters.sqlite import SqliteDatabase, SqliteFlowStore, SqliteUserStore
from regflow.adapters.system import SystemClock
from regflow.adapters.threads import InThreads
from regflow_api._settings import UnsafeSettingsError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from regflow.ports import (
        AsyncBhxhRegistry,
        AsyncFlowStore,
        AsyncPasswordHasher,
        AsyncRateLimiter,
        AsyncSmsGateway,
        AsyncUserStore,
        BhxhRegistry,
        RateLimiter,
        SmsGateway,
    )
    from regflow_api._settings import ApiSettings


#: What the API runs: the flows regflow ships but the registration by VNeID, which needs an
#: identity platform (examples/portal wires one), and the older versions flows may be on.
FLOWS: Final = (
    *(spec for spec in SHIPPED_FLOWS if spec is not VNEID_REGISTRATION),
    *SHIPPED_OLDER_VERSIONS,
)


@contextlib.asynccontextmanager
async def open_engine(
    settings: ApiSettings,
    *,
    bhxh: AsyncBhxhRegistry | BhxhRegistry | None = None,
    sms: AsyncSmsGateway | SmsGateway | None = None,
) -> AsyncIterator[AsyncEngine]:
    """The engine the settings describe, for as long as the app runs; closed after. `bhxh`
    and `sms` replace the settings' services (a test's fakes, a host's own clients)."""
    async with contextlib.AsyncExitStack() as stack:
        users, flows = await _stores(settings, stack)
        if bhxh is None or sms is None:  # given both, production needs neither URL
            registry, gateway = await _services(settings, stack)
            bhxh, sms = bhxh or registry, sms or gateway
        clock = SystemClock()
        hasher = InThreads(Argon2Hasher(), threads=2)
        stack.callback(hasher.close)
        yield AsyncEngine(
            *FLOWS,
            flows=flows,
            users=users,
            bhxh=bhxh,
            sms=sms,
            hasher=cast("AsyncPasswordHasher", hasher),
            clock=clock,
            limiter=_limiter(settings, clock, stack),
            otp_secret=settings.secret(),
        )


def _limiter(
    settings: ApiSettings, clock: SystemClock, stack: contextlib.AsyncExitStack
) -> AsyncRateLimiter | RateLimiter:
    """The limits counted in the settings' Redis, which every worker shares, else in this
    process's memory."""
    if not settings.redis_url:
        return InMemoryRateLimiter(clock)
    from regflow.adapters.limits import AsyncLimitsRateLimiter  # noqa: PLC0415 - an extra

    limiter = AsyncLimitsRateLimiter(f"async+{settings.redis_url}")
    stack.push_async_callback(limiter.aclose)
    return limiter


async def _stores(
    settings: ApiSettings, stack: contextlib.AsyncExitStack
) -> tuple[AsyncUserStore, AsyncFlowStore]:
    if settings.postgres:
        from regflow.adapters import postgres, postgres_async  # noqa: PLC0415 - an extra

        with contextlib.closing(postgres.open_pool(settings.database, max_size=1)) as pool:
            postgres.create_schema(pool)
        async_pool = await postgres_async.open_async_pool(settings.database)
        stack.push_async_callback(async_pool.close)
        return (
            postgres_async.AsyncPostgresUserStore(async_pool),
            postgres_async.AsyncPostgresFlowStore(async_pool),
        )
    database = SqliteDatabase(settings.database)
    users, flows = InThreads(SqliteUserStore(database)), InThreads(SqliteFlowStore(database))
    stack.callback(database.close)
    stack.callback(flows.close)
    stack.callback(users.close)
    # InThreads makes each method of the store a coroutine: the async protocol, unseen by mypy.
    return cast("AsyncUserStore", users), cast("AsyncFlowStore", flows)


async def _services(
    settings: ApiSettings, stack: contextlib.AsyncExitStack
) -> tuple[AsyncBhxhRegistry | BhxhRegistry, AsyncSmsGateway | SmsGateway]:
    if settings.dev:
        return InMemoryBhxhRegistry(demo_citizens()), ConsoleSmsGateway()
    if not (settings.bhxh_url and settings.sms_url):
        raise UnsafeSettingsError("production needs REGFLOW_API_BHXH_URL and REGFLOW_API_SMS_URL")
    bhxh = AsyncHttpBhxhRegistry(HttpSettings(base_url=settings.bhxh_url))
    sms = AsyncHttpSmsGateway(HttpSettings(base_url=settings.sms_url))
    stack.push_async_callback(bhxh.aclose)
    stack.push_async_callback(sms.aclose)
    return bhxh, sms

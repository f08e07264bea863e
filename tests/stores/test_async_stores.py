"""A registration on AsyncEngine end to end on the async PostgreSQL stores, in one loop.

The contract and race suites run against these stores behind `BlockingPort` (conftest);
this is the host's own shape: the pool opened in the loop that awaits the engine.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from regflow import BHXH_REGISTRATION, AsyncEngine, ChooseMethod, ConfirmOtp, SetPassword, State
from regflow.adapters.postgres_async import (
    AsyncPostgresFlowStore,
    AsyncPostgresUserStore,
    open_async_pool,
)
from regflow.testing import CITIZEN, FakePorts, as_async, form_for
from tests.stores.conftest import NO_POSTGRES, POSTGRES_DSN, STRONG_PASSWORD

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


def test_a_registration_completes_on_the_async_postgres_stores(
    postgres_pool: ConnectionPool,
) -> None:
    assert POSTGRES_DSN is not None, NO_POSTGRES
    with postgres_pool.connection() as connection:
        connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")
    ports = FakePorts.seeded()

    async def register() -> tuple[object, int | None]:
        pool = await open_async_pool(POSTGRES_DSN)
        try:
            users = AsyncPostgresUserStore(pool)
            engine = AsyncEngine(
                BHXH_REGISTRATION,
                flows=AsyncPostgresFlowStore(pool),
                users=users,
                bhxh=as_async(ports.bhxh),
                sms=as_async(ports.sms),
                hasher=ports.hasher,
                clock=ports.clock,
                otp_secret=ports.otp_secret,
            )
            flow_id = (await engine.start("bhxh_registration")).flow_id
            await engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
            await engine.send(flow_id, form_for())
            await engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
            view = await engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
            account = await users.find(CITIZEN.id_number, CITIZEN.bhxh_number)
            return view.state, None if account is None else account.verification_level
        finally:
            await pool.close()

    assert asyncio.run(register()) == (State.COMPLETED, 2)

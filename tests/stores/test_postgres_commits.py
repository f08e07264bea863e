"""What the PostgreSQL flow stores send the server for each save, read from libpq's trace:
with `synchronous_commit=False` a save of a flow in flight carries ``SET LOCAL
synchronous_commit TO off`` in the same query (one round trip); the save that finishes a
flow, and every save by default, is the statement alone."""

from __future__ import annotations

import asyncio
import tempfile
from typing import TYPE_CHECKING, Any

import pytest
from psycopg.pq import Trace
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from regflow import ChooseMethod, ConfirmOtp, SetPassword, State
from regflow.adapters.memory import InMemoryFlowStore
from regflow.adapters.postgres import PostgresFlowStore, pool_options
from regflow.adapters.postgres_async import AsyncPostgresFlowStore
from regflow.testing import FakePorts, form_for

from .conftest import POSTGRES_DSN

if TYPE_CHECKING:
    from typing import IO

    import psycopg

    from regflow.declare import FlowSnapshot

PASSWORD = "Mật-khẩu-2026"
NOT_WAITING = "SET LOCAL synchronous_commit TO off"


class Recording(InMemoryFlowStore):
    """The in-memory store, keeping every snapshot it was asked to save, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[FlowSnapshot] = []

    def save(self, snapshot: FlowSnapshot) -> None:
        super().save(snapshot)
        self.saved.append(snapshot)


def registration_saves() -> list[FlowSnapshot]:
    """A whole registration's saves: four of a flow in flight, then the one finishing it."""
    ports = FakePorts.seeded()
    ports.flows = recording = Recording()
    engine = ports.engine()
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for())
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    assert engine.send(flow_id, SetPassword(PASSWORD, PASSWORD)).state is State.COMPLETED
    return recording.saved


def _tracing(file: IO[str]) -> Any:
    def traced(connection: psycopg.Connection[Any]) -> None:
        connection.pgconn.trace(file.fileno())
        connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

    return traced


def sent(file: IO[str]) -> list[str]:
    """The queries and statements the trace shows sent, in order (Query or Parse)."""
    file.seek(0)
    lines = [line.split("\t") for line in file.read().splitlines()]
    return [f[3].strip() for f in lines if f[0] == "F" and f[2] in {"Query", "Parse"}]


def saved_by_sync_store(snapshots: list[FlowSnapshot], *, synchronous_commit: bool) -> list[str]:
    assert POSTGRES_DSN is not None
    with tempfile.TemporaryFile("w+") as file:
        options = {**pool_options(1, 1), "configure": _tracing(file)}
        with ConnectionPool(POSTGRES_DSN, open=True, **options) as pool:
            store = PostgresFlowStore(pool, synchronous_commit=synchronous_commit)
            for snapshot in snapshots:
                store.save(snapshot)
            last = store.load(snapshots[-1].flow_id)
        assert last is not None
        assert last.version == snapshots[-1].version
        return sent(file)


def saved_by_async_store(snapshots: list[FlowSnapshot], *, synchronous_commit: bool) -> list[str]:
    assert POSTGRES_DSN is not None

    async def save_all(file: IO[str]) -> FlowSnapshot | None:
        traced = _tracing(file)

        async def configure(connection: psycopg.AsyncConnection[Any]) -> None:
            traced(connection)

        options = {**pool_options(1, 1), "configure": configure}
        async with AsyncConnectionPool(POSTGRES_DSN, open=False, **options) as pool:
            store = AsyncPostgresFlowStore(pool, synchronous_commit=synchronous_commit)
            for snapshot in snapshots:
                await store.save(snapshot)
            return await store.load(snapshots[-1].flow_id)

    with tempfile.TemporaryFile("w+") as file:
        last = asyncio.run(save_all(file))
        assert last is not None
        assert last.version == snapshots[-1].version
        return sent(file)


SAVERS = [saved_by_sync_store, saved_by_async_store]


@pytest.mark.usefixtures("postgres_pool")  # skips without PostgreSQL, makes the tables
@pytest.mark.parametrize("saver", SAVERS, ids=["sync", "async"])
def test_commit_later_sends_the_setting_with_each_save_in_flight_and_none_with_the_last(
    saver: Any,
) -> None:
    snapshots = registration_saves()
    assert [s.finished for s in snapshots] == [False] * 4 + [True]
    statements = saver(snapshots, synchronous_commit=False)
    saves = [s for s in statements if "regflow_flows" in s and "SELECT" not in s]
    assert [NOT_WAITING in s for s in saves] == [True] * 4 + [False]
    assert all(s.startswith(f'"{NOT_WAITING}; ') for s in saves[:4])  # one query each


@pytest.mark.usefixtures("postgres_pool")
@pytest.mark.parametrize("saver", SAVERS, ids=["sync", "async"])
def test_by_default_every_save_waits_for_its_commit(saver: Any) -> None:
    statements = saver(registration_saves(), synchronous_commit=True)
    saves = [s for s in statements if "regflow_flows" in s and "SELECT" not in s]
    assert len(saves) == 5
    assert not any(NOT_WAITING in s for s in statements)

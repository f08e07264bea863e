"""The asyncio driver: the same flows awaited, requests in flight on one loop, ports failing.

The behaviour tests of the sync engine run on `AsyncEngine` too (``--engine-driver=async``,
scripts/test.sh); these are the driver's own.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from regflow import (
    BHXH_REGISTRATION,
    AsyncEngine,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    SetPassword,
    State,
    _bridge,
)
from regflow._bridge import AsyncPortError, drive, settle
from regflow.adapters.sqlite import SqliteFlowStore
from regflow.adapters.threads import InThreads
from regflow.testing import CITIZEN, AsyncPort, FakePorts, as_async, form_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, MutableMapping
    from pathlib import Path

    from regflow._domain import BhxhRecord
    from regflow._view import FlowView
    from regflow.declare import FlowSnapshot

STRONG = "Mật-khẩu-1A"


async def _register(engine: AsyncEngine, ports: FakePorts) -> FlowView:
    flow_id = (await engine.start("bhxh_registration")).flow_id
    await engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    view = await engine.send(flow_id, form_for())
    assert view.state is State.OTP_PENDING, view.errors
    view = await engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    return await engine.send(flow_id, SetPassword(STRONG, STRONG))


def test_a_registration_runs_to_level_2_awaited() -> None:
    ports = FakePorts.seeded()
    view = asyncio.run(_register(ports.async_engine(), ports))
    assert view.state is State.COMPLETED, view.errors
    account = ports.users.find(CITIZEN.id_number, CITIZEN.bhxh_number)
    assert account is not None
    assert account.verification_level == 2


class _SlowRegistry:
    """An async BHXH that answers after `delay` and counts the look-ups in flight."""

    def __init__(self, ports: FakePorts, delay: float) -> None:
        self._registry, self._delay = ports.bhxh, delay
        self.in_flight = self.most_in_flight = 0
        self.asked = asyncio.Event()

    async def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        self.asked.set()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self._delay)
            return self._registry.lookup(bhxh_number)
        finally:
            self.in_flight -= 1


def test_requests_waiting_on_a_port_hold_no_thread_and_wait_together() -> None:
    """500 flows wait on BHXH at once, on one loop and one thread."""
    ports = FakePorts.seeded()
    registry = _SlowRegistry(ports, delay=0.05)
    engine = AsyncEngine(BHXH_REGISTRATION, **{**_wiring(ports), "bhxh": registry})

    async def submit() -> FlowView:
        flow_id = (await engine.start("bhxh_registration")).flow_id
        await engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
        return await engine.send(flow_id, form_for())

    async def crowd() -> list[FlowView]:
        return await asyncio.gather(*(submit() for _ in range(500)))

    views = asyncio.run(crowd())
    assert registry.most_in_flight == 500
    assert {view.state for view in views} == {State.OTP_PENDING}


def _wiring(ports: FakePorts) -> dict[str, Any]:
    return {
        "flows": as_async(ports.flows),
        "clock": ports.clock,
        "otp_secret": ports.otp_secret,
        "sms": as_async(ports.sms),
        "users": as_async(ports.users),
        "hasher": as_async(ports.hasher),
        "bhxh": as_async(ports.bhxh),
    }


class _DownRegistry:
    async def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        raise ConnectionError(bhxh_number)


def test_an_async_port_that_fails_is_an_outage_and_the_flow_resumes() -> None:
    ports = FakePorts.seeded()
    down = AsyncEngine(BHXH_REGISTRATION, **{**_wiring(ports), "bhxh": _DownRegistry()})
    up = ports.async_engine()

    async def run() -> tuple[FlowView, FlowView]:
        flow_id = (await down.start("bhxh_registration")).flow_id
        await down.send(flow_id, ChooseMethod("citizen", "bhxh"))
        failed = await down.send(flow_id, form_for())
        return failed, await up.send(flow_id, form_for())

    failed, resumed = asyncio.run(run())
    assert [error.code for error in failed.errors] == ["bhxh.unavailable"]
    assert failed.state is State.FILLING_FORM
    assert resumed.state is State.OTP_PENDING, resumed.errors


def test_a_cancelled_request_leaves_the_flow_where_it_was() -> None:
    ports = FakePorts.seeded()
    registry = _SlowRegistry(ports, delay=10)
    slow = AsyncEngine(BHXH_REGISTRATION, **{**_wiring(ports), "bhxh": registry})

    async def run() -> FlowView:
        flow_id = (await slow.start("bhxh_registration")).flow_id
        await slow.send(flow_id, ChooseMethod("citizen", "bhxh"))
        request = asyncio.create_task(slow.send(flow_id, form_for()))
        await registry.asked.wait()
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        return await ports.async_engine().send(flow_id, form_for())

    view = asyncio.run(run())
    assert view.state is State.OTP_PENDING, view.errors
    assert len(ports.sms.sent) == 1


def test_a_sync_engine_refuses_an_async_port_when_wired() -> None:
    ports = FakePorts.seeded()
    with pytest.raises(ValueError, match="bhxh port is async"):
        Engine(*ports.engine().flows, **{**_wiring(ports), "flows": ports.flows})
    with pytest.raises(ValueError, match="'identity' is async"):
        Engine(
            *ports.engine().flows,
            flows=ports.flows,
            clock=ports.clock,
            otp_secret=ports.otp_secret,
            ports={"identity": as_async(ports.identity)},
        )


class _SneakyRegistry:
    """A sync-looking port whose look-up hands back a coroutine (wired past the check)."""

    def lookup(self, bhxh_number: str) -> object:
        return _DownRegistry().lookup(bhxh_number)


def test_an_awaitable_answer_under_the_sync_engine_is_that_ports_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ports = FakePorts.seeded()
    engine = Engine(BHXH_REGISTRATION, **{**ports._wiring(None, None), "bhxh": _SneakyRegistry()})
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    view = engine.send(flow_id, form_for())
    assert [error.code for error in view.errors] == ["bhxh.unavailable"]
    assert view.state is State.FILLING_FORM
    assert "error_type=AsyncPortError" in capsys.readouterr().out


def test_settle_outside_the_async_engine_refuses_an_awaitable() -> None:
    async def answer() -> int:
        return 1

    assert settle(1) == 1  # int is now known plain; a coroutine is still seen for what it is
    with pytest.raises(AsyncPortError):
        settle(answer())  # type: ignore[arg-type]  # what a wrongly typed port hands back


def test_settle_remembers_plain_answer_types_up_to_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hosts that make answer classes on the fly must not grow the cache without end."""
    monkeypatch.setattr(_bridge, "_PLAIN_TYPES", set())
    monkeypatch.setattr(_bridge, "_PLAIN_TYPES_KEPT", 3)
    made = [type(f"Answer{n}", (), {})() for n in range(5)]
    assert [settle(answer) for answer in made] == made
    assert {type(answer) for answer in made[:3]} == _bridge._PLAIN_TYPES


def test_a_hosts_bound_log_fields_reach_the_lines_of_an_awaited_request() -> None:
    """The request's greenlet shares the task's context: contextvars bound by the host
    (a request id) are in the engine's log lines."""
    ports = FakePorts.seeded()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, _keep])
    _LINES.clear()

    async def run() -> None:
        structlog.contextvars.bind_contextvars(request_id="r-1")
        await ports.async_engine().start("bhxh_registration")

    asyncio.run(run())
    assert {"event": "flow.started", "request_id": "r-1"}.items() <= _LINES[0].items()


_LINES: list[dict[str, object]] = []


def _keep(_: object, __: str, event: MutableMapping[str, Any]) -> str:
    _LINES.append(dict(event))
    raise structlog.DropEvent


def test_an_async_fake_keeps_the_fakes_state_and_yields() -> None:
    ports = FakePorts.seeded()
    users = as_async(ports.users)
    assert isinstance(users, AsyncPort)
    assert asyncio.iscoroutinefunction(users.find)
    assert users.accounts is ports.users.accounts
    assert as_async(None) is None


def test_a_sqlite_store_in_threads_never_blocks_the_loop(tmp_path: Path) -> None:
    """While a slow store call runs in the adapter's thread, the loop goes on ticking."""
    ports = FakePorts.seeded()
    flows = InThreads(_SlowStore(SqliteFlowStore(tmp_path / "regflow.sqlite3")))
    engine = AsyncEngine(BHXH_REGISTRATION, **{**_wiring(ports), "flows": flows})
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    async def run() -> FlowView:
        ticking = asyncio.create_task(ticker())
        view = await engine.start("bhxh_registration")
        ticking.cancel()
        return view

    view = asyncio.run(run())
    flows.close()
    assert view.ok, view.errors
    assert ticks >= 10  # the save took 50 ms; a blocked loop would not have ticked at all


class _SlowStore:
    """A store whose saves take 50 ms, blocking their thread (as a slow disk would)."""

    def __init__(self, store: SqliteFlowStore) -> None:
        self._store = store
        self.load, self.purge_expired = store.load, store.purge_expired

    def save(self, snapshot: FlowSnapshot) -> None:
        time.sleep(0.05)
        self._store.save(snapshot)


def test_a_sync_engine_refuses_an_adapter_in_threads(tmp_path: Path) -> None:
    ports = FakePorts.seeded()
    flows = InThreads(SqliteFlowStore(tmp_path / "regflow.sqlite3"))
    with pytest.raises(ValueError, match="flows port is async"):
        Engine(BHXH_REGISTRATION, **{**_wiring(ports), "flows": flows})
    flows.close()


# --- the greenlets that run the requests ------------------------------------------------------

_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="none")


def _seen_here() -> str:
    return _SEEN.get()


def test_a_requests_greenlet_serves_the_next_request_in_that_requests_context() -> None:
    """Making a greenlet costs several µs, a switch a tenth: they are kept, and each request
    still runs in its own task's context, not in the last one's."""

    async def in_a_task(value: str | None) -> str:
        if value is not None:
            _SEEN.set(value)
        return await drive(_seen_here)

    async def run() -> list[str]:
        return [
            await asyncio.create_task(in_a_task("first")),
            await asyncio.create_task(in_a_task(None)),
        ]

    assert asyncio.run(run()) == ["first", "none"]
    idle = list(_bridge._IDLE.workers)
    asyncio.run(drive(_seen_here))
    assert _bridge._IDLE.workers == idle  # the same greenlet, back among the idle


def test_a_request_that_raises_leaves_its_greenlet_for_the_next() -> None:
    def fails() -> None:
        raise LookupError("a rule's own bug")

    with pytest.raises(LookupError, match="a rule's own bug"):
        asyncio.run(drive(fails))
    assert asyncio.run(drive(_seen_here)) == "none"


def test_the_idle_greenlets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bridge, "_IDLE_KEPT", 2)
    monkeypatch.setattr(_bridge._IDLE, "workers", [])

    def waits() -> int:
        answer: int | Awaitable[int] = asyncio.sleep(0.01, result=1)  # as a port answers
        return settle(answer)

    async def crowd() -> list[int]:
        return list(await asyncio.gather(*(drive(waits) for _ in range(5))))

    assert asyncio.run(crowd()) == [1] * 5
    assert len(_bridge._IDLE.workers) == 2

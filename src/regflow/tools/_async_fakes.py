"""Async fakes: any sync port as an async one, and an async engine run from sync code.

`as_async(port)` is what tests of an asyncio host (and regflow's own tests of `AsyncEngine`)
give the engine instead of a fake: the same fake, each of its methods a coroutine that
yields to the event loop once before it answers, so every port call of a request really
suspends it, as a network call would. The fake keeps its state where a test reads it.

`BlockingEngine` runs an `AsyncEngine` on an event loop of its own, in a thread of its own,
behind the sync `Engine`'s methods: a sync test (or a sync caller of an async host) drives
the async engine as it would drive the sync one, from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from regflow.engine._engine import is_async

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from regflow._policy import Policy
    from regflow._view import FlowView
    from regflow.declare._spec import FlowSpec
    from regflow.engine import AsyncEngine

R = TypeVar("R")


class AsyncPort:
    """`port` with every public method a coroutine that yields to the loop once.

    Any other attribute (a fake's `sent` texts, its `accounts`) reads through to `port`.
    """

    def __init__(self, port: object) -> None:
        self._port = port
        for name in dir(port):
            method = None if name.startswith("_") else getattr(port, name)
            if callable(method) and not isinstance(method, type):
                setattr(self, name, _awaiting(port, name))

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the fake's own attribute
        return getattr(self._port, name)

    def __repr__(self) -> str:
        return f"as_async({self._port!r})"


def as_async(port: object) -> Any:  # noqa: ANN401 - the port's own type, its methods awaited
    """`port` as an async port (`AsyncPort`); None stays None (a port not given), and an
    async port (a real async adapter a test wires in) stays itself."""
    if port is None or is_async(port):
        return port
    return AsyncPort(port)


def _awaiting(port: object, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    """`port.name` as a coroutine function; the method is looked up at each call, so a test
    that replaces it on the fake (to fail a save) replaces it for the engine too."""

    @functools.wraps(getattr(port, name))
    async def awaited(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - the port's own
        await asyncio.sleep(0)
        return getattr(port, name)(*args, **kwargs)

    return awaited


class BlockingEngine:
    """An `AsyncEngine` behind the sync `Engine`'s methods, run on the event loop of one
    thread that all blocking engines of the process share (started on first use)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def MAX_ATTEMPTS(self) -> int:  # noqa: N802 - the sync engine's constant
        return self.engine.MAX_ATTEMPTS

    @property
    def policy(self) -> Policy:
        return self.engine.policy

    @property
    def flows(self) -> tuple[FlowSpec, ...]:
        return self.engine.flows

    def start(self, flow: str, *, client: str | None = None) -> FlowView:
        return run_blocking(self.engine.start(flow, client=client))

    def view(self, flow_id: str) -> FlowView:
        return run_blocking(self.engine.view(flow_id))

    def send(self, flow_id: str, event: object, *, client: str | None = None) -> FlowView:
        return run_blocking(self.engine.send(flow_id, event, client=client))

    def purge_expired(self) -> int:
        return run_blocking(self.engine.purge_expired())


class BlockingPort:
    """An async port behind its sync protocol: each coroutine method run to its end on the
    loop `BlockingEngine` shares, so the sync contract and race tests run against async
    adapters as they stand (from any number of threads)."""

    def __init__(self, port: object) -> None:
        self._port = port
        for name in dir(port):
            method = None if name.startswith("_") else getattr(port, name)
            if asyncio.iscoroutinefunction(method):
                setattr(self, name, _blocking_call(method))

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the port's own attribute
        return getattr(self._port, name)


def _blocking_call(method: Callable[..., Coroutine[Any, Any, R]]) -> Callable[..., R]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> R:  # noqa: ANN401 - the port's own arguments
        return run_blocking(method(*args, **kwargs))

    return call


@functools.cache
def _shared_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="regflow-blocking", daemon=True).start()
    return loop


def run_blocking(request: Coroutine[Any, Any, R]) -> R:
    """`request` run to its end on the shared loop, from any thread but the loop's own, in
    a copy of the caller's `contextvars` context (as a call of the sync engine would see it)."""
    context, answer = contextvars.copy_context(), concurrent.futures.Future[R]()

    def settle(task: asyncio.Task[R]) -> None:
        if task.cancelled():
            answer.cancel()
        elif (error := task.exception()) is not None:
            answer.set_exception(error)
        else:
            answer.set_result(task.result())

    def begin() -> None:
        _shared_loop().create_task(request, context=context).add_done_callback(settle)

    _shared_loop().call_soon_threadsafe(begin)
    return answer.result()

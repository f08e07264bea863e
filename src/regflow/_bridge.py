"""Sync code that awaits: how one engine serves both a sync and an asyncio host.

The engine, its rules and its kits are written once, as plain functions that call ports.
`AsyncEngine` runs a request of that same code in a greenlet (`drive`; a done request's
greenlet serves the next); when a port answers with an awaitable (an async adapter's
coroutine), `settle` hands it to the greenlet's parent, the asyncio task, which awaits it on
the event loop and switches back with the answer, or throws the port's exception in where the
port was called. Under the sync `Engine` a port answers with a value and `settle` passes it
through, so the sync host pays one set lookup per port call: the types already seen not to
be awaitable.

It is the bridge SQLAlchemy's asyncio extension runs its sync ORM on (`greenlet_spawn` and
`await_only`), and the alternatives are worse for a library of rules a host extends: an
engine of generators (a rule "yields" its port calls) would make every host rule and fact a
generator, and running the sync engine in a worker thread holds a thread per request in
flight, which is what asyncio hosts want to avoid (docs/architecture.md).
"""

from __future__ import annotations

import sys
import threading
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import attrs
from greenlet import getcurrent, greenlet

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

P = ParamSpec("P")
#: A request for a `_Driven` greenlet: the function, its arguments.
_Job = tuple["Callable[..., Any]", tuple[Any, ...], dict[str, Any]]
R = TypeVar("R")


class AsyncPortError(TypeError):
    """An async port was called outside `AsyncEngine` (a sync `Engine` was given one)."""


class _Driven(greenlet):
    """A greenlet that runs requests of `AsyncEngine`, one after another; its parent is the
    thread's greenlet the asyncio tasks run in (`driver`).

    Each request runs in the `contextvars` context of the task that drives it (as
    SQLAlchemy's greenlets do), so a host's bound log fields and the current trace span are
    the request's on both sides of an await. A greenlet is kept for the next request once
    its request is done (`_IDLE`): making one costs several microseconds, a switch a tenth.
    """

    def __init__(self, driver: greenlet) -> None:
        super().__init__(self._serve, driver)
        self.driver = driver

    def _serve(self, job: _Job) -> None:
        while True:
            run, args, kwargs = job
            try:
                done = _Done(run(*args, **kwargs), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the task that awaits it
                done = _Done(None, exc)
            job = self.driver.switch(done)


@attrs.frozen
class _Done:
    """A request's end: what it returned, or what it raised."""

    value: Any
    error: BaseException | None


class _Idle(threading.local):
    """Per thread, the greenlets whose requests are done, for the thread's next requests."""

    def __init__(self) -> None:
        self.workers: list[_Driven] = []


_IDLE = _Idle()
_IDLE_KEPT = 1024
"""A bound on the greenlets kept per thread: as many as requests were once in flight."""


_PLAIN_TYPES: set[type] = set()
"""Types of answers seen not to be awaitable; `isawaitable` costs an ABC check a call."""

_PLAIN_TYPES_KEPT = 1024
"""A bound on `_PLAIN_TYPES`, for hosts that make answer classes on the fly."""


def settle(answer: R | Awaitable[R]) -> R:
    """A port's answer: `answer` itself, or what it awaits to when it is awaitable."""
    kind = type(answer)
    if kind in _PLAIN_TYPES:
        return cast("R", answer)
    if not isawaitable(answer):
        if len(_PLAIN_TYPES) < _PLAIN_TYPES_KEPT:
            _PLAIN_TYPES.add(kind)
        return answer
    current = getcurrent()
    if not isinstance(current, _Driven):
        if hasattr(answer, "close"):
            answer.close()  # a coroutine never awaited warns when collected
        raise AsyncPortError("an async port needs regflow.AsyncEngine, not Engine")
    return cast("R", current.driver.switch(answer))


async def drive(run: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `run(*args, **kwargs)` to its end, awaiting each awaitable it settles."""
    driver, idle = getcurrent(), _IDLE.workers
    child = idle.pop() if idle and idle[-1].driver is driver else _Driven(driver)
    child.gr_context = driver.gr_context
    answer = child.switch((run, args, kwargs))
    while not isinstance(answer, _Done):
        try:
            value = await answer
        except BaseException:  # noqa: BLE001 - the port's own exception, thrown back in
            answer = child.throw(*sys.exc_info())
        else:
            answer = child.switch(value)
    child.gr_context = None  # an idle greenlet keeps no request's context alive
    if len(idle) < _IDLE_KEPT:
        idle.append(child)
    if answer.error is not None:
        raise answer.error
    return cast("R", answer.value)

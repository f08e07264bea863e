"""Sync code that awaits: how one engine serves both a sync and an asyncio host.

The engine, its rules and its kits are written once, as plain functions that call ports.
`AsyncEngine` runs a request of that same code in a greenlet of its own (`drive`); when a
port answers with an awaitable (an async adapter's coroutine), `settle` hands it to the
greenlet's parent, the asyncio task, which awaits it on the event loop and switches back
with the answer, or throws the port's exception in where the port was called. Under the
sync `Engine` a port answers with a value and `settle` passes it through, so the sync host
pays one set lookup per port call: the types already seen not to be awaitable.

It is the bridge SQLAlchemy's asyncio extension runs its sync ORM on (`greenlet_spawn` and
`await_only`), and the alternatives are worse for a library of rules a host extends: an
engine of generators (a rule "yields" its port calls) would make every host rule and fact a
generator, and running the sync engine in a worker thread holds a thread per request in
flight, which is what asyncio hosts want to avoid (docs/architecture.md).
"""

from __future__ import annotations

import sys
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from greenlet import getcurrent, greenlet

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

P = ParamSpec("P")
R = TypeVar("R")


class AsyncPortError(TypeError):
    """An async port was called outside `AsyncEngine` (a sync `Engine` was given one)."""


class _Driven(greenlet):
    """The greenlet one request of `AsyncEngine` runs in; its parent is the asyncio task.

    It shares the task's `contextvars` context (as SQLAlchemy's does), so a host's bound
    log fields and the current trace span are the request's on both sides of an await.
    """

    def __init__(self, run: Callable[..., Any], driver: greenlet) -> None:
        super().__init__(run, driver)
        self.driver = driver
        self.gr_context = driver.gr_context


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
    child = _Driven(run, getcurrent())
    answer = child.switch(*args, **kwargs)
    while not child.dead:
        try:
            value = await answer
        except BaseException:  # noqa: BLE001 - the port's own exception, thrown back in
            answer = child.throw(*sys.exc_info())
        else:
            answer = child.switch(value)
    return cast("R", answer)

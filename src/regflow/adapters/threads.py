"""Any sync adapter as an async one, its calls run off the event loop in threads of its own.

For `AsyncEngine`: a SQLite store, or the argon2id hasher, whose calls block (on the disk,
on the CPU), must not block the loop every other request of the process waits on::

    flows = InThreads(SqliteFlowStore(path))        # one thread: the file's writes in order
    hasher = InThreads(Argon2Hasher(), threads=2)   # argon2 releases the GIL: one per core

Each public method of the adapter becomes a coroutine that runs the call in the adapter's own
thread pool (`loop.run_in_executor`) and is awaited. One thread, the default, keeps an adapter
that holds a connection per thread (SQLite's) on one connection.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


class InThreads:
    """`adapter` with every public method a coroutine run in `threads` threads of its own."""

    def __init__(self, adapter: object, *, threads: int = 1) -> None:
        self._adapter = adapter
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=type(adapter).__name__)
        for name in dir(adapter):
            own = name.startswith("_") or name in vars(InThreads)
            method = None if own else getattr(adapter, name)
            if callable(method) and not isinstance(method, type):
                setattr(self, name, self._off_the_loop(method))

    def _off_the_loop(self, method: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
        @functools.wraps(method)
        async def run(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - the adapter's own
            call = functools.partial(method, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)

        return run

    def close(self) -> None:
        """Stop the threads (after the calls under way), then close the adapter if it can."""
        self._pool.shutdown(wait=True)
        close = getattr(self._adapter, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return f"InThreads({self._adapter!r})"

"""`RateLimiter` on the `limits` package: in memory, or in Redis for many app servers.

Needs the extra: ``pip install 'regflow[limits]'``. The moving-window strategy counts the
same sliding windows as `regflow.adapters.memory.InMemoryRateLimiter`; time is the
storage's own (wall clock), not the engine's `Clock`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import limits
import limits.aio.storage
import limits.aio.strategies
from limits.strategies import MovingWindowRateLimiter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from regflow._limits import RateLimit


class LimitsRateLimiter:
    """Counts in the `limits` storage at `storage_uri`.

    ``"memory://"`` for one process; ``"redis://host:6379/0"`` to share counts between app
    servers (any URI `limits.storage.storage_from_string` takes).
    """

    def __init__(self, storage_uri: str = "memory://") -> None:
        self._strategy = MovingWindowRateLimiter(limits.storage.storage_from_string(storage_uri))

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        """Count one request in every window, unless one of them is used up.

        Each window's check-and-count is one atomic call of the storage, so app servers racing
        on one key cannot pass a limit together; a request that loses such a race may still
        count in the other windows (stricter, never looser).
        """
        retry_at = self.peek(key, limits)
        if retry_at is not None:
            return retry_at  # refused before counting: it counts in no window
        refused = []
        for limit in limits:
            item = _item(limit)
            if not self._strategy.hit(item, key):
                refused.append(item)
        return self._retry_at(key, refused)

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        items = [_item(limit) for limit in limits]
        return self._retry_at(key, [item for item in items if not self._strategy.test(item, key)])

    def _retry_at(self, key: str, used_up: list[limits.RateLimitItem]) -> datetime | None:
        return _latest([self._strategy.get_window_stats(item, key).reset_time for item in used_up])


class AsyncLimitsRateLimiter:
    """`AsyncRateLimiter` on `limits`' async storage: `LimitsRateLimiter` for `AsyncEngine`.

    ``"async+memory://"`` for one process; ``"async+redis://host:6379/0"`` to share counts
    between app servers (on `redis.asyncio`, which ``regflow[limits]`` installs).
    """

    def __init__(self, storage_uri: str = "async+memory://") -> None:
        options = {"implementation": "redispy"} if storage_uri.startswith("async+redis") else {}
        self._storage = limits.storage.storage_from_string(storage_uri, **options)
        self._strategy = limits.aio.strategies.MovingWindowRateLimiter(self._storage)

    async def aclose(self) -> None:
        """Close the storage's connections, on shutdown, in the loop that used them.

        `limits` has no call for it: a Redis storage's `redis.asyncio` client is closed."""
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    async def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        """As `LimitsRateLimiter.hit`: refused before counting, else counted in every window."""
        retry_at = await self.peek(key, limits)
        if retry_at is not None:
            return retry_at
        refused = [item for item in map(_item, limits) if not await self._strategy.hit(item, key)]
        return await self._retry_at(key, refused)

    async def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        used_up = [item for item in map(_item, limits) if not await self._strategy.test(item, key)]
        return await self._retry_at(key, used_up)

    async def _retry_at(self, key: str, used_up: list[limits.RateLimitItem]) -> datetime | None:
        stats = [await self._strategy.get_window_stats(item, key) for item in used_up]
        return _latest([window.reset_time for window in stats])


def _latest(resets: list[float]) -> datetime | None:
    """When every used-up window has room again; None when none is used up."""
    return datetime.fromtimestamp(max(resets), UTC) if resets else None


def _item(limit: RateLimit) -> limits.RateLimitItem:
    return limits.RateLimitItemPerSecond(
        limit.amount, int(limit.per.total_seconds()), namespace="regflow"
    )

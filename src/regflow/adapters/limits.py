"""`RateLimiter` on the `limits` package: in memory, or in Redis for many app servers.

Needs the extra: ``pip install 'regflow[limits]'``. The moving-window strategy counts the
same sliding windows as `regflow.adapters.memory.InMemoryRateLimiter`; time is the
storage's own (wall clock), not the engine's `Clock`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import limits
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
        retry_at = self.peek(key, limits)
        if retry_at is None:
            for limit in limits:
                self._strategy.hit(_item(limit), key)
        return retry_at

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        used_up = [_item(limit) for limit in limits if not self._strategy.test(_item(limit), key)]
        resets = [self._strategy.get_window_stats(item, key).reset_time for item in used_up]
        return datetime.fromtimestamp(max(resets), UTC) if resets else None


def _item(limit: RateLimit) -> limits.RateLimitItem:
    return limits.RateLimitItemPerSecond(
        limit.amount, int(limit.per.total_seconds()), namespace="regflow"
    )

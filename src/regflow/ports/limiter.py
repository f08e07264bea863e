"""Where counts across flows live, so limits hold over every app server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from regflow._limits import RateLimit


class RateLimiter(Protocol):
    """Sliding-window counters by key; the engine chooses the keys (pseudonymous digests).

    Raise (anything) when the counters cannot be read: the engine then refuses the request
    with a retryable `storage.unavailable` rather than let it through uncounted.
    """

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        """Count one request under every limit and return None; if one is used up,
        count nothing and return when the request may be made again."""
        ...

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        """Return when a request may be made (None: now), counting nothing."""
        ...


class AsyncRateLimiter(Protocol):
    """`RateLimiter` for `AsyncEngine`: the same counters, awaited."""

    async def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None: ...

    async def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None: ...

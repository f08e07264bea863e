"""Where flows wait between two requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from regflow.declare import FlowSnapshot


class FlowStore(Protocol):
    """Snapshots by flow id, with optimistic concurrency.

    `save` writes `snapshot` only if the stored version is `snapshot.version - 1`
    (or, for version 1, if no flow has that id) and raises `StaleFlowError` otherwise,
    so two app servers stepping one flow at once can never overwrite each other.
    """

    def load(self, flow_id: str) -> FlowSnapshot | None:
        """Return the latest snapshot, or None for an unknown id."""
        ...

    def save(self, snapshot: FlowSnapshot) -> None:
        """Store `snapshot` if its version follows the stored one."""
        ...

    def purge_expired(self, now: datetime) -> int:
        """Delete flows whose `expires_at` is not after `now`; return how many."""
        ...


class AsyncFlowStore(Protocol):
    """`FlowStore` for `AsyncEngine`: the same methods and guarantees, awaited."""

    async def load(self, flow_id: str) -> FlowSnapshot | None: ...

    async def save(self, snapshot: FlowSnapshot) -> None: ...

    async def purge_expired(self, now: datetime) -> int: ...
